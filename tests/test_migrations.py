"""The migrations in ``migrations/`` build the schema the models describe, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import inspect

from storefront import create_app
from storefront.auth import sign_in_anonymously
from storefront.extensions import db

from .conftest import make_test_config


def _drop_everything(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS stray")
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


@pytest.fixture
def empty_app(database_uri: str) -> Iterator[Flask]:
    """An app on an empty database (the test database: SQLite, or PostgreSQL when
    STOREFRONT_TEST_DATABASE_URL names one): no create_all, the migrations build everything."""
    app = create_app(make_test_config(database_uri))
    _drop_everything(app)
    yield app
    _drop_everything(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _upgrade(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_upgrade_builds_every_table_of_the_models(empty_app: Flask) -> None:
    assert _tables(empty_app) == set()
    _upgrade(empty_app.test_cli_runner())
    assert _tables(empty_app) == set(db.metadata.tables) | {"alembic_version"}


def test_models_match_the_migrations(empty_app: Flask) -> None:
    """``flask db check``: autogenerate finds nothing to add, drop or alter."""
    runner = empty_app.test_cli_runner()
    _upgrade(runner)
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_check_notices_drift(empty_app: Flask) -> None:
    """The check is not vacuous: a schema that is not the models' fails it."""
    runner = empty_app.test_cli_runner()
    _upgrade(runner)
    assert runner.invoke(args=["db", "check"]).exit_code == 0
    with empty_app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code != 0


def test_the_migrated_schema_works_for_the_auth_service(empty_app: Flask) -> None:
    _upgrade(empty_app.test_cli_runner())
    with empty_app.app_context():
        auth = sign_in_anonymously("customers")
        assert auth.record.collection == "customers"
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("auth_records")}
        assert "ix_auth_records_cleanup" in indexes


def test_downgrade_to_base_removes_everything(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    _upgrade(runner)
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert _tables(empty_app) <= {"alembic_version"}
    # ... and the way back up still works.
    _upgrade(runner)
    assert _tables(empty_app) == set(db.metadata.tables) | {"alembic_version"}


def test_saved_deliveries_migration_keeps_every_row_both_ways(empty_app: Flask) -> None:
    """The saved delivery details arrive on a populated database of the previous release and leave
    again without losing a row of anything else."""
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "947ce07558a9"])
    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        auth = sign_in_anonymously("customers")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO products (id, slug, name, description, price_cents, stock, image, created) "
                "VALUES (1, 'mug', 'Mug', 'A mug.', 1800, 5, 'm.svg', CURRENT_TIMESTAMP)"
            )
            connection.exec_driver_sql(
                "INSERT INTO orders (number, owner_id, checkout_key, email, full_name, address, city, "
                "postal_code, country, total_cents, placed_by_anonymous, created) VALUES ('SF-AAAA-BBBB', "
                f"'{auth.record.id}', 'key-1234567890abcdef', 'a@example.com', 'Ada', '1 Row', 'London', "
                "'N1', 'United Kingdom', 1800, true, CURRENT_TIMESTAMP)"
            )
        db.session.remove()

    def counts() -> dict[str, int]:
        with empty_app.app_context(), db.engine.connect() as connection:
            return {
                table: int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
                for table in ("auth_records", "products", "orders")
            }

    before = counts()
    _upgrade(runner)
    assert "saved_deliveries" in _tables(empty_app) and counts() == before
    with empty_app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO saved_deliveries "
            "(owner_id, full_name, address, city, postal_code, country, updated) "
            f"VALUES ('{auth.record.id}', 'Ada', '1 Row', 'London', 'N1', 'GB', CURRENT_TIMESTAMP)"
        )
    result = runner.invoke(args=["db", "downgrade", "947ce07558a9"])
    assert result.exit_code == 0, result.output
    assert "saved_deliveries" not in _tables(empty_app) and counts() == before
    _upgrade(runner)
    assert counts() == before
