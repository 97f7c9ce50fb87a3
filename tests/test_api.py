"""The JSON API's sign-in endpoints: status codes, PocketBase's JSON shapes, tokens from the
``Authorization`` header only (bare, as PocketBase's SDKs send it, or with ``Bearer``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.models import as_utc
from storefront.models import utcnow

from .auth_helpers import count_records
from .auth_helpers import set_cookies
from .factories import AUTH_COOKIE
from .factories import make_account
from .factories import PASSWORD
from .test_auth_service import RECORD_KEYS
from .test_auth_service import TIMESTAMP

COLLECTIONS = ["users", "customers"]
VALIDATION_FAILED = "An error occurred while validating the submitted data."
NO_TOKEN = "The request requires valid record authorization token."


def anonymous(client: FlaskClient, collection: str = "users", **kwargs: Any) -> TestResponse:
    return client.post(f"/api/collections/{collection}/auth-anonymous", **kwargs)


def with_password(client: FlaskClient, body: Any, collection: str = "users", **kwargs: Any) -> TestResponse:
    return client.post(f"/api/collections/{collection}/auth-with-password", json=body, **kwargs)


def refresh(client: FlaskClient, token: str | None, collection: str = "users") -> TestResponse:
    """As PocketBase's SDKs send it: the bare token."""
    headers = {"Authorization": token} if token is not None else {}
    return client.post(f"/api/collections/{collection}/auth-refresh", headers=headers)


def assert_auth_data(response: TestResponse, collection: str, anonymous: bool) -> dict[str, Any]:
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/json"
    data: dict[str, Any] = response.get_json()
    assert set(data) == {"token", "record"}
    assert isinstance(data["token"], str) and data["token"].count(".") == 2
    record = data["record"]
    assert set(record) == RECORD_KEYS
    assert re.fullmatch(r"[a-z0-9]{15}", record["id"])
    assert record["collectionName"] == collection
    assert record["collectionId"] == ("pbc_1736455494" if collection == "users" else "pbc_1751747783")
    assert record["emailVisibility"] is False
    assert record["isAnonymous"] is anonymous
    assert isinstance(record["verified"], bool)
    assert isinstance(record["email"], str) and isinstance(record["username"], str)
    assert TIMESTAMP.fullmatch(record["created"]) and TIMESTAMP.fullmatch(record["updated"])
    return data


def assert_error(
    response: TestResponse, status: int, message: str | None = None, fields: set[str] | None = None
) -> str:
    """PocketBase's error shape; ``fields``: the fields ``data`` must name, each with a code."""
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"status", "message", "data"}
    assert data["status"] == status
    assert isinstance(data["data"], dict)
    assert set(data["data"]) == (fields or set())
    for error in data["data"].values():
        assert set(error) == {"code", "message"} and error["code"].startswith("validation_")
    assert isinstance(data["message"], str) and data["message"]
    if message is not None:
        assert data["message"] == message
    return str(data["message"])


def assert_no_auth_cookie(response: TestResponse) -> None:
    assert set_cookies(response.headers.getlist("Set-Cookie")) == []


# ---------------------------------------------------------------------------------------------------
# auth-anonymous


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_auth_anonymous_returns_auth_data(app: Flask, client: FlaskClient, collection: str) -> None:
    response = anonymous(client, collection)
    data = assert_auth_data(response, collection, anonymous=True)

    record = data["record"]
    assert record["verified"] is False
    assert record["email"].endswith("@anonymous.invalid")
    assert_no_auth_cookie(response)
    with app.app_context():
        stored = db.session.get(AuthRecord, record["id"])
        assert stored is not None and stored.collection == collection
        assert count_records() == 1


def test_auth_anonymous_unknown_collection_is_404(app: Flask, client: FlaskClient) -> None:
    assert_error(anonymous(client, "admins"), 404, "There is no such account type.")
    with app.app_context():
        assert count_records() == 0


