"""The admin pages through the test client: dashboard, cleanup form, preview, delete, progress."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from storefront import create_app
from storefront.admin import cleanup
from storefront.admin.dashboard import dashboard
from storefront.admin.models import CleanupRun
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop.models import CartItem

from .admin_helpers import count
from .conftest import make_test_config
from .factories import make_account
from .factories import make_admin
from .factories import make_guest
from .factories import make_order
from .factories import use_identity

DELETE_ALL = {"inactive_days": "30", "collection": "all", "delete": "y"}


def confirmed(data: dict[str, str], count: int) -> dict[str, str]:
    """A Delete as the preview page sends it: the count it showed, ticked."""
    return {**data, "expected": str(count), "confirm": "y"}


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        use_identity(client, make_admin())
    return client


@pytest.fixture
def shop(app: Flask, products: list[int]) -> dict[str, Any]:
    """Idle guests (two in users with carts, one in customers, one buyer), an active guest, accounts
    (one upgraded from a guest), orders by a guest and by an account."""
    now = utcnow()
    with app.app_context():
        idle = [make_guest(last_active=now - timedelta(days=40 + i), cart=products[:2]) for i in range(2)]
        idle_customer = make_guest(last_active=now - timedelta(days=50), collection="customers")
        buyer = make_guest(last_active=now - timedelta(days=60), collection="customers")
        make_order(buyer)
        active = make_guest(last_active=now - timedelta(days=1), cart=products[:1])
        account = make_account("regular@example.com")
        upgraded = make_account("converted@example.com")
        db.session.execute(update(AuthRecord).where(AuthRecord.id == upgraded.id).values(upgraded_at=now))
        db.session.commit()
        make_order(db.session.get(AuthRecord, account.id))  # type: ignore[arg-type]
        return {
            "idle": [guest.id for guest in idle],
            "idle_customer": idle_customer.id,
            "buyer": buyer.id,
            "active": active.id,
        }


def text_of(html: bytes) -> str:
    """The page's text with tags dropped and space collapsed, for asserting sentences."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode())).replace(" .", ".")


# --- dashboard --------------------------------------------------------------------------------------


def test_dashboard_figures(app: Flask, shop: dict[str, Any]) -> None:
    with app.app_context():
        make_admin()
        figures = dashboard()
    users, customers = figures.collections
    assert users.collection == "users"
    assert (users.anonymous, users.full, users.upgraded, users.inactive) == (3, 3, 1, 2)
    assert users.conversion_rate == pytest.approx(1 / 4)  # 1 upgraded of 3 guests + 1 upgraded
    assert (customers.anonymous, customers.full, customers.inactive) == (2, 0, 2)
    assert customers.conversion_rate == 0
    assert (figures.totals.anonymous, figures.totals.full, figures.totals.inactive) == (5, 3, 4)
    assert (figures.orders.guest, figures.orders.account) == (1, 1)
    assert figures.orders.guest_share == pytest.approx(0.5)
    assert figures.inactive_days == 30 and figures.runs == []


def test_dashboard_page_shows_figures_and_links_to_cleanup(
    admin_client: FlaskClient, shop: dict[str, Any]
) -> None:
    response = admin_client.get("/admin")
    assert response.status_code == 200
    page = text_of(response.data)
    assert "Admin dashboard" in page
    assert "5 guest (anonymous) accounts" in page
    assert "4 guest accounts inactive for more than 30 days" in page
    assert "1 / 1 guest / account orders" in page
    assert "users 3 3 1 25.0% 2" in page  # the collection's row
    assert "customers 2 0 0 0.0% 0" not in page and "customers 2 0 0 0.0% 2" in page
    assert "No cleanup has run yet." in page
    assert b'href="/admin/cleanup"' in response.data


def test_empty_shop_dashboard(admin_client: FlaskClient) -> None:
    page = text_of(admin_client.get("/admin").data)
    assert "0 guest (anonymous) accounts" in page
    assert "– of guests created an account" in page  # no guest yet: no rate, not 0 % or an error


# --- cleanup form and preview ------------------------------------------------------------------------


