"""Security properties of every route, found from the app's URL map so that a new route is covered the
day it is added (a route with an argument this module has no sample for fails the tests, by name).

* every POST outside the JSON API refuses a request without a valid CSRF token and changes nothing;
  the API under /api/ is exempt by design because it never reads cookies: it answers the same with
  or without them;
* no GET route changes state, whoever calls it (``last_active_at`` aside: the activity tracking writes
  it on any request, by design; in the ``eager`` try-before-you-buy mode a returning browser's GET also
  creates its guest record, by design, see ``storefront/shop/guests.py``);
* security headers on every page, for every kind of visitor;
* session fixation: a session planted before registration, upgrade, guest checkout or a change of
  password is not the one after it (sign-in, sign-out and anonymous sign-in are in
  ``test_cookie_session.py``, with the cookie flags of the production configuration);
* sign-in errors do not tell whether an account exists: the same status and page (API: body) for an
  unknown email and a wrong password, each after the same number of password verifications.

Covered elsewhere, not repeated here: every admin route refuses anonymous records and regular
accounts (``test_admin_access.py``, also from the URL map); the anonymous-creation limit across two
gunicorn workers sharing Redis (``test_production.py``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import argon2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from . import route_helpers
from .auth_helpers import plant_session
from .auth_helpers import planted_session_survives
from .auth_helpers import set_cookies
from .conftest import csrf_token_from
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM
from .factories import make_account
from .factories import PASSWORD
from .proof_helpers import snapshot
from .route_helpers import client_as
from .route_helpers import is_api
from .route_helpers import routes
from .route_helpers import VISITORS
from .route_helpers import World
from .test_security_headers import assert_hardened

CSRF_MESSAGE = b"This form has expired or was sent from another site."
ACTIVITY = frozenset({"auth_records.last_active_at"})
IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Everything any form of the shop reads, so that a POST that got through would act.
ANY_FORM = {
    "email": "new-address@example.com",
    "password": "a new long passphrase",
    "confirm": "a new long passphrase",
    "current_password": PASSWORD,
    "product_id": "1",
    "quantity": "1",
    "action": "guest-checkout",
    "inactive_days": "1",
    "collection": "all",
    "delete": "y",
    **CONTACT_FORM,
}


world = route_helpers.world


def stored(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        return snapshot(exclude=ACTIVITY)


# ---------------------------------------------------------------------------------------------------
# CSRF


class TestCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_app_has_post_routes_outside_and_inside_the_api(self, app: Flask) -> None:
        posts = routes(app, "POST")
        assert len([rule for rule in posts if not is_api(rule)]) >= 12
        assert len([rule for rule in posts if is_api(rule)]) >= 3

    @pytest.mark.parametrize("who", ["nobody", "guest", "admin"])
    def test_every_post_refuses_a_request_without_a_valid_csrf_token(
        self, app: Flask, world: World, who: str
    ) -> None:
        stolen = csrf_token_from(app.test_client().get("/login").data)  # valid, of another session
        for token in (None, "", "not-a-token", stolen):
            for rule in routes(app, "POST"):
                if is_api(rule):
                    continue
                client = client_as(app, world, who)
                client.get("/")  # a session of its own, as a browser would have
                before = stored(app)
                data = ANY_FORM if token is None else {**ANY_FORM, "csrf_token": token}
                response = client.post(world.path(rule), data=data)
                where = f"{rule.rule} as {who} with token {token!r}"
                assert response.status_code == 400, f"{where}: {response.status_code}"
                assert CSRF_MESSAGE in response.data, where
                assert set_cookies(response.headers.getlist("Set-Cookie")) == [], where
                assert stored(app) == before, f"{where} changed something"

    def test_with_the_session_token_the_same_posts_get_past_the_check(self, app: Flask, world: World) -> None:
        """So the refusals above are the CSRF check's, not a guard's or a validator's."""
        for rule in routes(app, "POST"):
            if is_api(rule):
                continue
            client = client_as(app, world, "admin")
            token = csrf_token_from(client.get("/").data)
            response = client.post(world.path(rule), data={**ANY_FORM, "csrf_token": token})
            assert CSRF_MESSAGE not in response.data, rule.rule

    def test_the_api_needs_no_csrf_token_because_it_never_reads_cookies(
        self, app: Flask, world: World
    ) -> None:
        """Each API POST answers the same with the admin's cookies (auth and session) as without any."""
        for rule in routes(app, "POST"):
            if not is_api(rule):
                continue
            with_cookies = client_as(app, world, "admin")
            with_cookies.get("/")
            answers = [
                with_cookies.post(world.path(rule), json={}),
                app.test_client().post(world.path(rule), json={}),
            ]
            for response in answers:
                assert response.status_code != 400 or CSRF_MESSAGE not in response.data, rule.rule
                assert response.mimetype == "application/json", rule.rule
                assert response.headers.getlist("Set-Cookie") == [], rule.rule
            assert answers[0].status_code == answers[1].status_code, rule.rule
            assert set(answers[0].get_json()) == set(answers[1].get_json()), rule.rule


# ---------------------------------------------------------------------------------------------------
# GET changes nothing; headers on every page


# Query strings worth a GET of their own: a preview, a next, a page number.
EXTRA_GETS = [
    "/admin/cleanup?inactive_days=1&collection=all",
    "/admin/cleanup?inactive_days=1&collection=users&page=2",
    "/login?next=/cart",
    "/register?next=/checkout",
    "/account/upgrade?next=/cart",
    "/logout",
]