def test_auth_anonymous_ignores_a_body(client: FlaskClient) -> None:
    response = anonymous(client, json={"collection": "customers", "email": "me@example.com"})
    data = assert_auth_data(response, "users", anonymous=True)
    assert data["record"]["email"] != "me@example.com"


class TestRateLimited:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "ANONYMOUS_RATE_LIMIT": "2 per hour"}

    def test_third_anonymous_sign_in_is_429(self, app: Flask, client: FlaskClient) -> None:
        assert anonymous(client).status_code == 200
        assert anonymous(client, "customers").status_code == 200
        response = anonymous(client)
        message = assert_error(response, 429)
        assert "Too many" in message
        assert_no_auth_cookie(response)
        with app.app_context():
            assert count_records() == 2

    def test_rate_limit_does_not_touch_token_endpoints(self, client: FlaskClient) -> None:
        token = anonymous(client).get_json()["token"]
        anonymous(client)
        assert anonymous(client).status_code == 429
        assert refresh(client, token).status_code == 200


# ---------------------------------------------------------------------------------------------------
# auth-with-password


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_auth_with_password_returns_auth_data(app: Flask, client: FlaskClient, collection: str) -> None:
    with app.app_context():
        record_id = make_account(collection=collection).id
    response = with_password(client, {"identity": "shopper@example.com", "password": PASSWORD}, collection)
    data = assert_auth_data(response, collection, anonymous=False)
    assert data["record"]["id"] == record_id
    assert data["record"]["email"] == "shopper@example.com"
    assert_no_auth_cookie(response)


def test_anonymous_credentials_are_not_known_to_anyone_but_the_record_itself(client: FlaskClient) -> None:
    data = anonymous(client, "customers").get_json()
    # The generated password is never returned, so nobody can sign in with it through the API.
    assert "password" not in str(data).lower()


def test_bad_credentials_get_one_message_whether_or_not_the_account_exists(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        make_account()
    wrong_password = with_password(client, {"identity": "shopper@example.com", "password": "nope nope"})
    unknown = with_password(client, {"identity": "nobody@example.com", "password": "nope nope"})
    not_an_email = with_password(client, {"identity": "nobody", "password": "nope nope"})
    other_collection = with_password(
        client, {"identity": "shopper@example.com", "password": PASSWORD}, "customers"
    )

    messages = {assert_error(response, 400) for response in [wrong_password, unknown, not_an_email]}
    messages.add(assert_error(other_collection, 400))
    assert messages == {"Failed to authenticate."}  # PocketBase's words
    assert wrong_password.data == unknown.data == other_collection.data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "secret secret"}, "identity"),
        ({"identity": "", "password": "secret secret"}, "identity"),
        ({"identity": "   ", "password": "secret secret"}, "identity"),
        ({"identity": 42, "password": "secret secret"}, "identity"),
        ({"identity": "shopper@example.com"}, "password"),
        ({"identity": "shopper@example.com", "password": ""}, "password"),
        ({"identity": "shopper@example.com", "password": ["x"]}, "password"),
        ({"identity": "shopper@example.com", "password": "x", "remember": True}, "remember"),
    ],
)
def test_missing_fields_are_400_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = with_password(client, body)
    assert_error(response, 400, VALIDATION_FAILED, fields={field})
    expected = (
        "validation_unknown_field"
        if field == "remember"
        else ("validation_required", "validation_invalid_value")
    )
    assert response.get_json()["data"][field]["code"] in expected


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ('["identity", "password"]', "application/json"),
        ('"a string"', "application/json"),
        ("null", "application/json"),
        ('{"identity": "a@example.com", "password": "x"}', "text/plain"),
        ("identity=a%40example.com&password=x", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed", "empty", "array", "string", "null", "text-plain", "form"],
)
def test_unreadable_bodies_are_400(client: FlaskClient, data: str, content_type: str) -> None:
    response = client.post("/api/collections/users/auth-with-password", data=data, content_type=content_type)
    assert_error(response, 400, "The request body must be a JSON object.")