def test_cleanup_page_offers_the_named_controls(admin_client: FlaskClient) -> None:
    html = admin_client.get("/admin/cleanup").data.decode()
    label = re.search(r'<label for="([^"]+)">Inactive for at least \(days\)</label>', html)
    assert label, "the days field has its label"
    assert re.search(rf'<input[^>]*id="{label.group(1)}"[^>]*value="30"', html)
    assert re.search(r'<label for="collection">Collection</label>', html)
    options = re.findall(r'<option[^>]*value="([^"]+)"', html)
    assert options == ["all", "users", "customers"]
    assert ">Preview</button>" in html
    # Delete is offered in a preview only (test_the_form_offers_delete_only_in_a_preview_...).
    assert ">Delete inactive guest accounts</button>" not in html
    assert 'name="csrf_token"' in html


def test_preview_redirects_to_a_shareable_page_and_changes_nothing(
    app: Flask, admin_client: FlaskClient, shop: dict[str, Any]
) -> None:
    response = admin_client.post(
        "/admin/cleanup", data={"inactive_days": "30", "collection": "all", "preview": "y"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/cleanup?inactive_days=30&collection=all"

    page = admin_client.get(response.headers["Location"])
    assert page.status_code == 200
    text = text_of(page.data)
    assert "3 would be deleted" in text
    assert "1 would be kept because they have orders" in text
    for record_id in [*shop["idle"], shop["idle_customer"], shop["buyer"]]:
        assert record_id in text
    assert shop["active"] not in text
    assert "Would be kept: has orders" in text and "Would be deleted" in text
    assert re.search(r'<input[^>]*value="30"', page.data.decode())  # the form keeps the criteria
    with app.app_context():
        assert count(AuthRecord, is_anonymous=True) == 5 and count(CleanupRun) == 0


def test_preview_of_one_collection(admin_client: FlaskClient, shop: dict[str, Any]) -> None:
    page = admin_client.get("/admin/cleanup?inactive_days=41&collection=users").data.decode()
    text = text_of(page.encode())
    assert "1 would be deleted" in text and "0 would be kept" in text
    assert shop["idle"][1] in text and shop["idle"][0] not in text  # idle for 40 days: not 41
    assert shop["idle_customer"] not in text
    assert re.search(r'<option selected value="users">', page)


def test_preview_sample_is_paginated(app: Flask, admin_client: FlaskClient) -> None:
    now = utcnow()
    with app.app_context():
        ids = [make_guest(last_active=now - timedelta(days=100 - i)).id for i in range(23)]
    first = admin_client.get("/admin/cleanup?inactive_days=30&collection=all")
    text = text_of(first.data)
    assert "Matching guest accounts 1–20 of 23" in text and "Page 1 of 2" in text
    assert ids[0] in text and ids[19] in text and ids[20] not in text
    assert b'href="/admin/cleanup?page=2&amp;inactive_days=30&amp;collection=all"' in first.data

    second = text_of(admin_client.get("/admin/cleanup?inactive_days=30&collection=all&page=2").data)
    assert "Matching guest accounts 21–23 of 23" in second and ids[22] in second and ids[0] not in second
    past_the_end = admin_client.get("/admin/cleanup?inactive_days=30&collection=all&page=9")
    assert "Page 2 of 2" in text_of(past_the_end.data)
    assert admin_client.get("/admin/cleanup?inactive_days=30&collection=all&page=abc").status_code == 200


def test_preview_with_nothing_to_delete(admin_client: FlaskClient) -> None:
    text = text_of(admin_client.get("/admin/cleanup?inactive_days=30&collection=all").data)
    assert "0 would be deleted" in text and "nothing would be deleted" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inactive_days": "0"}, "Enter a number of days from 1 to 3650."),
        ({"inactive_days": "-4"}, "Enter a number of days from 1 to 3650."),
        ({"inactive_days": "99999"}, "Enter a number of days from 1 to 3650."),
        ({"inactive_days": "thirty"}, "Enter the number of days as a whole number, such as 30."),
        ({"inactive_days": ""}, "Enter a number of days."),
        ({"inactive_days": "30", "collection": "admins"}, "Choose one of: all, users, customers."),
    ],
)
@pytest.mark.parametrize("button", ["preview", "delete"])
def test_bad_criteria_get_a_clear_message_and_a_400(
    app: Flask,
    admin_client: FlaskClient,
    shop: dict[str, Any],
    data: dict[str, str],
    message: str,
    button: str,
) -> None:
    form = {"collection": "all", **data, button: "y"}
    response = admin_client.post("/admin/cleanup", data=form)
    assert response.status_code == 400
    assert message in response.data.decode()
    assert 'aria-invalid="true"' in response.data.decode()
    with app.app_context():
        assert count(AuthRecord, is_anonymous=True) == 5 and count(CleanupRun) == 0

    query = "&".join(f"{key}={value}" for key, value in {"collection": "all", **data}.items())
    response = admin_client.get(f"/admin/cleanup?{query}")
    assert response.status_code == 400 and message in response.data.decode()


