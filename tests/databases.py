"""The PostgreSQL databases the test suite may change, and nothing else.

The suite creates and drops tables, so it only works in a database that is empty or that it made
itself: a database it creates, or an empty one it adopts, gets a comment (``MARKER``) that says so.
A database holding tables without that comment belongs to someone else, and the run stops with a
message before anything is touched. Under pytest-xdist each worker gets a database of its own, named
after the configured one plus the worker id (``storefront_test_gw0``), created at the worker's start
and dropped at its end.

``python -m tests.databases URL`` is what scripts/test runs before its PostgreSQL pass: it creates
the database when missing, and exits with 2 and the reason when the database is someone else's, with
3 when no server answers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.engine import URL

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

MARKER = "storefront test suite: scratch database, its tables are dropped and made by the tests"
# Where CREATE and DROP DATABASE are sent from, as createdb and dropdb do (not template1: a session
# there makes every CREATE DATABASE on the server fail).
MAINTENANCE_DATABASE = "postgres"


class ForeignDatabase(Exception):
    """The database holds tables the suite did not make."""


def libpq(url: URL) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as a libpq connection string."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def server_connection(url: URL) -> Iterator[psycopg.Connection[TupleRow]]:
    """An autocommit connection to the server of ``url`` that is not inside ``url``'s database (which
    may not exist yet, and which DROP DATABASE needs to be outside of)."""
    import psycopg

    maintenance = libpq(url.set(database=MAINTENANCE_DATABASE))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as connection:
        yield connection


def _exists(connection: psycopg.Connection[TupleRow], name: str) -> bool:
    found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def claim(database_url: str) -> bool:
    """Make sure the suite may use ``database_url``: create it (marked) when missing, mark it when
    empty, accept it when marked; raise ``ForeignDatabase`` otherwise. Returns whether it was
    created."""
    import psycopg
    from psycopg import sql

    url = make_url(database_url)
    name = url.database
    if not name:
        raise ForeignDatabase(f"{url.render_as_string()} names no database.")
    comment = sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(MARKER))
    with server_connection(url) as server:
        if not _exists(server, name):
            try:
                server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another xdist worker or run made it a moment ago; checked below like any other
            else:
                server.execute(comment)
                return True
    with psycopg.connect(libpq(url), autocommit=True, connect_timeout=3) as connection:
        marked = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        if marked is not None and marked[0] == MARKER:
            return False
        tables = [
            str(row[0])
            for row in connection.execute(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
                # pg_catalog, pg_toast, other sessions' pg_temp_N: no user schema starts with pg_
                " AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
                " ORDER BY 1"
            )
        ]
        if tables:
            shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
            raise ForeignDatabase(
                f"The PostgreSQL database '{name}' at {url.render_as_string()} holds tables the test suite "
                f"did not make ({shown}); the tests drop and create tables, so they never run there. "
                "Name a database of the suite's own (it is created when missing), e.g. "
                f"{url.set(database='storefront_test').render_as_string()}, or drop this one if it is "
                "yours to lose."
            )
        connection.execute(comment)
        return False


def worker_database(database_url: str, worker: str) -> str:
    """The database of one xdist worker: the configured name plus the worker id."""
    url = make_url(database_url)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def drop(database_url: str) -> None:
    """Drop a database the suite claimed (closing any connection still open to it)."""
    from psycopg import sql

    url = make_url(database_url)
    with server_connection(url) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database or ""))
        )


def server_version(database_url: str) -> str:
    """``PostgreSQL 15.4`` for the server of ``database_url``, or why it cannot be reached."""
    import psycopg

    try:
        with server_connection(make_url(database_url)) as server:
            version = server.info.server_version  # e.g. 150004
    except psycopg.Error as error:
        return f"unreachable ({first_line(error)})"
    return f"PostgreSQL {version // 10000}.{version % 100}"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv: list[str]) -> int:
    import psycopg

    (database_url,) = argv
    shown = make_url(database_url).render_as_string()
    try:
        created = claim(database_url)
    except ForeignDatabase as error:
        print(error, file=sys.stderr)
        return 2
    except psycopg.Error as error:
        print(f"no PostgreSQL answers at {shown} ({first_line(error)})")
        return 3
    state = "created now" if created else "made or adopted by an earlier run"
    print(f"{shown} ({state})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