def test_auth_with_password_unknown_collection_is_404(client: FlaskClient) -> None:
    assert_error(with_password(client, {"identity": "a@example.com", "password": "x"}, "admins"), 404)


def test_oversized_body_is_413_json(client: FlaskClient) -> None:
    response = client.post(
        "/api/collections/users/auth-with-password",
        data='{"identity": "' + "x" * (2 * 1024 * 1024) + '"}',
        content_type="application/json",
    )
    assert_error(response, 413)


class TestLoginRateLimit:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}

    def test_password_attempts_are_limited(self, app: Flask, client: FlaskClient) -> None:
        with app.app_context():
            make_account()
        body = {"identity": "shopper@example.com", "password": "wrong password"}
        assert with_password(client, body).status_code == 400
        assert with_password(client, body).status_code == 400
        response = with_password(client, {"identity": "shopper@example.com", "password": PASSWORD})
        assert_error(response, 429)


# ---------------------------------------------------------------------------------------------------
# auth-refresh


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_auth_refresh_returns_a_new_token_for_the_same_record(client: FlaskClient, collection: str) -> None:
    first = anonymous(client, collection).get_json()
    response = refresh(client, first["token"], collection)
    data = assert_auth_data(response, collection, anonymous=True)

    assert data["token"] != first["token"]
    assert data["record"] == first["record"]
    assert_no_auth_cookie(response)
    # The new token works in turn, and so does the old one until it expires (no rotation on refresh).
    assert refresh(client, data["token"], collection).status_code == 200


def test_auth_refresh_of_a_full_account(app: Flask, client: FlaskClient) -> None:
    token = with_password(client, {"identity": "shopper@example.com", "password": PASSWORD})
    assert token.status_code == 400  # no account yet
    with app.app_context():
        make_account()
    token = with_password(client, {"identity": "shopper@example.com", "password": PASSWORD}).get_json()[
        "token"
    ]
    assert_auth_data(refresh(client, token), "users", anonymous=False)


def _refresh_error(client: FlaskClient, token: str | None, collection: str = "users") -> str:
    return assert_error(refresh(client, token, collection), 401)


@pytest.mark.parametrize("scheme", ["", "Bearer ", "bearer ", "BEARER  "])
def test_auth_refresh_takes_the_token_bare_or_with_bearer(client: FlaskClient, scheme: str) -> None:
    token = anonymous(client).get_json()["token"]
    response = client.post("/api/collections/users/auth-refresh", headers={"Authorization": scheme + token})
    assert_auth_data(response, "users", anonymous=True)


def test_auth_refresh_rejects_invalid_tokens(client: FlaskClient) -> None:
    token = anonymous(client).get_json()["token"]
    for bad in ["garbage", token[:-2] + "xx", token + "x", ""]:
        _refresh_error(client, bad)


def test_auth_refresh_rejects_an_expired_token(app: Flask, client: FlaskClient) -> None:
    record_id = anonymous(client).get_json()["record"]["id"]
    with app.app_context():
        expired = issue_token(db.session.get_one(AuthRecord, record_id), lifetime=timedelta(seconds=-1))
    assert "expired" in _refresh_error(client, expired)


def test_auth_refresh_rejects_a_revoked_token(app: Flask, client: FlaskClient) -> None:
    data = anonymous(client).get_json()
    with app.app_context():
        record = db.session.get_one(AuthRecord, data["record"]["id"])
        record.rotate_token_key()
        db.session.commit()
    _refresh_error(client, data["token"])


def test_auth_refresh_rejects_a_deleted_record(app: Flask, client: FlaskClient) -> None:
    data = anonymous(client).get_json()
    with app.app_context():
        db.session.delete(db.session.get_one(AuthRecord, data["record"]["id"]))
        db.session.commit()
    _refresh_error(client, data["token"])


def test_auth_refresh_of_a_token_of_another_collection_is_403(client: FlaskClient) -> None:
    token = anonymous(client, "users").get_json()["token"]
    message = assert_error(refresh(client, token, "customers"), 403)
    assert message == "The request requires auth record from customers collection."