# --- delete, progress, result -------------------------------------------------------------------------


def test_the_form_offers_delete_only_in_a_preview_with_the_count_to_confirm(
    admin_client: FlaskClient, shop: dict[str, Any]
) -> None:
    form = admin_client.get("/admin/cleanup").data.decode()
    assert ">Preview</button>" in form and "Delete inactive guest accounts</button>" not in form
    preview = admin_client.get("/admin/cleanup?inactive_days=30&collection=all").data.decode()
    assert "Delete inactive guest accounts</button>" in preview
    assert 'name="expected" value="3"' in preview
    assert "Yes, delete the 3 guest accounts that would be deleted" in preview
    assert "Would be deleted" in preview and ">Deleted<" not in preview


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        ({}, 400, "Preview first: Delete comes after a preview, with a confirmation."),
        ({"expected": "3"}, 400, "Tick the box to confirm that 3 should be deleted."),
        (
            {"expected": "2", "confirm": "y"},
            409,
            "The count changed since your preview: 3 would be deleted now",
        ),
    ],
)
def test_delete_is_refused_on_the_server_without_a_confirmed_preview(
    app: Flask,
    admin_client: FlaskClient,
    shop: dict[str, Any],
    extra: dict[str, str],
    status: int,
    message: str,
) -> None:
    response = admin_client.post("/admin/cleanup", data={**DELETE_ALL, **extra})
    assert response.status_code == status
    assert message in text_of(response.data)
    assert 'name="expected" value="3"' in response.data.decode()  # the preview, to confirm again
    with app.app_context():
        assert count(CleanupRun) == 0
        assert count(AuthRecord, is_anonymous=True) == 5


def test_delete_removes_idle_guests_keeps_buyers_and_shows_the_result(
    app: Flask, admin_client: FlaskClient, shop: dict[str, Any]
) -> None:
    response = admin_client.post("/admin/cleanup", data=confirmed(DELETE_ALL, 3))
    assert response.status_code == 303
    assert re.fullmatch(r"/admin/cleanup/runs/\d+", response.headers["Location"])

    result = admin_client.get(response.headers["Location"])
    text = text_of(result.data)
    assert "Cleanup finished" in text
    assert "Deleted 3 inactive guest accounts." in text
    assert "Kept 1 account because it has orders." in text
    assert "admin:admin@example.com" in text
    assert b"<script" not in result.data  # nothing left to continue
    with app.app_context():
        remaining = set(db.session.execute(select(AuthRecord.id).where(AuthRecord.is_anonymous)).scalars())
        assert remaining == {shop["buyer"], shop["active"]}
        assert count(CartItem) == 1  # the active guest's line; the deleted carts went with their records


def test_dashboard_numbers_change_after_a_cleanup_and_the_run_is_listed(
    admin_client: FlaskClient, shop: dict[str, Any]
) -> None:
    before = text_of(admin_client.get("/admin").data)
    assert "4 guest accounts inactive for more than 30 days" in before
    users = {"inactive_days": "30", "collection": "users", "delete": "y"}
    admin_client.post("/admin/cleanup", data=confirmed(users, 2))
    after = text_of(admin_client.get("/admin").data)
    assert "2 guest accounts inactive for more than 30 days" in after
    assert "3 guest (anonymous) accounts" in after
    assert "No cleanup has run yet." not in after
    audit = r"admin:admin@example\.com users, inactive ≥ 30 days \(before [^)]+\) (\d+) (\d+) "
    row = re.search(audit, after)
    assert row and row.groups() == ("2", "0")
    assert "Finished" in after


def test_delete_with_nothing_to_do_is_still_audited(app: Flask, admin_client: FlaskClient) -> None:
    response = admin_client.post("/admin/cleanup", data=confirmed(DELETE_ALL, 0))
    text = text_of(admin_client.get(response.headers["Location"]).data)
    assert "Deleted 0 inactive guest accounts." in text
    assert "Kept 0 accounts because they have orders." in text
    with app.app_context():
        assert count(CleanupRun) == 1


