"""``flask --app storefront anonymous cleanup``: the same service from cron."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy import text

from storefront.admin.models import CleanupRun
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop.models import CartItem

from .admin_helpers import count
from .factories import make_guest
from .factories import make_order


@pytest.fixture
def backlog(app: Flask, products: list[int]) -> dict[str, str]:
    """Two idle guests with carts, an idle guest who ordered, an active guest (ids by role)."""
    now = utcnow()
    with app.app_context():
        idle = [make_guest(last_active=now - timedelta(days=45), cart=products[:2]) for _ in range(2)]
        buyer = make_guest(last_active=now - timedelta(days=45), cart=products[:1])
        make_order(buyer)
        active = make_guest(last_active=now - timedelta(days=3), cart=products[:1])
        customer = make_guest(last_active=now - timedelta(days=45), collection="customers")
    ids = {"buyer": buyer.id, "active": active.id, "customer": customer.id}
    return {"idle0": idle[0].id, "idle1": idle[1].id, **ids}


def _snapshot(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    with app.app_context():
        connection = db.session.connection()
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in ("auth_records", "cart_items", "orders", "cleanup_runs")
        }


def test_dry_run_changes_nothing(app: Flask, runner: FlaskCliRunner, backlog: dict[str, str]) -> None:
    before = _snapshot(app)
    result = runner.invoke(args=["anonymous", "cleanup", "--inactive-days", "30", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run:" in result.output
    assert "Would delete 3; would keep 1 that have orders. Nothing was changed." in result.output
    assert _snapshot(app) == before  # not a row changed, and no audit row either


def test_cleanup_deletes_keeps_buyers_and_is_audited(
    app: Flask, runner: FlaskCliRunner, backlog: dict[str, str]
) -> None:
    result = runner.invoke(
        args=["anonymous", "cleanup", "--inactive-days", "30", "--collection", "users", "--batch-size", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "Deleting inactive guest accounts" in result.output  # the progress bar's label
    assert "Deleted 2 and kept 1 that have orders" in result.output
    assert "batches of 1 (cleanup run 1)" in result.output
    with app.app_context():
        remaining = set(db.session.execute(select(AuthRecord.id)).scalars())
        assert remaining == {backlog["buyer"], backlog["active"], backlog["customer"]}
        assert count(CartItem, owner_id=backlog["idle0"]) == 0
        run = db.session.execute(select(CleanupRun)).scalar_one()
        assert (run.actor, run.inactive_days, run.collection, run.batch_size) == ("cli", 30, "users", 1)
        assert (run.status, run.expected, run.deleted, run.kept) == ("finished", 2, 2, 1)


def test_defaults_come_from_the_settings(app: Flask, runner: FlaskCliRunner, backlog: dict[str, str]) -> None:
    app.config["CLEANUP_INACTIVE_DAYS"] = 60  # nobody has been idle that long
    app.config["CLEANUP_BATCH_SIZE"] = 250
    result = runner.invoke(args=["anonymous", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "Deleted 0 and kept 0" in result.output
    assert "all collections inactive for at least 60 days" in result.output
    with app.app_context():
        run = db.session.execute(select(CleanupRun)).scalar_one()
        assert (run.inactive_days, run.collection, run.batch_size) == (60, None, 250)
        assert count(AuthRecord) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inactive-days", "0"], "Enter a number of days from 1 to 3650."),
        (["--inactive-days", "thirty"], "'thirty' is not a valid integer"),
        (["--collection", "admins"], "Choose one of: all, users, customers."),
        (["--batch-size", "0"], "Choose a batch size from 1 to 10,000."),
    ],
)
def test_bad_options_are_usage_errors(
    app: Flask, runner: FlaskCliRunner, backlog: dict[str, str], args: list[str], message: str
) -> None:
    result = runner.invoke(args=["anonymous", "cleanup", *args])
    assert result.exit_code == 2
    assert message in result.output
    with app.app_context():
        assert count(AuthRecord) == 5 and count(CleanupRun) == 0
