"""Fixtures shared by the service and view tests.

Each test gets its own database: a fresh SQLite file by default, or the PostgreSQL database named by
``STOREFRONT_TEST_DATABASE_URL`` (its tables are created and dropped around each test). That database
must be empty or the suite's own (see ``tests/databases.py``); under pytest-xdist each worker works in
a database of its own derived from it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import event
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from storefront import create_app
from storefront.extensions import db
from storefront.shop.models import Product

from . import databases
from .factories import make_account
from .factories import PASSWORD


def pytest_configure(config: pytest.Config) -> None:
    """On PostgreSQL, check that the configured database is the suite's to change before any test
    runs, and move each xdist worker into a database of its own (dropped when the worker ends)."""
    url = os.environ.get("STOREFRONT_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return
    import psycopg

    try:
        databases.claim(url)
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            own = databases.worker_database(url, worker)
            databases.claim(own)
            os.environ["STOREFRONT_TEST_DATABASE_URL"] = own
            config.add_cleanup(lambda: databases.drop(own))
    except databases.ForeignDatabase as error:
        raise pytest.UsageError(str(error)) from None
    except psycopg.Error as error:
        shown = make_url(url).render_as_string()
        raise pytest.UsageError(
            f"STOREFRONT_TEST_DATABASE_URL: no PostgreSQL answers at {shown} ({databases.first_line(error)})"
        ) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which databases the tests run on."""
    url = os.environ.get("STOREFRONT_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return [f"database: SQLite {sqlite3.sqlite_version}, a file per test"]
    where = make_url(url).render_as_string()
    if config.getoption("numprocesses", None):
        where += " (each xdist worker in a database of its own: <name>_gw0, <name>_gw1 ...)"
    return [f"database: {databases.server_version(url)}, {where}"]


def make_test_config(database_uri: str, **overrides: Any) -> dict[str, Any]:
    """The settings of a test app: fast argon2, CSRF off for the plain client, no rate limits
    unless a test turns them on."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "ARGON2_PARALLELISM": 1,
        **overrides,
    }


@contextmanager
def listening(target: Any, identifier: str, fn: Callable[..., Any]) -> Iterator[None]:
    """SQLAlchemy's ``event.listen(target, identifier, fn)`` for the length of a ``with`` block."""
    event.listen(target, identifier, fn)
    try:
        yield
    finally:
        event.remove(target, identifier, fn)


def database_uri_in(directory: Path, filename: str = "test.sqlite") -> str:
    """The PostgreSQL database of ``STOREFRONT_TEST_DATABASE_URL`` when that is set, else a SQLite file
    in ``directory``."""
    return os.environ.get("STOREFRONT_TEST_DATABASE_URL") or f"sqlite:///{directory / filename}"


@contextmanager
def fresh_app(database_uri: str, **overrides: Any) -> Iterator[Flask]:
    """A test app on ``database_uri`` with its tables made afresh; they are dropped again, and the
    engine's connections closed, when the block ends."""
    app = create_app(make_test_config(database_uri, **overrides))
    with app.app_context():
        db.drop_all()
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def database_uri(tmp_path: Path) -> str:
    return database_uri_in(tmp_path)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the app's settings."""
    return {}


@pytest.fixture
def app(database_uri: str, config_overrides: dict[str, Any]) -> Iterator[Flask]:
    with fresh_app(database_uri, **config_overrides) as app:
        yield app


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    """Opt-in application context for service tests."""
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def products(app: Flask) -> list[int]:
    """Three products; returns their ids (the last one has a single unit in stock)."""
    with app.app_context():
        items = [
            Product(slug="mug", name="Mug", description="A mug.", price_cents=1800, stock=10, image="m.svg"),
            Product(slug="tote", name="Tote", description="A bag.", price_cents=2450, stock=5, image="t.svg"),
            Product(slug="pen", name="Pen", description="A pen.", price_cents=999, stock=1, image="p.svg"),
        ]
        db.session.add_all(items)
        db.session.commit()
        return [item.id for item in items]


@pytest.fixture
def account(app: Flask) -> str:
    """A full account in ``users``; returns its id."""
    with app.app_context():
        return make_account().id


def sign_in(
    client: FlaskClient, email: str = "shopper@example.com", password: str = PASSWORD
) -> TestResponse:
    """Sign in through the login page."""
    return client.post("/login", data={"email": email, "password": password})


def csrf_token_from(html: bytes) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1).decode()