def test_auth_refresh_unknown_collection_is_404(client: FlaskClient) -> None:
    token = anonymous(client).get_json()["token"]
    assert_error(refresh(client, token, "admins"), 404)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "bearer"],
)
def test_auth_refresh_needs_a_token(client: FlaskClient, header: str | None) -> None:
    token = anonymous(client).get_json()["token"]
    headers = {"Authorization": header} if header is not None else {}
    response = client.post("/api/collections/users/auth-refresh", headers=headers)
    assert_error(response, 401)
    # The token itself is fine with the right header.
    assert refresh(client, token).status_code == 200


def test_bearer_scheme_is_case_insensitive(client: FlaskClient) -> None:
    token = anonymous(client).get_json()["token"]
    response = client.post(
        "/api/collections/users/auth-refresh", headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 200


def test_the_api_ignores_the_auth_cookie(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        record = make_account()
        token = issue_token(record)
    client.set_cookie(AUTH_COOKIE, token)
    response = client.post("/api/collections/users/auth-refresh")
    assert_error(response, 401)
    assert_no_auth_cookie(response)


def test_the_api_never_clears_an_invalid_cookie(client: FlaskClient) -> None:
    client.set_cookie(AUTH_COOKIE, "not-a-token")
    for response in [anonymous(client), client.get("/api/health"), refresh(client, "garbage")]:
        assert_no_auth_cookie(response)


# ---------------------------------------------------------------------------------------------------
# health, errors, CSRF


def test_health(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"message": "API is healthy.", "code": 200, "data": {}}
    assert_no_auth_cookie(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/no-such-endpoint", 404),
        ("GET", "/api/collections/users/nothing-here", 404),
        ("GET", "/api/collections/users/auth-anonymous", 405),
        ("POST", "/api/health", 405),
    ],
)
def test_every_api_error_is_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    assert_error(client.open(path, method=method), status)


def test_api_responses_never_set_cookies(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_account()
    token = anonymous(client).get_json()["token"]
    responses = [
        anonymous(client),
        with_password(client, {"identity": "shopper@example.com", "password": PASSWORD}),
        with_password(client, {"identity": "shopper@example.com", "password": "wrong password"}),
        refresh(client, token),
        refresh(client, "garbage"),
        client.get("/api/health"),
    ]
    for response in responses:
        assert response.headers.getlist("Set-Cookie") == []


class TestWithCsrfProtection:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_api_needs_no_csrf_token(self, app: Flask, client: FlaskClient) -> None:
        with app.app_context():
            make_account()
        data = assert_auth_data(anonymous(client), "users", anonymous=True)
        body = {"identity": "shopper@example.com", "password": PASSWORD}
        assert_auth_data(with_password(client, body), "users", anonymous=False)
        assert refresh(client, data["token"]).status_code == 200

    def test_html_forms_of_the_same_app_still_need_one(self, client: FlaskClient) -> None:
        response = client.post("/login", data={"email": "shopper@example.com", "password": PASSWORD})
        assert response.status_code == 400
        assert set_cookies(response.headers.getlist("Set-Cookie")) == []


def test_auth_refresh_counts_as_activity(app: Flask, client: FlaskClient) -> None:
    """An API-only guest that keeps refreshing must not look inactive to the cleanup."""
    data = anonymous(client).get_json()
    long_ago = utcnow() - timedelta(days=40)
    with app.app_context():
        record = db.session.get_one(AuthRecord, data["record"]["id"])
        record.last_active_at = long_ago
        db.session.commit()
        updated = as_utc(record.updated)

    assert refresh(client, data["token"]).status_code == 200

    with app.app_context():
        record = db.session.get_one(AuthRecord, data["record"]["id"])
        assert utcnow() - as_utc(record.last_active_at) < timedelta(minutes=1)
        assert as_utc(record.updated) == updated  # activity is not an edit
