"""Every admin POST needs its CSRF token (this module's app has CSRF on, as in production)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.admin import cleanup
from storefront.admin.models import CleanupRun
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow

from .admin_helpers import count
from .conftest import csrf_token_from
from .factories import make_admin
from .factories import make_guest
from .factories import use_identity
from .test_admin_access import admin_routes
from .test_admin_access import DELETE_FORM
from .test_admin_access import url_for_rule


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True, "CLEANUP_TIME_BUDGET": 0, "CLEANUP_BATCH_SIZE": 1}


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        for days in (40, 41, 42):
            make_guest(last_active=utcnow() - timedelta(days=days))
        use_identity(client, make_admin())
    return client


def _post_routes(app: Flask) -> list[str]:
    rules = [rule for method, rule in admin_routes(app) if method == "POST"]
    assert rules, "the admin area has POST routes"
    return rules


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_admin_post_without_a_valid_token_is_refused(
    app: Flask, admin_client: FlaskClient, token: str | None
) -> None:
    with app.app_context():
        run_id = cleanup.start_run(cleanup.make_criteria(30), "admin:admin@example.com").id
    for rule in _post_routes(app):
        data = dict(DELETE_FORM, **({"csrf_token": token} if token else {}))
        response = admin_client.post(url_for_rule(rule, run_id), data=data)
        assert response.status_code == 400, rule
        assert b"This form has expired" in response.data
    with app.app_context():
        assert count(AuthRecord, is_anonymous=True) == 3  # nothing deleted
        run = db.session.get(CleanupRun, run_id)
        assert run is not None and run.deleted == 0 and count(CleanupRun) == 1


def test_admin_posts_with_the_page_token_go_through(app: Flask, admin_client: FlaskClient) -> None:
    page = admin_client.get("/admin/cleanup")
    token = csrf_token_from(page.data)

    preview = admin_client.post(
        "/admin/cleanup", data={**DELETE_FORM, "delete": "", "preview": "y", "csrf_token": token}
    )
    assert preview.status_code == 303

    started = admin_client.post("/admin/cleanup", data={**DELETE_FORM, "expected": "3", "csrf_token": token})
    assert started.status_code == 303
    run_page = admin_client.get(started.headers["Location"])
    assert b"Cleanup in progress" in run_page.data  # one batch of one per request here
    continue_token = csrf_token_from(run_page.data)
    continue_url = started.headers["Location"] + "/continue"
    for _ in range(3):
        assert admin_client.post(continue_url, data={"csrf_token": continue_token}).status_code == 303
    assert b"Cleanup finished" in admin_client.get(started.headers["Location"]).data
    with app.app_context():
        assert count(AuthRecord, is_anonymous=True) == 0
