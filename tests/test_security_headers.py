"""Headers every response carries, and the ``next`` redirect check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from storefront import create_app
from storefront.security import CONTENT_SECURITY_POLICY
from storefront.security import safe_next

from .conftest import sign_in


def _directives(policy: str) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1]
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


def assert_hardened(response: TestResponse) -> None:
    headers = response.headers
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/cart", "/checkout"])
def test_html_pages_are_hardened(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_hardened(response)


def test_product_page_is_hardened(client: FlaskClient, products: list[int]) -> None:
    response = client.get(f"/products/{products[0]}")
    assert response.status_code == 200
    assert_hardened(response)


def test_error_pages_are_hardened(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_hardened(response)


def test_redirects_are_hardened(client: FlaskClient, account: str) -> None:
    response = sign_in(client)
    assert response.status_code == 302
    assert_hardened(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/health", 200),
        ("POST", "/api/collections/users/auth-anonymous", 200),
        ("POST", "/api/collections/nope/auth-anonymous", 404),
        ("POST", "/api/collections/users/auth-refresh", 401),
        ("GET", "/api/nothing-here", 404),
    ],
)
def test_api_responses_are_hardened(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert_hardened(response)


def test_static_files_are_hardened(client: FlaskClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert_hardened(response)
    response.close()


def test_pages_need_no_inline_script_or_style(client: FlaskClient, products: list[int]) -> None:
    """The policy allows no inline code, so the pages must not rely on any."""
    client.post("/cart/add", data={"product_id": products[0], "quantity": 1})
    for path in ["/", "/login", "/account/upgrade", "/cart", "/checkout", f"/products/{products[0]}"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.data.decode()
        # A JSON-LD block is data the browser never runs (the product page's schema.org Product).
        assert not re.search(r'<script(?![^>]*\b(src=|type="application/ld\+json"))[^>]*>', html), path
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), path


def test_the_policy_is_the_documented_one(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_no_hsts_by_default(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://localhost").headers


class TestHsts:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"HSTS": "max-age=31536000; includeSubDomains"}

    def test_hsts_on_https_responses(self, client: FlaskClient) -> None:
        for path, status in [("/", 200), ("/api/health", 200), ("/no-such-page", 404)]:
            response = client.get(path, base_url="https://localhost")
            assert response.status_code == status, path
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"

    def test_no_hsts_over_plain_http(self, client: FlaskClient) -> None:
        # Browsers ignore it there (RFC 6797 8.1), and a demo on http://localhost must stay reachable.
        assert "Strict-Transport-Security" not in client.get("/").headers


def test_production_sends_a_year_of_hsts_behind_its_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "a-production-secret-key-from-the-environment")
    monkeypatch.setenv("STOREFRONT_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    app = create_app(None)
    response = app.test_client().get("/api/health", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    max_age = re.search(r"max-age=(\d+)", hsts)
    assert max_age is not None and int(max_age.group(1)) >= 365 * 24 * 3600
    assert "includeSubDomains" in hsts


# ---------------------------------------------------------------------------------------------------
# safe_next


UNSAFE = [
    # absolute and scheme-relative URLs
    "https://evil.example/",
    "http://evil.example/cart",
    "HTTPS://EVIL.EXAMPLE",
    "ftp://evil.example",
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "////evil.example",
    # backslashes, which browsers read as slashes
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/cart\\..\\..\\evil",
    # schemes
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "http:/evil.example",
    "http:evil.example",
    "mailto:someone@evil.example",
    # control characters: browsers drop tabs and newlines, so "/\t/evil" becomes "//evil"
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/cart\x00",
    "/cart\x7f",
    "/\x1b/evil.example",
    # leading space or nothing
    " /cart",
    " //evil.example",
    "",
    # relative paths and bare hosts
    "evil.example",
    "cart",
    "./cart",
    "?next=/cart",
    "#top",
    # too long
    "/" + "a" * 2001,
]

SAFE = [
    "/",
    "/cart",
    "/checkout",
    "/products/3",
    "/orders/SF-2345-ABCD?print=1",
    "/cart?next=/checkout&x=1",
    "/search?q=https://example.com",
    "/account#orders",
    "/%2F%2Fevil.example",  # encoded: stays a path on this site
    "/caf%C3%A9",
    "/a/b/../c",
    "/@evil.example",
]


@pytest.mark.parametrize("target", UNSAFE)
def test_safe_next_refuses(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", SAFE)
def test_safe_next_keeps_paths_of_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [None, 42, b"/cart", ["/cart"], {"/cart": 1}])
def test_safe_next_refuses_non_strings(target: object) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_login_redirect_stays_on_this_site(client: FlaskClient, account: str, target: str) -> None:
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "shopper@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert response.location == "/"


def test_login_redirect_follows_a_path_of_this_site(client: FlaskClient, account: str) -> None:
    response = client.post(
        "/login",
        query_string={"next": "/cart?x=1"},
        data={"email": "shopper@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert response.location == "/cart?x=1"
