"""Database settings that must hold on every connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Read the database file through a memory map of up to this many bytes instead of a read() call per
# page. Each gunicorn worker has its own connection, and every write by one worker empties the page
# cache of the others, so pages are read again all the time: mapped, that costs no system call.
# 128 MiB is Rails 8's default for SQLite in production. The mapped pages are the kernel's page cache,
# shared by every worker, not memory of each one.
MMAP_SIZE = 128 * 1024 * 1024


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys (cascades), WAL so readers never block the writer, wait for a
    lock instead of failing at once, and read through a memory map. Each is per connection, so it
    runs on every new one."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={MMAP_SIZE}")
    cursor.close()
