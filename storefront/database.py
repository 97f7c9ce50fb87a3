"""The database layer: settings that must hold on every connection, how requests use transactions,
and the connection a bulk delete runs on."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import Connection
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm import UOWTransaction

from .extensions import db

_READING = "reads outside a transaction"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

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


@event.listens_for(Session, "do_orm_execute")
def _reads_outside_a_transaction(state: ORMExecuteState) -> None:
    """PostgreSQL: a GET or HEAD request reads without BEGIN and ROLLBACK, until it writes.

    psycopg sends BEGIN before a request's first statement, and the request's end sends ROLLBACK:
    two round trips to the server around a page that only reads. Under PostgreSQL's READ COMMITTED
    each statement reads its own snapshot, inside a transaction or not, so these reads lose nothing
    in autocommit mode (Django's default). SQLite is left alone: pysqlite never begins a
    transaction for a read.

    No caller has to remember anything when it writes: the first statement that is not a SELECT, or
    the first new row added to the session, ends the reading (a commit of nothing), and the write
    begins a transaction that the caller commits or rolls back as a whole.
    """
    session = state.session
    if session.info.get(_READING):
        if not state.is_select:
            session.commit()
        return
    if not state.is_select or session.in_transaction():
        return
    if not has_request_context() or request.method not in _SAFE_METHODS:
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_READING] = True


@event.listens_for(Session, "before_attach")
def _new_rows_begin_a_transaction(session: Session, _instance: object) -> None:
    """A new row added after reading outside a transaction ends the reading too, so its INSERT, and
    whatever the caller writes with it, is one transaction."""
    if session.info.get(_READING):
        session.commit()


@event.listens_for(Session, "before_flush")
def _no_unit_of_work_while_reading(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Changes to rows loaded while reading outside a transaction cannot end the reading themselves (a
    flush cannot commit): refused rather than written one statement at a time. Safe requests write
    with statements (last activity, an eager sign-in) or new rows."""
    if session.info.get(_READING):
        raise RuntimeError("A GET request may write only with statements (session.execute), not by flushing.")


@event.listens_for(Session, "after_transaction_end")
def _forget_reading(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_READING, None)


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
