"""The records API of the auth collections and the mailed flows: the caller's own record only, no
account enumeration, links from SITE_URL, password reset codes that work once and expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from storefront.auth.models import AuthRecord
from storefront.auth.password_reset import RESET_TYPE
from storefront.auth.passwords import verify_password
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.mail import OutboxMessage

from .factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def anonymous_auth(client: FlaskClient, collection: str = "users") -> dict[str, Any]:
    data: dict[str, Any] = client.post(f"/api/collections/{collection}/auth-anonymous").get_json()
    return data


def password_auth(client: FlaskClient, email: str = "shopper@example.com", password: str = PASSWORD) -> Any:
    body = {"identity": email, "password": password}
    return client.post("/api/collections/users/auth-with-password", json=body).get_json()


def field_codes(response: TestResponse) -> dict[str, str]:
    data = response.get_json()
    assert set(data) == {"status", "message", "data"}
    return {field: error["code"] for field, error in data["data"].items()}


def outbox() -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_create_then_sign_in(app: Flask, client: FlaskClient) -> None:
    body = {"email": "New@Example.com ", "password": PASSWORD, "passwordConfirm": PASSWORD}
    response = client.post("/api/collections/customers/records", json=body)
    assert response.status_code == 200
    record = response.get_json()
    assert record["email"] == "new@example.com" and record["collectionName"] == "customers"
    assert record["isAnonymous"] is False and record["verified"] is False
    assert response.headers.getlist("Set-Cookie") == []
    body = {"identity": "new@example.com", "password": PASSWORD}
    signed_in = client.post("/api/collections/customers/auth-with-password", json=body)
    assert signed_in.get_json()["record"]["id"] == record["id"]
    with app.app_context():
        stored = db.session.get_one(AuthRecord, record["id"])
        assert stored.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"email": "validation_required", "password": "validation_required"}),
        (
            {"email": "nope", "password": PASSWORD, "passwordConfirm": PASSWORD},
            {"email": "validation_is_email"},
        ),
        (
            {"email": "a@example.com", "password": "short", "passwordConfirm": "short"},
            {"password": "validation_length_out_of_range"},
        ),
        (
            {"email": "a@example.com", "password": PASSWORD, "passwordConfirm": "x"},
            {"passwordConfirm": "validation_values_mismatch"},
        ),
        (
            {"email": "shopper@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD},
            {"email": "validation_not_unique"},
        ),
        (
            {"email": "a@anonymous.invalid", "password": PASSWORD, "passwordConfirm": PASSWORD},
            {"email": "validation_is_email"},
        ),
        (
            {"email": ["a@example.com"], "password": PASSWORD, "passwordConfirm": PASSWORD},
            {"email": "validation_invalid_value"},
        ),
        (
            {"email": "a@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD, "verified": True},
            {"verified": "validation_unknown_field"},
        ),
        (
            {
                "email": "a@example.com",
                "password": PASSWORD,
                "passwordConfirm": PASSWORD,
                "emailVisibility": True,
            },
            {"emailVisibility": "validation_values_mismatch"},
        ),
    ],
)
def test_create_refuses_bad_input_naming_each_field(
    app: Flask, client: FlaskClient, account: str, body: dict[str, Any], expected: dict[str, str]
) -> None:
    response = client.post("/api/collections/users/records", json=body)
    assert response.status_code == 400
    assert expected.items() <= field_codes(response).items()
    with app.app_context():
        assert db.session.execute(select(AuthRecord.id)).scalars().all() == [account]


class TestCreateIsRateLimited:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}

    def test_like_registration(self, client: FlaskClient) -> None:
        for attempt in range(2):
            body = {"email": f"n{attempt}@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD}
            assert client.post("/api/collections/users/records", json=body).status_code == 200
        body = {"email": "n3@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD}
        response = client.post("/api/collections/users/records", json=body)
        assert response.status_code == 429 and response.get_json()["status"] == 429


def test_only_the_callers_own_record(client: FlaskClient, account: str) -> None:
    token = password_auth(client)["token"]
    guest = anonymous_auth(client)
    own = client.get(f"/api/collections/users/records/{account}", headers={"Authorization": token})
    assert own.status_code == 200 and own.get_json()["id"] == account
    for headers, path in [
        ({"Authorization": token}, f"/api/collections/users/records/{guest['record']['id']}"),
        ({"Authorization": guest["token"]}, f"/api/collections/users/records/{account}"),
        ({}, f"/api/collections/users/records/{account}"),
        ({"Authorization": "garbage"}, f"/api/collections/users/records/{account}"),
        ({"Authorization": token}, f"/api/collections/customers/records/{account}"),
    ]:
        assert client.get(path, headers=headers).status_code == 404, (headers, path)
        patched = client.patch(path, headers=headers, json={"email": "taken-over@example.com"})
        assert patched.status_code == 404, (headers, path)
    listing = client.get("/api/collections/users/records", headers={"Authorization": token}).get_json()
    assert [item["id"] for item in listing["items"]] == [account]
    assert client.get("/api/collections/users/records").get_json()["items"] == []
    assert client.get("/api/collections/admins/records").status_code == 404


def test_a_guest_upgrades_by_patching_its_own_record(app: Flask, client: FlaskClient) -> None:
    guest = anonymous_auth(client, "customers")
    path = f"/api/collections/customers/records/{guest['record']['id']}"
    headers = {"Authorization": guest["token"]}
    body = {"email": "me@example.com", "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
    response = client.patch(path, headers={**headers, "Host": "evil.example"}, json=body)
    assert response.status_code == 200, response.get_json()
    record = response.get_json()
    assert record["id"] == guest["record"]["id"] and record["isAnonymous"] is False
    assert response.headers.getlist("Set-Cookie") == []
    # The guest's token died with the upgrade (token key rotated); the new password signs in.
    assert client.post("/api/collections/customers/auth-refresh", headers=headers).status_code == 401
    with app.app_context():
        (message,) = outbox()
        assert message.recipient == "me@example.com"
        assert "https://shop.test/account/verify/" in message.body  # SITE_URL, never the Host
        assert "evil.example" not in message.body


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"SITE_URL": "https://shop.test"}


def test_a_guest_upgrade_needs_all_three_fields(app: Flask, client: FlaskClient) -> None:
    guest = anonymous_auth(client)
    path = f"/api/collections/users/records/{guest['record']['id']}"
    response = client.patch(path, headers={"Authorization": guest["token"]}, json={"email": "me@example.com"})
    assert response.status_code == 400
    assert field_codes(response) == {
        "password": "validation_required",
        "passwordConfirm": "validation_required",
    }
    with app.app_context():
        assert db.session.get_one(AuthRecord, guest["record"]["id"]).is_anonymous is True


def test_a_full_account_changes_its_password_with_the_old_one(
    app: Flask, client: FlaskClient, account: str
) -> None:
    token = password_auth(client)["token"]
    path = f"/api/collections/users/records/{account}"
    headers = {"Authorization": token}
    no_old = client.patch(
        path, headers=headers, json={"password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
    )
    assert field_codes(no_old) == {"oldPassword": "validation_required"}
    email = client.patch(path, headers=headers, json={"email": "other@example.com"})
    assert field_codes(email) == {"email": "validation_values_mismatch"}
    body = {"oldPassword": PASSWORD, "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
    assert client.patch(path, headers=headers, json=body).status_code == 200
    with app.app_context():
        stored = db.session.get_one(AuthRecord, account)
        assert stored.email == "shopper@example.com" and verify_password(stored.password_hash, NEW_PASSWORD)
    assert client.get(path, headers=headers).status_code == 404  # the old token died


def test_verification_requests_do_not_tell_whether_an_account_exists(
    app: Flask, client: FlaskClient, account: str
) -> None:
    known = client.post("/api/collections/users/request-verification", json={"email": "shopper@example.com"})
    unknown = client.post("/api/collections/users/request-verification", json={"email": "nobody@example.com"})
    other = client.post(
        "/api/collections/customers/request-verification", json={"email": "shopper@example.com"}
    )
    assert known.status_code == unknown.status_code == other.status_code == 204
    assert known.data == unknown.data == b""
    with app.app_context():
        (message,) = outbox()
        assert message.recipient == "shopper@example.com"
        token = message.body.split("https://shop.test/account/verify/", 1)[1].split()[0]
    wrong = client.post("/api/collections/customers/confirm-verification", json={"token": token})
    assert field_codes(wrong) == {"token": "validation_token_collection_mismatch"}
    assert (
        client.post("/api/collections/users/confirm-verification", json={"token": token}).status_code == 204
    )
    with app.app_context():
        assert db.session.get_one(AuthRecord, account).verified is True
    bad = client.post("/api/collections/users/request-verification", json={"email": "not an address"})
    assert field_codes(bad) == {"email": "validation_is_email"}


def _reset_code(app: Flask) -> str:
    with app.app_context():
        message = outbox()[-1]
        assert message.subject == "Reset your password"
        lines = message.body.splitlines()
        return next(line for line in lines if line.count(".") == 2 and " " not in line and "://" not in line)


def test_password_reset_works_once_and_ends_every_session(
    app: Flask, client: FlaskClient, account: str
) -> None:
    old_token = password_auth(client)["token"]
    for email in ["shopper@example.com", "nobody@example.com"]:
        response = client.post("/api/collections/users/request-password-reset", json={"email": email})
        assert response.status_code == 204 and response.data == b""
    with app.app_context():
        assert [message.recipient for message in outbox()] == ["shopper@example.com"]
    code = _reset_code(app)
    body = {"token": code, "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
    assert client.post("/api/collections/customers/confirm-password-reset", json=body).status_code == 400
    assert client.post("/api/collections/users/confirm-password-reset", json=body).status_code == 204
    again = client.post("/api/collections/users/confirm-password-reset", json=body)
    assert field_codes(again) == {"token": "validation_invalid_token"}
    refresh = client.post("/api/collections/users/auth-refresh", headers={"Authorization": old_token})
    assert refresh.status_code == 401
    assert password_auth(client, password=NEW_PASSWORD)["record"]["id"] == account
    with app.app_context():
        stored = db.session.get_one(AuthRecord, account)
        assert stored.password_hash.startswith("$argon2id$") and stored.verified is True


def test_an_expired_or_forged_reset_code_is_refused(app: Flask, client: FlaskClient, account: str) -> None:
    with app.app_context():
        record = db.session.get_one(AuthRecord, account)
        expired = issue_token(
            record, RESET_TYPE, lifetime=timedelta(seconds=-1), extra={"email": record.email}
        )
        wrong_kind = issue_token(record, "verification", extra={"email": record.email})
        auth_token = issue_token(record)
    for code in [expired, wrong_kind, auth_token, "garbage"]:
        body = {"token": code, "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
        response = client.post("/api/collections/users/confirm-password-reset", json=body)
        assert field_codes(response) == {"token": "validation_invalid_token"}, code
    with app.app_context():
        assert verify_password(db.session.get_one(AuthRecord, account).password_hash, PASSWORD)


def test_a_short_new_password_keeps_the_code_usable(app: Flask, client: FlaskClient, account: str) -> None:
    client.post("/api/collections/users/request-password-reset", json={"email": "shopper@example.com"})
    code = _reset_code(app)
    short = {"token": code, "password": "short", "passwordConfirm": "short"}
    assert field_codes(client.post("/api/collections/users/confirm-password-reset", json=short)) == {
        "password": "validation_length_out_of_range"
    }
    body = {"token": code, "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD}
    assert client.post("/api/collections/users/confirm-password-reset", json=body).status_code == 204


def test_guests_get_no_reset_mail(app: Flask, client: FlaskClient) -> None:
    """A guest's generated address is on a domain nobody can own: refused as an address, for anyone."""
    email = anonymous_auth(client)["record"]["email"]
    response = client.post("/api/collections/users/request-password-reset", json={"email": email})
    assert field_codes(response) == {"email": "validation_is_email"}
    with app.app_context():
        assert outbox() == []
