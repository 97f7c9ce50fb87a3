"""Anti-automation (ASVS 2.4.1, 6.3.1): anonymous record creation and password attempts are limited
per client address, with a 429 in JSON and a clear page in HTML."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from storefront.auth import sign_in_anonymously
from storefront.auth.errors import RateLimited
from storefront.extensions import limiter

from .auth_helpers import count_records
from .auth_helpers import set_cookies
from .conftest import sign_in
from .factories import PASSWORD

ALICE = {"REMOTE_ADDR": "198.51.100.1"}
BOB = {"REMOTE_ADDR": "198.51.100.2"}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "RATELIMIT_ENABLED": True,
        "ANONYMOUS_RATE_LIMIT": "2 per hour",
        "LOGIN_RATE_LIMIT": "3 per minute",
    }


def anonymous(client: FlaskClient, address: dict[str, str], collection: str = "users") -> TestResponse:
    return client.post(f"/api/collections/{collection}/auth-anonymous", environ_base=address)


def records(app: Flask) -> int:
    with app.app_context():
        return count_records()


def test_each_client_address_has_its_own_budget(app: Flask, client: FlaskClient) -> None:
    assert [anonymous(client, ALICE).status_code for _ in range(2)] == [200, 200]
    assert anonymous(client, ALICE).status_code == 429
    # Bob is not held back by Alice's use of the endpoint.
    assert [anonymous(client, BOB).status_code for _ in range(2)] == [200, 200]
    assert anonymous(client, BOB).status_code == 429
    assert records(app) == 4


def test_the_budget_covers_every_collection(app: Flask, client: FlaskClient) -> None:
    assert anonymous(client, ALICE, "users").status_code == 200
    assert anonymous(client, ALICE, "customers").status_code == 200
    assert anonymous(client, ALICE, "customers").status_code == 429
    assert records(app) == 2


def test_the_api_answers_429_in_json(client: FlaskClient) -> None:
    anonymous(client, ALICE)
    anonymous(client, ALICE)
    response = anonymous(client, ALICE)
    assert response.status_code == 429
    assert response.get_json() == {
        "status": 429,
        "message": "Too many new accounts from your network. Please try again later.",
        "data": {},
    }


def test_the_limit_is_a_setting(app: Flask, client: FlaskClient) -> None:
    app.config["ANONYMOUS_RATE_LIMIT"] = "1 per hour"
    assert anonymous(client, ALICE).status_code == 200
    assert anonymous(client, ALICE).status_code == 429


def test_the_service_raises_rate_limited_in_a_request(app: Flask) -> None:
    with app.app_context():
        for _ in range(2):
            with app.test_request_context("/", environ_base=ALICE):
                sign_in_anonymously()
        with app.test_request_context("/", environ_base=ALICE), pytest.raises(RateLimited) as caught:
            sign_in_anonymously()
        assert caught.value.status == 429
        assert count_records() == 2


def test_scripts_outside_a_request_are_not_limited(app: Flask) -> None:
    with app.app_context():
        for _ in range(3):
            sign_in_anonymously()
        assert count_records() == 3


def test_lazy_add_to_cart_explains_the_limit(app: Flask, client: FlaskClient, products: list[int]) -> None:
    anonymous(client, ALICE)
    anonymous(client, ALICE)

    response = client.post("/cart/add", data={"product_id": products[0], "quantity": 1}, environ_base=ALICE)
    assert response.status_code == 302
    assert set_cookies(response.headers.getlist("Set-Cookie")) == []
    page = client.get(response.location, environ_base=ALICE)
    expected = "We couldn&#39;t start a cart for you: Too many new accounts from your network."
    assert expected.encode() in page.data
    assert records(app) == 2


def test_guest_checkout_shows_a_429_page(app: Flask, client: FlaskClient) -> None:
    anonymous(client, ALICE)
    anonymous(client, ALICE)

    response = client.post("/checkout", data={"action": "guest-checkout"}, environ_base=ALICE)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert b"Failed to create guest account: Too many new accounts from your network." in response.data
    assert records(app) == 2


def test_login_attempts_are_limited(client: FlaskClient, account: str) -> None:
    for _ in range(3):
        assert sign_in(client, password="wrong password").status_code == 400
    response = sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert b"Too many requests" in response.data
    assert set_cookies(response.headers.getlist("Set-Cookie")) == []


def test_login_limit_is_per_address(client: FlaskClient, account: str) -> None:
    for _ in range(3):
        client.post("/login", data={"email": "a@example.com", "password": "x"}, environ_base=ALICE)
    blocked = client.post(
        "/login", data={"email": "shopper@example.com", "password": PASSWORD}, environ_base=ALICE
    )
    assert blocked.status_code == 429
    allowed = client.post(
        "/login", data={"email": "shopper@example.com", "password": PASSWORD}, environ_base=BOB
    )
    assert allowed.status_code == 302


def test_login_page_itself_is_not_limited(client: FlaskClient) -> None:
    assert all(client.get("/login").status_code == 200 for _ in range(5))


def test_api_password_attempts_are_limited(client: FlaskClient, account: str) -> None:
    body = {"identity": "shopper@example.com", "password": "wrong password"}
    for _ in range(3):
        assert client.post("/api/collections/users/auth-with-password", json=body).status_code == 400
    response = client.post("/api/collections/users/auth-with-password", json=body)
    assert response.status_code == 429
    assert response.get_json()["status"] == 429


class TestBehindAProxy:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "ANONYMOUS_RATE_LIMIT": "1 per hour", "PROXY_FIX_X_FOR": 1}

    def test_the_client_address_comes_from_the_trusted_proxy(self, client: FlaskClient) -> None:
        proxy = {"REMOTE_ADDR": "10.0.0.1"}

        def via_proxy(client_address: str) -> int:
            response = client.post(
                "/api/collections/users/auth-anonymous",
                environ_base=proxy,
                headers={"X-Forwarded-For": client_address},
            )
            return response.status_code

        assert via_proxy("203.0.113.1") == 200
        assert via_proxy("203.0.113.1") == 429
        assert via_proxy("203.0.113.2") == 200  # another shopper behind the same proxy
        # A client cannot get a new budget by sending its own X-Forwarded-For: only the last hop,
        # the one the trusted proxy added, counts.
        forged = client.post(
            "/api/collections/users/auth-anonymous",
            environ_base=proxy,
            headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.1"},
        )
        assert forged.status_code == 429


class _StorageDown:
    def hit(self, *args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")


@pytest.fixture
def storage_down(monkeypatch: pytest.MonkeyPatch, app: Flask) -> None:
    """The limiter's storage (Redis in production) stops answering."""
    monkeypatch.setattr(type(limiter), "limiter", property(lambda self: _StorageDown()))