@pytest.mark.parametrize("config_overrides", [{"CLEANUP_TIME_BUDGET": 0, "CLEANUP_BATCH_SIZE": 2}])
def test_large_backlog_shows_progress_and_continues_without_javascript(
    app: Flask, admin_client: FlaskClient
) -> None:
    now = utcnow()
    with app.app_context():
        for i in range(5):
            make_guest(last_active=now - timedelta(days=40 + i))
    started = admin_client.post("/admin/cleanup", data=confirmed(DELETE_ALL, 5))
    run_url = started.headers["Location"]

    page = admin_client.get(run_url)
    html = page.data.decode()
    assert "Cleanup in progress" in html
    assert "Deleted <strong>2 accounts</strong> so far, of about 5." in html
    assert '<progress class="admin-progress" max="5" value="2"' in html
    assert f'action="{run_url}/continue"' in html and ">Continue</button>" in html
    # A file (the CSP forbids inline code), fingerprinted like every static file.
    assert re.search(r'<script src="/static/admin.js\?v=[0-9a-f]{12}" defer></script>', html)
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]

    # A reload neither repeats nor loses work.
    for _ in range(3):
        assert "Deleted <strong>2 accounts</strong> so far" in admin_client.get(run_url).data.decode()

    assert admin_client.post(f"{run_url}/continue").headers["Location"] == run_url
    assert "Deleted <strong>4 accounts</strong> so far" in admin_client.get(run_url).data.decode()
    admin_client.post(f"{run_url}/continue")
    finished = text_of(admin_client.get(run_url).data)
    assert "Cleanup finished" in finished and "Deleted 5 inactive guest accounts." in finished

    # Continuing a finished run is a no-op.
    with app.app_context():
        make_guest(last_active=now - timedelta(days=90))
        run = db.session.execute(select(CleanupRun)).scalar_one()
        finished_at = run.finished_at
    assert admin_client.post(f"{run_url}/continue").status_code == 303
    with app.app_context():
        run = db.session.execute(select(CleanupRun)).scalar_one()
        assert (run.deleted, run.finished_at) == (5, finished_at)
        assert count(AuthRecord, is_anonymous=True) == 1


def test_auto_continue_script_is_served(client: FlaskClient) -> None:
    response = client.get("/static/admin.js")
    assert response.status_code == 200
    script = response.data.decode()
    assert "data-auto-continue" in script and "requestSubmit" in script
    response.close()


def test_unknown_run_is_a_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/cleanup/runs/999").status_code == 404
    assert admin_client.post("/admin/cleanup/runs/999/continue").status_code == 404
    assert admin_client.get("/admin/cleanup/runs/not-a-number").status_code == 404


def test_a_busy_database_stops_the_step_not_the_run(
    app: Flask, admin_client: FlaskClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(run_id: int, **_kwargs: Any) -> None:
        raise OperationalError("DELETE FROM auth_records ...", {}, Exception("database is locked"))

    monkeypatch.setattr(cleanup, "continue_run", busy)
    started = admin_client.post("/admin/cleanup", data=confirmed(DELETE_ALL, 3))
    assert started.status_code == 303
    page = admin_client.get(started.headers["Location"])
    text = text_of(page.data)
    assert "The database was too busy to go on just now. Nothing was lost" in text
    assert "Cleanup in progress" in text and ">Continue</button>" in page.data.decode()

    monkeypatch.undo()
    admin_client.post(started.headers["Location"] + "/continue")
    assert "Deleted 3 inactive guest accounts." in text_of(admin_client.get(started.headers["Location"]).data)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CLEANUP_INACTIVE_DAYS", 0),
        ("CLEANUP_INACTIVE_DAYS", "30"),
        ("CLEANUP_BATCH_SIZE", 0),
        ("CLEANUP_BATCH_SIZE", 20_000),
        ("CLEANUP_TIME_BUDGET", -1),
    ],
)
def test_bad_cleanup_settings_fail_at_start(database_uri: str, setting: str, value: object) -> None:
    with pytest.raises(RuntimeError, match=setting):
        create_app(make_test_config(database_uri, **{setting: value}))