def get_paths(app: Flask, world: World) -> list[str]:
    return [world.path(rule) for rule in routes(app, "GET")] + EXTRA_GETS


@pytest.mark.parametrize("who", VISITORS)
def test_no_get_route_changes_state_and_every_page_carries_the_security_headers(
    app: Flask, world: World, who: str
) -> None:
    client = client_as(app, world, who)
    for path in get_paths(app, world):
        before = stored(app)
        response = client.get(path)
        assert response.status_code < 500, path
        assert_hardened(response)
        response.close()
        assert stored(app) == before, f"GET {path} as {who} changed something"
    # The identity survived: no GET signed anyone out or in.
    if who != "nobody":
        cookie = client.get_cookie(AUTH_COOKIE)
        assert cookie is not None and cookie.value


# ---------------------------------------------------------------------------------------------------
# Session fixation (Django's test_login_session_without_hash_session_key, for the other changes of
# identity)


def _register(app: Flask, world: World, client: FlaskClient) -> TestResponse:
    return client.post(
        "/register",
        data={"email": "new@example.com", "password": "long passphrase", "confirm": "long passphrase"},
    )


def _upgrade(app: Flask, world: World, client: FlaskClient) -> TestResponse:
    return client.post(
        "/account/upgrade",
        data={"email": "new@example.com", "password": "long passphrase", "confirm": "long passphrase"},
    )


def _guest_checkout(app: Flask, world: World, client: FlaskClient) -> TestResponse:
    return client.post("/checkout", data={"action": "guest-checkout"})


def _change_password(app: Flask, world: World, client: FlaskClient) -> TestResponse:
    return client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": "long passphrase", "confirm": "long passphrase"},
    )


def _change_email(app: Flask, world: World, client: FlaskClient) -> TestResponse:
    return client.post("/account/email", data={"email": "new@example.com", "current_password": PASSWORD})


IDENTITY_CHANGES: dict[str, tuple[str, Callable[[Flask, World, FlaskClient], TestResponse]]] = {
    "registration": ("nobody", _register),
    "upgrade": ("guest", _upgrade),
    "guest checkout": ("guest", _guest_checkout),
    "password change": ("account", _change_password),
    "email change": ("account", _change_email),
}


@pytest.mark.parametrize("change", list(IDENTITY_CHANGES))
def test_a_planted_session_does_not_survive(app: Flask, world: World, change: str) -> None:
    who, act = IDENTITY_CHANGES[change]
    client = client_as(app, world, who)
    before = client.get_cookie(AUTH_COOKIE)
    client.get("/")
    plant_session(client)
    response = act(app, world, client)
    assert response.status_code == 302, response.data[:500]
    assert not planted_session_survives(client)
    after = client.get_cookie(AUTH_COOKIE)
    assert after is not None and (before is None or after.value != before.value)


class TestCsrfTokenRotation:
    """Django's test_login_csrf_rotate, for upgrade and registration."""

    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize(("who", "path"), [("nobody", "/register"), ("guest", "/account/upgrade")])
    def test_the_csrf_token_of_the_old_session_dies(
        self, app: Flask, world: World, who: str, path: str
    ) -> None:
        client = client_as(app, world, who)
        old = csrf_token_from(client.get(path).data)
        data = {"email": "new@example.com", "password": "long passphrase", "confirm": "long passphrase"}
        assert client.post(path, data={**data, "csrf_token": old}).status_code == 302
        new = csrf_token_from(client.get("/").data)
        assert new != old
        assert client.post("/logout", data={"csrf_token": old}).status_code == 400
        assert client.post("/logout", data={"csrf_token": new}).status_code == 302


# ---------------------------------------------------------------------------------------------------
# No account enumeration at sign-in


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made, in order."""
    made: list[str] = []
    verify = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        made.append("argon2")
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return made


@pytest.mark.parametrize("collection", ["users", "customers"])
def test_the_login_page_answers_alike_for_an_unknown_email_and_a_wrong_password(
    app: Flask, verifications: list[str], collection: str
) -> None:
    with app.app_context():
        make_account("known@example.com", collection=collection)
    answers = []
    for email in ("known@example.com", "unknown@example.com"):
        verifications.clear()
        response = app.test_client().post("/login", data={"email": email, "password": "not the password"})
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        page = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", page)  # each visitor has a token of its own
        answers.append((response.status_code, page, len(verifications)))
    assert answers[0][0] == answers[1][0] == 400
    assert answers[0][1] == answers[1][1]
    # One verification per collection the page looks in, real or dummy, in both cases.
    assert answers[0][2] == answers[1][2] == len(app.config["AUTH_COLLECTIONS"])


def test_the_api_answers_alike_for_an_unknown_email_and_a_wrong_password(
    app: Flask, client: FlaskClient, verifications: list[str]
) -> None:
    with app.app_context():
        make_account("known@example.com")
    answers = []
    for email in (
        "known@example.com",
        "unknown@example.com",
        f"anonymous-{secrets.token_hex(16)}@anonymous.invalid",
    ):
        verifications.clear()
        response = client.post(
            "/api/collections/users/auth-with-password",
            json={"identity": email, "password": "not the password"},
        )
        answers.append((response.status_code, response.data, len(verifications)))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 400 and answers[0][2] == 1
