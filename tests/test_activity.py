"""Activity tracking: a record's last activity is written when it is used, at most once per
ACTIVITY_UPDATE_INTERVAL, so a busy shop does not write on every request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.auth import identity
from storefront.auth.identity import touch_activity
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import as_utc

from .conftest import listening
from .factories import make_guest
from .factories import NOW
from .factories import use_identity


@pytest.fixture
def activity_writes(app: Flask) -> Iterator[list[str]]:
    """Every UPDATE of a record's last activity that reaches the database."""
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE auth_records") and "last_active_at" in statement:
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    with listening(engine, "before_cursor_execute", record):
        yield writes


def _last_active(app: Flask, record_id: str) -> Any:
    with app.app_context():
        record = db.session.get(AuthRecord, record_id)
        assert record is not None
        return as_utc(record.last_active_at)


def test_touch_writes_once_the_interval_has_passed(app: Flask, activity_writes: list[str]) -> None:
    with app.app_context():
        guest = make_guest(last_active=NOW - timedelta(minutes=6))
        touch_activity(guest, NOW)
    assert len(activity_writes) == 1
    assert _last_active(app, guest.id) == NOW


def test_touch_within_the_interval_writes_nothing(app: Flask, activity_writes: list[str]) -> None:
    with app.app_context():
        guest = make_guest(last_active=NOW - timedelta(minutes=4, seconds=59))
        touch_activity(guest, NOW)
    assert activity_writes == []
    assert _last_active(app, guest.id) == NOW - timedelta(minutes=4, seconds=59)


def test_touch_exactly_at_the_interval_writes(app: Flask, activity_writes: list[str]) -> None:
    with app.app_context():
        guest = make_guest(last_active=NOW - timedelta(minutes=5))
        touch_activity(guest, NOW)
    assert len(activity_writes) == 1


def test_activity_is_not_an_edit(app: Flask) -> None:
    """``updated`` (shown by the API) keeps its value: using the shop is not changing the record."""
    with app.app_context():
        guest = make_guest(last_active=NOW - timedelta(days=2))
        touch_activity(guest, NOW)
        record = db.session.get(AuthRecord, guest.id)
        assert record is not None
        assert as_utc(record.updated) == NOW - timedelta(days=2)
        assert as_utc(record.last_active_at) == NOW


def test_requests_touch_once_per_interval_not_on_every_request(
    app: Flask, client: FlaskClient, activity_writes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": NOW}
    monkeypatch.setattr(identity, "utcnow", lambda: clock["now"])
    with app.app_context():
        guest = make_guest(last_active=NOW - timedelta(days=3))
        use_identity(client, guest)

    for _ in range(5):
        assert client.get("/cart").status_code == 200
    assert len(activity_writes) == 1
    assert _last_active(app, guest.id) == NOW

    clock["now"] = NOW + timedelta(minutes=4)  # still within the interval
    for _ in range(5):
        client.get("/cart")
    assert len(activity_writes) == 1

    clock["now"] = NOW + timedelta(minutes=5, seconds=1)  # the interval has passed: one more write
    for _ in range(5):
        client.get("/cart")
    assert len(activity_writes) == 2
    assert _last_active(app, guest.id) == NOW + timedelta(minutes=5, seconds=1)


def test_visitors_without_an_identity_write_nothing(client: FlaskClient, activity_writes: list[str]) -> None:
    for _ in range(3):
        client.get("/")
    assert activity_writes == []


@pytest.mark.parametrize("config_overrides", [{"ACTIVITY_UPDATE_INTERVAL": 60}])
def test_interval_is_a_setting_in_seconds(app: Flask, activity_writes: list[str]) -> None:
    assert app.config["ACTIVITY_UPDATE_INTERVAL"] == timedelta(seconds=60)
    with app.app_context():
        recent = make_guest(last_active=NOW - timedelta(seconds=59))
        stale = make_guest(last_active=NOW - timedelta(seconds=61))
        touch_activity(recent, NOW)
        touch_activity(stale, NOW)
    assert len(activity_writes) == 1
    assert _last_active(app, recent.id) == NOW - timedelta(seconds=59)
    assert _last_active(app, stale.id) == NOW