@pytest.mark.usefixtures("storage_down")
def test_unreachable_limit_storage_is_a_clear_503_not_a_crash(app: Flask, client: FlaskClient) -> None:
    response = anonymous(client, ALICE)
    assert response.status_code == 503
    assert response.get_json() == {
        "status": 503,
        "message": "We could not save your account just now. Please try again in a moment.",
        "data": {},
    }
    assert records(app) == 0


@pytest.mark.usefixtures("storage_down")
def test_unreachable_limit_storage_on_add_to_cart_is_explained(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    response = client.post("/cart/add", data={"product_id": products[0], "quantity": 1}, environ_base=ALICE)
    assert response.status_code == 302
    page = client.get(response.location, environ_base=ALICE)
    assert b"We couldn&#39;t start a cart for you: We could not save your account just now." in page.data
    assert records(app) == 0


@pytest.mark.usefixtures("storage_down")
def test_swallow_errors_lets_anonymous_sign_in_through(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    assert anonymous(client, ALICE).status_code == 200
    assert records(app) == 1
    assert "Rate-limit storage failed" in caplog.text


class TestKeyPrefix:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_KEY_PREFIX": "shop-a"}

    def test_the_anonymous_count_honours_the_key_prefix(
        self, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two shops (or a staging and a live shop) sharing one Redis must not share one budget."""
        real_strategy = limiter.limiter
        keys: list[tuple[str, ...]] = []

        class Recorder:
            def hit(self, item: Any, *identifiers: str, **kwargs: Any) -> bool:
                keys.append(identifiers)
                return bool(real_strategy.hit(item, *identifiers, **kwargs))

        monkeypatch.setattr(type(limiter), "limiter", property(lambda self: Recorder()))
        assert anonymous(client, ALICE).status_code == 200
        assert keys == [("shop-a", "anonymous-sign-in", "198.51.100.1")]
