"""The SQLite settings every connection gets, and how requests use transactions on PostgreSQL
(storefront.database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from storefront.auth import service
from storefront.auth import sign_in_anonymously
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.database import MMAP_SIZE
from storefront.extensions import db

from .conftest import listening
from .factories import AUTH_COOKIE


def _pragmas(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("foreign_keys", "busy_timeout", "journal_mode", "synchronous", "mmap_size")
            }
    finally:
        engine.dispose()


def test_a_database_file_gets_wal_and_the_memory_map(tmp_path: Path) -> None:
    assert _pragmas(f"sqlite:///{tmp_path / 'shop.sqlite'}") == {
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: in WAL mode a commit is durable once the WAL is checkpointed
        "mmap_size": MMAP_SIZE,
    }


def test_an_in_memory_database_still_enforces_foreign_keys() -> None:
    pragmas = _pragmas("sqlite://")
    assert pragmas["foreign_keys"] == 1
    assert pragmas["journal_mode"] == "memory"


# ---------------------------------------------------------------------------------------------------
# PostgreSQL: safe requests read outside a transaction (storefront.database._reads_outside_a_transaction)


def _postgresql_only(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite never opens a transaction for a read")


@contextmanager
def _autocommit_of_each_statement(app: Flask) -> Iterator[list[tuple[str, bool]]]:
    """(first word of each statement, whether its connection was in autocommit mode)."""
    seen: list[tuple[str, bool]] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement.split()[0], connection.connection.dbapi_connection.autocommit))

    with app.app_context():
        engine = db.engine
    with listening(engine, "before_cursor_execute", record):
        yield seen


def test_a_get_reads_without_begin_and_a_post_writes_in_a_transaction(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    _postgresql_only(app)
    client.post("/cart/add", data={"product_id": products[0]})  # a guest with a cart: the page reads
    with _autocommit_of_each_statement(app) as seen:
        assert client.get("/").status_code == 200
    assert seen and all(autocommit for _, autocommit in seen), seen
    with _autocommit_of_each_statement(app) as seen:
        assert client.post("/cart/add", data={"product_id": products[1]}).status_code == 302
    assert any(word == "INSERT" for word, _ in seen) and not any(autocommit for _, autocommit in seen), seen


@pytest.mark.parametrize("config_overrides", [{"TRY_BEFORE_YOU_BUY": "eager"}])
def test_an_eager_sign_in_after_reading_is_still_one_transaction(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A returning browser whose cookie names a deleted record: the page reads that record first
    (outside a transaction), then signs the visitor in anonymously, and nothing in the sign-in asks
    for a transaction. If the sign-in fails after the INSERT, the INSERT is rolled back with it."""
    _postgresql_only(app)
    with app.test_request_context("/"):
        gone = sign_in_anonymously().record
        token = issue_token(gone)
        db.session.execute(delete(AuthRecord).where(AuthRecord.id == gone.id))
        db.session.commit()
    client.set_cookie("storefront_probe", "1")
    client.set_cookie(AUTH_COOKIE, token)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the sign-in failed after the record was written")

    monkeypatch.setattr(service, "sign_in_with_password", fail)
    with _autocommit_of_each_statement(app) as seen, pytest.raises(RuntimeError):
        client.get("/", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"})
    assert ("SELECT", True) in seen and ("INSERT", False) in seen, seen
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(AuthRecord)).scalar_one() == 0


def test_a_get_that_adds_a_row_after_reading_writes_it_in_a_transaction(app: Flask) -> None:
    _postgresql_only(app)
    with app.test_request_context("/", method="GET"), _autocommit_of_each_statement(app) as seen:
        db.session.execute(select(func.count()).select_from(AuthRecord)).scalar_one()
        db.session.add(AuthRecord(collection="users", email="a@example.com", username="a", password_hash="!"))
        db.session.commit()
    assert ("SELECT", True) in seen and ("INSERT", False) in seen, seen


def test_a_get_cannot_change_a_row_it_read_outside_a_transaction(app: Flask) -> None:
    """A flush of a changed row cannot end the reading by itself: it is refused instead of writing
    statement by statement outside a transaction."""
    _postgresql_only(app)
    with app.app_context():
        db.session.add(AuthRecord(collection="users", email="a@example.com", username="a", password_hash="!"))
        db.session.commit()
    with app.test_request_context("/", method="GET"):
        record = db.session.execute(select(AuthRecord)).scalar_one()
        record.username = "changed"
        with pytest.raises(RuntimeError, match="only with statements"):
            db.session.flush()
        db.session.rollback()
        assert db.session.execute(select(AuthRecord.username)).scalar_one() == "a"
