"""The database layer: settings that must hold on every connection, and the connection a bulk
delete runs on."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

# Read the database file through a memory map of up to this many bytes instead of a read() call per
# page. Each gunicorn worker has its own connection, and every write by one worker empties the page
# cache of the others, so pages are read again all the time: mapped, that costs no system call.
# The mapped pages are the kernel's page cache, shared by every worker, not memory of each one.
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


@contextmanager
def bulk_delete_connection() -> Iterator[Connection]:
    """A connection of its own for a long run of short delete transactions (the guest cleanup).

    On SQLite the caller checkpoints the WAL itself, between transactions (see :func:`checkpoint`),
    rather than leave it to whichever COMMIT grows the WAL past 1000 pages: that commit would wait
    for the copy and its fsyncs. The connection also reads without the memory map: a run walks the
    whole table once, and mapped, every page it touched stays resident in the process and page
    faults lengthen its transactions. The settings are this connection's and are put back before it
    returns to the pool.
    """
    with db.engine.connect() as connection:
        saved: dict[str, int] = {}
        if connection.dialect.name == "sqlite":
            for name, value in (("wal_autocheckpoint", 0), ("mmap_size", 0)):
                saved[name] = int(connection.exec_driver_sql(f"PRAGMA {name}").scalar_one())
                connection.exec_driver_sql(f"PRAGMA {name}={value}")
            connection.commit()
        try:
            yield connection
            checkpoint(connection)  # leave the WAL small for the shop's own commits
        finally:
            if saved:
                connection.rollback()
                for name, value in saved.items():
                    connection.exec_driver_sql(f"PRAGMA {name}={value}")
                connection.commit()


def checkpoint(connection: Connection) -> None:
    """SQLite: copy what the WAL holds into the database file without waiting for readers or
    writers (PASSIVE), outside any write transaction. Nothing to do elsewhere."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
        connection.commit()


@contextmanager
def no_collector_pause() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from running inside a write transaction.

    A transaction that allocates enough triggers, now and then, a full collection of the process's
    heap (Flask and SQLAlchemy make hundreds of thousands of objects), which holds the write lock
    for tens of milliseconds. Postponed, it runs right after the COMMIT, when nobody waits for it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
