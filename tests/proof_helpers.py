"""Helpers of the proof tests (concurrency, fuzzing, security): databases of their own, snapshots of
what is stored, and shoppers made directly in the database.

PostgreSQL: the tests that need a server of their own create a database (``storefront_concurrency_...``)
on the server :func:`postgres_server` names and drop it afterwards, so they never clash with another
run that uses the configured database itself.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.engine import URL

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Product

from .databases import drop
from .databases import first_line
from .databases import server_connection

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/storefront_test"
CHECKOUT_KEY = re.compile(rb'name="checkout_key" type="hidden" value="([^"]+)"')


def postgres_server() -> tuple[URL | None, str]:
    """The PostgreSQL server on which the tests that make databases of their own run, or why not.

    STOREFRONT_TEST_DATABASE_URL when it names PostgreSQL, else STOREFRONT_TEST_POSTGRES_URL (the
    server of the PostgreSQL pass of scripts/test), else the local default.
    """
    configured = os.environ.get("STOREFRONT_TEST_DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        configured = os.environ.get("STOREFRONT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed"
    url = make_url(configured)
    try:
        # The server, not the named database, which these tests never use (it may not exist yet).
        with server_connection(url):
            return url, ""
    except psycopg.Error as error:
        return None, f"no PostgreSQL server answers at {url.render_as_string()} ({first_line(error)})"


def postgres_pass() -> bool:
    """Whether this run is the PostgreSQL pass (STOREFRONT_TEST_DATABASE_URL names PostgreSQL)."""
    return os.environ.get("STOREFRONT_TEST_DATABASE_URL", "").startswith("postgresql")


def server_database_url(
    backend: str, stack: ExitStack, tmp_path_factory: pytest.TempPathFactory, name: str
) -> str:
    """The database of a test that runs a real server: a SQLite file for ``sqlite...`` backends, else a
    PostgreSQL database of its own (skipped, with the reason, when no server answers), dropped when
    ``stack`` closes."""
    if backend == "postgresql":
        server, reason = postgres_server()
        if server is None:
            pytest.skip(reason)
        return stack.enter_context(postgres_database(server, f"storefront_{name}"))
    return f"sqlite:///{tmp_path_factory.mktemp(name) / 'shop.sqlite'}"


@contextmanager
def postgres_database(server: URL, prefix: str) -> Iterator[str]:
    """Create a database of its own on ``server`` for the block; yields its SQLAlchemy URL."""
    from psycopg import sql

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with server_connection(server) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        drop(url)


# ---------------------------------------------------------------------------------------------------
# What is stored


def row_counts() -> dict[str, int]:
    """Rows per table, for every table of the models (inside an app context)."""
    counts = {
        name: int(db.session.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in sorted(db.metadata.tables.items())
    }
    db.session.commit()
    return counts


def snapshot(exclude: frozenset[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, without the columns named ``table.column`` in ``exclude``
    (inside an app context)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for name, table in sorted(db.metadata.tables.items()):
        columns = [column for column in table.columns if f"{name}.{column.name}" not in exclude]
        rows = db.session.execute(select(*columns)).all()
        result[name] = sorted((tuple(row) for row in rows), key=repr)
    db.session.commit()
    return result


def orphan_cart_lines() -> int:
    """Cart lines whose owner or product is missing (inside an app context)."""
    owners = select(AuthRecord.id)
    products = select(Product.id)
    query = select(func.count()).where(
        CartItem.owner_id.is_(None) | CartItem.owner_id.not_in(owners) | CartItem.product_id.not_in(products)
    )
    return int(db.session.execute(query).scalar_one())
