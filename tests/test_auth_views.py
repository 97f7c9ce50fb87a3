"""The sign-in pages through the test client: the smoke journey of a shopper."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.auth.tokens import verify_token

from .auth_helpers import count_records
from .conftest import csrf_token_from
from .factories import AUTH_COOKIE
from .factories import auth_cookie
from .factories import PASSWORD


def _identity(app: Flask, client: FlaskClient) -> Any:
    token = auth_cookie(client)
    if token is None:
        return None
    with app.app_context():
        record = verify_token(token)[0].record
        return (record.id, record.collection, record.is_anonymous)


def test_the_login_page_offers_the_accessible_names(client: FlaskClient) -> None:
    page = client.get("/login").data.decode()
    assert 'for="email"' in page and ">Email<" in page
    assert 'for="password"' in page and ">Password<" in page
    assert ">Sign in</button>" in page
    assert ">Create account</a>" in page


def test_the_register_page_offers_the_accessible_names(client: FlaskClient) -> None:
    page = client.get("/register").data.decode()
    for label in ("Email", "Password", "Confirm password"):
        assert f">{label}<" in page
    assert ">Create account</button>" in page


def test_smoke_journey(app: Flask, client: FlaskClient, account: str, products: list[int]) -> None:
    """Browse, add to cart as a guest, sign in (the cart follows), sign out."""
    home = client.get("/")
    assert home.status_code == 200
    assert b"Add to cart" in home.data
    assert auth_cookie(client) is None
    with app.app_context():
        assert count_records(is_anonymous=True) == 0  # browsing creates nothing (lazy mode)

    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    guest = _identity(app, client)
    assert guest is not None and guest[1:] == ("users", True)
    page = client.get("/cart").data
    assert b"You're shopping as a guest" in page
    assert b"Mug" in page

    response = client.post("/login", data={"email": "shopper@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert _identity(app, client) == (account, "users", False)
    page = client.get("/cart").data
    assert b"Mug" in page  # the guest cart came along
    assert b"shopping as a guest" not in page
    assert b"Sign out" in page

    response = client.post("/logout")
    assert response.status_code == 302
    assert auth_cookie(client) is None
    page = client.get("/").data
    assert b"Sign out" not in page


def test_wrong_credentials_keep_the_visitor_signed_out(client: FlaskClient, account: str) -> None:
    for email, password in [("shopper@example.com", "wrong password"), ("nobody@example.com", PASSWORD)]:
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 400
        assert b"The email or password is not correct." in response.data
        assert auth_cookie(client) is None


def test_a_signed_in_account_is_sent_on_from_the_login_page(client: FlaskClient, account: str) -> None:
    client.post("/login", data={"email": "shopper@example.com", "password": PASSWORD})
    response = client.get("/login")
    assert response.status_code == 302


def test_register_creates_an_argon2_account_and_signs_in(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/register", data={"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 302
    identity = _identity(app, client)
    assert identity is not None and identity[1:] == ("users", False)
    with app.app_context():
        record = verify_token(auth_cookie(client) or "")[0].record
        assert record.email == "new@example.com"
        assert record.password_hash.startswith("$argon2id$")


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_login_without_a_csrf_token_is_refused(self, client: FlaskClient, account: str) -> None:
        response = client.post("/login", data={"email": "shopper@example.com", "password": PASSWORD})
        assert response.status_code == 400
        assert client.get_cookie(AUTH_COOKIE) is None

    def test_login_with_the_page_token_works(self, client: FlaskClient, account: str) -> None:
        token = csrf_token_from(client.get("/login").data)
        response = client.post(
            "/login", data={"email": "shopper@example.com", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        assert auth_cookie(client)

    def test_no_get_signs_anyone_in_or_out(self, client: FlaskClient, account: str) -> None:
        token = csrf_token_from(client.get("/login").data)
        client.post(
            "/login", data={"email": "shopper@example.com", "password": PASSWORD, "csrf_token": token}
        )
        before = auth_cookie(client)
        for path in ["/logout", "/login", "/register", "/"]:
            client.get(path)
        assert auth_cookie(client) == before
