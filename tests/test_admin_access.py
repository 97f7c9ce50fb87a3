"""Who may use the admin area: checked on the server for every request to every /admin route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.admin import cleanup
from storefront.admin.models import CleanupRun
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow

from .admin_helpers import count
from .factories import AUTH_COOKIE
from .factories import make_account
from .factories import make_admin
from .factories import make_guest
from .factories import NOW
from .factories import use_identity

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# What a POST would send if it got through: enough to delete every idle guest.
# (The one idle guest of ``seeded``, previewed and confirmed.)
DELETE_FORM = {"inactive_days": "30", "collection": "all", "delete": "y", "expected": "1", "confirm": "y"}


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the app under /admin, found from the URL map, not listed by hand."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule == "/admin" or rule.rule.startswith("/admin/"):
            routes += [(method, rule.rule) for method in sorted((rule.methods or set()) - IGNORED_METHODS)]
    return routes


def url_for_rule(rule: str, run_id: int) -> str:
    return rule.replace("<int:run_id>", str(run_id))


@pytest.fixture
def seeded(app: Flask) -> int:
    """An idle guest, and a running cleanup run with nothing done yet; returns the run id."""
    with app.app_context():
        make_guest(last_active=utcnow() - timedelta(days=90))
        run = cleanup.start_run(cleanup.make_criteria(30), "admin:boss@example.com")
        return run.id


def _nobody(client: FlaskClient) -> None:
    """A visitor with no identity at all."""


def _anonymous_user(client: FlaskClient) -> None:
    use_identity(client, make_guest(now=NOW, collection="users"))


def _anonymous_customer(client: FlaskClient) -> None:
    use_identity(client, make_guest(now=NOW, collection="customers"))


def _regular_account(client: FlaskClient) -> None:
    use_identity(client, make_account("regular@example.com"))


def _customer_account(client: FlaskClient) -> None:
    use_identity(client, make_account("regular@example.com", collection="customers"))


def _anonymous_with_admin_flag(client: FlaskClient) -> None:
    """Never made by the app; refused all the same: only full accounts can be admins."""
    guest = make_guest(now=NOW)
    db.session.query(AuthRecord).filter_by(id=guest.id).update({"is_admin": True})
    db.session.commit()
    use_identity(client, guest)


OUTSIDERS: dict[str, Callable[[FlaskClient], None]] = {
    "no identity": _nobody,
    "anonymous record (users)": _anonymous_user,
    "anonymous record (customers)": _anonymous_customer,
    "regular account": _regular_account,
    "regular account (customers)": _customer_account,
    "anonymous record with the admin flag": _anonymous_with_admin_flag,
}


def test_the_admin_area_has_the_expected_routes(app: Flask) -> None:
    assert set(admin_routes(app)) == {
        ("GET", "/admin"),
        ("GET", "/admin/cleanup"),
        ("POST", "/admin/cleanup"),
        ("GET", "/admin/cleanup/runs/<int:run_id>"),
        ("POST", "/admin/cleanup/runs/<int:run_id>/continue"),
    }


@pytest.mark.parametrize("who", list(OUTSIDERS))
def test_everyone_but_admins_gets_403_on_every_admin_route(
    app: Flask, client: FlaskClient, seeded: int, who: str
) -> None:
    with app.app_context():
        OUTSIDERS[who](client)
    for method, rule in admin_routes(app):
        response = client.open(url_for_rule(rule, seeded), method=method, data=DELETE_FORM)
        assert response.status_code == 403, f"{who}: {method} {rule} gave {response.status_code}"
        assert b"for the shop&#39;s administrators" in response.data
    with app.app_context():  # and nothing happened
        run = db.session.get(CleanupRun, seeded)
        assert run is not None and (run.status, run.deleted) == ("running", 0)
        assert count(CleanupRun) == 1
        assert count(AuthRecord, is_anonymous=True) >= 1


def test_admins_get_every_admin_route(app: Flask, client: FlaskClient, seeded: int) -> None:
    with app.app_context():
        use_identity(client, make_admin())
    for method, rule in admin_routes(app):
        response = client.open(url_for_rule(rule, seeded), method=method, data=DELETE_FORM)
        assert response.status_code in (200, 303), f"{method} {rule} gave {response.status_code}"


def test_an_admin_who_loses_the_flag_is_refused_at_once(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        admin = make_admin().id
        use_identity(client, admin)
    assert client.get("/admin").status_code == 200
    with app.app_context():
        db.session.query(AuthRecord).filter_by(id=admin).update({"is_admin": False})
        db.session.commit()
    assert client.get("/admin").status_code == 403


def test_admin_pages_are_never_cached(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        use_identity(client, make_admin())
    assert client.get("/admin").headers["Cache-Control"] == "no-store"
    assert client.get("/admin/cleanup").headers["Cache-Control"] == "no-store"


def test_only_admins_see_the_admin_link(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        regular = make_account("regular@example.com").id
        admin = make_admin().id
        guest = make_guest(now=NOW).id
    for record, shown in ((guest, False), (regular, False), (admin, True)):
        with app.app_context():
            use_identity(client, record)
        page = client.get("/").data
        assert (b'href="/admin">Admin</a>' in page) is shown
    client.delete_cookie(AUTH_COOKIE)
    assert b'href="/admin"' not in client.get("/").data
