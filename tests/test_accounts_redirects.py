"""``next`` only ever leads to a path on this site."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.security import safe_next

from .factories import make_account
from .factories import PASSWORD
from .factories import start_guest

UNSAFE = [
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://evil.example",
    "//evil.example",
    "///evil.example",
    "//evil.example/path?x=/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.example",
    "https:/evil.example",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "",
]
SAFE = ["/", "/cart", "/orders/SF-2345-ABCD?print=1", "/account", "/%2F%2Fevil.example"]


@pytest.mark.parametrize("target", UNSAFE)
def test_safe_next_refuses(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", SAFE)
def test_safe_next_keeps_paths_of_this_site(target: str) -> None:
    assert safe_next(target) == target


def test_safe_next_refuses_non_strings() -> None:
    assert safe_next(None) is None
    assert safe_next(["/cart"]) is None
    assert safe_next("/" + "a" * 3000) is None


def _with_next(path: str, target: str) -> str:
    return f"{path}?next={quote(target, safe='')}"


@pytest.mark.parametrize("target", UNSAFE)
def test_login_never_redirects_off_site(app: Flask, client: FlaskClient, target: str) -> None:
    with app.app_context():
        make_account()
    response = client.post(
        _with_next("/login", target), data={"email": "shopper@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Signed in already: the page sends the visitor on, and still not off site.
    assert client.get(_with_next("/login", target)).headers["Location"] == "/"


@pytest.mark.parametrize("target", UNSAFE)
def test_register_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    form = {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD}
    response = client.post(_with_next("/register", target), data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get(_with_next("/register", target)).headers["Location"] == "/"


@pytest.mark.parametrize("target", UNSAFE)
def test_upgrade_never_redirects_off_site(client: FlaskClient, products: list[int], target: str) -> None:
    start_guest(client, products[0])
    # A guest sent from register to upgrade carries no unsafe next along.
    assert client.get(_with_next("/register", target)).headers["Location"] == "/account/upgrade"
    form = {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD}
    response = client.post(_with_next("/account/upgrade", target), data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("target", ["/cart", "/orders/SF-2345-ABCD?print=1"])
def test_login_and_register_follow_a_path_of_this_site(app: Flask, client: FlaskClient, target: str) -> None:
    with app.app_context():
        make_account()
    login = client.post(
        _with_next("/login", target), data={"email": "shopper@example.com", "password": PASSWORD}
    )
    assert login.headers["Location"] == target
    other = app.test_client()
    form = {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD}
    assert other.post(_with_next("/register", target), data=form).headers["Location"] == target


def test_taken_email_sign_in_link_keeps_only_a_safe_next(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    with app.app_context():
        make_account("new@example.com")
    start_guest(client, products[0])
    form = {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD}
    page = client.post(_with_next("/account/upgrade", "//evil.example"), data=form)
    assert page.status_code == 409
    assert b'href="/login?next=/cart">Sign In</a>' in page.data
    assert b"evil.example" not in page.data
