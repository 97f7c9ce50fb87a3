"""Database settings that must hold on every connection, and how requests use transactions."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction

from .extensions import db

_READING = "reads outside a transaction"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

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


@event.listens_for(Session, "do_orm_execute")
def _read_outside_a_transaction(state: ORMExecuteState) -> None:
    """PostgreSQL: a GET or HEAD request that starts by reading reads without BEGIN and ROLLBACK.

    psycopg sends BEGIN before a request's first statement, and the connection pool sends ROLLBACK
    when the request gives the connection back: two round trips to the server around a page that
    only reads, twice the catalogue's one query. Under PostgreSQL's READ COMMITTED each statement
    reads its own snapshot, inside a transaction or not, so these reads lose nothing in autocommit
    mode (Django's default). SQLite is left alone: pysqlite never begins a transaction for a read.

    A request whose first statement writes keeps its transaction. Writes after such reads (safe
    requests write only bookkeeping: the last-activity UPDATE, one statement) commit on their own;
    code that writes more must call :func:`begin_writes` first.
    """
    session = state.session
    if not state.is_select or session.in_transaction():
        return
    if not has_request_context() or request.method not in _SAFE_METHODS:
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_READING] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_reading(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_READING, None)


def begin_writes() -> None:
    """Make the writes that follow one transaction, even in a request that has been reading outside
    one (see :func:`_read_outside_a_transaction`): that reading ends here, and the next statement
    begins a transaction that the caller commits or rolls back as a whole."""
    if db.session.info.get(_READING):
        db.session.commit()
