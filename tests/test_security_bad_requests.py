"""Bad requests get a clear answer, never a server error: bodies over the size limit, bodies of the wrong
type or broken encoding, broken cookies, odd URLs.

Found from the URL map, like ``test_security_routes.py``, so new routes are covered. Malformed JSON,
unknown collections and bad tokens of the API are in ``test_api.py`` and, fuzzed, in
``test_fuzz_inputs.py``; garbage, tampered, expired and revoked auth cookies in
``test_cookie_session.py``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.shop.models import Product

from . import route_helpers
from .accounts_helpers import flashes
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM
from .factories import make_guest
from .proof_helpers import CHECKOUT_KEY
from .proof_helpers import snapshot
from .route_helpers import is_api
from .route_helpers import routes
from .route_helpers import World

TWO_MIB = 2 * 1024 * 1024
ACTIVITY = frozenset({"auth_records.last_active_at"})
world = route_helpers.world


def stored(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        return snapshot(exclude=ACTIVITY)


def as_admin(app: Flask, world: World) -> FlaskClient:
    client = app.test_client()
    with app.app_context():
        client.set_cookie(AUTH_COOKIE, issue_token(db.session.get_one(AuthRecord, world.ids["admin"])))
    return client


# ---------------------------------------------------------------------------------------------------
# The request size limit (MAX_CONTENT_LENGTH, 1 MiB)


OVERSIZED = {
    "form": ("application/x-www-form-urlencoded", b"email=" + b"x" * TWO_MIB),
    "json": ("application/json", b'{"identity": "' + b"x" * TWO_MIB + b'"}'),
    "text": ("text/plain", b"x" * TWO_MIB),
}


def test_every_post_refuses_a_body_over_the_limit(app: Flask, world: World) -> None:
    """Including the routes that never read a body (auth-anonymous, logout): a client must not be able
    to make the server accept any amount of data."""
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    for kind, (content_type, body) in OVERSIZED.items():
        for rule in routes(app, "POST"):
            client = as_admin(app, world)
            before = stored(app)
            response = client.post(world.path(rule), data=body, content_type=content_type)
            where = f"{kind} body to {rule.rule}"
            assert response.status_code == 413, f"{where}: {response.status_code}"
            if is_api(rule):
                assert response.get_json() == {
                    "status": 413,
                    "message": "The request body is too large.",
                    "data": {},
                }
            else:
                assert b"larger than this shop accepts" in response.data, where
            assert stored(app) == before, where


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_size_is_checked_before_the_csrf_token(self, client: FlaskClient) -> None:
        """A body the CSRF check would not read (plain text) is refused for its size all the same."""
        for path in ("/login", "/cart/add", "/logout"):
            response = client.post(path, data=b"x" * TWO_MIB, content_type="text/plain")
            assert response.status_code == 413, path


def test_a_body_just_under_the_limit_is_read(app: Flask, client: FlaskClient) -> None:
    body = b"email=x&password=" + b"y" * (1024 * 1024 - 100)
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400  # read, and refused for what it says (too long a password)
    assert b"password-error" in response.data


# ---------------------------------------------------------------------------------------------------
# Wrong content types and broken encodings on the HTML forms


BAD_BODIES = {
    "json": ("application/json", b'{"email": "shopper@example.com", "product_id": 1}'),
    "text": ("text/plain", b"email=shopper@example.com"),
    "xml": ("application/xml", b"<email>shopper@example.com</email>"),
    "broken multipart": ("multipart/form-data; boundary=nope", b"--wrong\r\nContent-Disposition: x\r\n\r\n"),
    "multipart without boundary": ("multipart/form-data", b"whatever"),
    "not utf-8": ("application/x-www-form-urlencoded", b"email=%ff%fe%00&product_id=%c3%28&quantity=\xff"),
    "no content type": ("", b"email=shopper@example.com"),
}


def test_html_posts_with_the_wrong_content_type_get_a_clear_answer(app: Flask, world: World) -> None:
    for kind, (content_type, body) in BAD_BODIES.items():
        for rule in routes(app, "POST"):
            if is_api(rule):
                continue
            client = as_admin(app, world)
            response = client.post(world.path(rule), data=body, content_type=content_type or None)
            where = f"{kind} body to {rule.rule}: {response.status_code}"
            if kind == "json" and rule.rule == "/account/reset":
                # Flask-WTF reads a JSON body as the form; this one fills the form's only field (an
                # email), so the page answers as it does for the form: the same words for any email.
                assert response.status_code == 200 and b"If an account uses that email" in response.data
                continue
            # A clear refusal, or back to a page that says what happened.
            assert 400 <= response.status_code < 500 or response.status_code in (302, 303), where


def test_a_cart_add_with_a_json_body_says_what_is_missing(app: Flask, client: FlaskClient) -> None:
    response = client.post("/cart/add", json={"product_id": 1})
    assert response.status_code == 302
    messages = flashes(client.get(response.headers["Location"]).data)
    assert messages and "product" in messages[0].lower()
    assert client.get_cookie(AUTH_COOKIE) is None  # no guest record for a request that did nothing


# ---------------------------------------------------------------------------------------------------
# Broken cookies


def _session_cookies(app: Flask) -> dict[str, str]:
    # As Flask signs its session cookie, under another key.
    other_key = URLSafeTimedSerializer(
        "another-secret-key",
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return {
        "garbage": "garbage",
        "empty": "",
        "dots": "...",
        "signed with another key": other_key.dumps({"_user_id": "someone", "csrf_token": "x"}),
        "compressed garbage": ".eJwrSS0uUbBVKMnPzy0oLs7Mz1NIzs8tyUktyQcAhJgJ7A.aaaa.bbbb",
        "overlong": "x" * 5000,
    }


def test_a_broken_session_cookie_is_a_fresh_session(app: Flask, world: World) -> None:
    for kind, value in _session_cookies(app).items():
        for rule in routes(app, "GET"):
            client = as_admin(app, world)
            # Sent as a header: the test client's cookie jar would refuse the overlong one.
            response = client.get(world.path(rule), headers={"Cookie": f"session={value}"})
            assert response.status_code < 500, f"{kind} session cookie, {rule.rule}: {response.status_code}"
            response.close()
        client = app.test_client()
        assert client.get("/", headers={"Cookie": f"session={value}"}).status_code == 200
        # A form still works: the broken session was replaced by a new one.
        response = client.post("/cart/add", data={"product_id": world.samples["product_id"]})
        assert response.status_code == 302, kind
        assert client.get_cookie(AUTH_COOKIE) is not None, kind


BROKEN_TOKENS = {
    "garbage": "garbage",
    "three parts": "a.b.c",
    "overlong": "x" * 5000,
    "alg none": "eyJhbGciOiJub25lIn0.eyJpZCI6IngifQ.",
    # {"id": "\u0000", "type": "auth"}: PostgreSQL refused to look such an id up (a 500).
    "nul id": "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6Ilx1MDAwMCIsInR5cGUiOiJhdXRoIn0.c2ln",
    "latin-1": "\u00e9t\u00e9",
}


def test_a_broken_auth_cookie_means_signed_out_on_every_page(app: Flask, world: World) -> None:
    for kind, value in BROKEN_TOKENS.items():
        for rule in routes(app, "GET"):
            response = app.test_client().get(world.path(rule), headers={"Cookie": f"{AUTH_COOKIE}={value}"})
            assert response.status_code < 500, f"{kind} auth cookie, {rule.rule}: {response.status_code}"
            assert b"Sign out" not in response.data, f"{kind} auth cookie, {rule.rule}"
            response.close()


def test_a_broken_bearer_token_is_a_401(client: FlaskClient) -> None:
    for kind, token in BROKEN_TOKENS.items():
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/collections/users/auth-refresh", headers=headers).status_code == 401, kind
        assert client.get("/api/account/orders", headers=headers).status_code == 401, kind


def test_a_broken_auth_cookie_on_a_post_starts_a_new_guest(app: Flask, products: list[int]) -> None:
    client = app.test_client()
    client.set_cookie(AUTH_COOKIE, "garbage")
    response = client.post("/cart/add", data={"product_id": products[0]})
    assert response.status_code == 302
    cookie = client.get_cookie(AUTH_COOKIE)
    assert cookie is not None and cookie.value != "garbage"


# ---------------------------------------------------------------------------------------------------
# Odd URLs


ODD_URLS = [
    "/products/99999999999999999999",
    "/products/2147483648",
    "/products/-1",
    "/orders/%00",
    "/orders/%ff%fe",
    "/orders/" + "x" * 5000,
    "/account/verify/%00",
    "/account/verify/" + "x" * 5000,
    "/admin/cleanup/runs/99999999999999999999",
    "/api/collections/%00/auth-anonymous",
    "/login?next=%00",
    "/login?next=%ff",
    "/cart?%ff=%fe",
]


def test_odd_urls_get_a_clear_answer(app: Flask, world: World) -> None:
    for method in ("GET", "POST"):
        for path in ODD_URLS:
            before = stored(app)
            response = as_admin(app, world).open(path, method=method)
            where = f"{method} {path[:60]}: {response.status_code}"
            assert response.status_code in (200, 302, 400, 404, 405), where
            assert stored(app) == before, where


def test_a_guest_that_was_deleted_meanwhile_is_signed_out(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    """The cookie of a record a cleanup deleted: signed out, and the next cart action starts afresh."""
    with app.app_context():
        guest = make_guest(collection="users", cart={products[0]: 1}, commit=False)
        db.session.commit()
        client.set_cookie(AUTH_COOKIE, issue_token(guest))
        db.session.delete(guest)
        db.session.commit()
    assert b"Sign out" not in client.get("/cart").data
    assert client.post("/cart/add", data={"product_id": products[1]}).status_code == 302


@pytest.mark.parametrize("key", [None, "", "short", "k" * 65])
def test_a_missing_or_altered_checkout_key_is_explained_and_replaced(
    app: Flask, client: FlaskClient, products: list[int], key: str | None
) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    client.post("/checkout", data={"action": "guest-checkout"})
    contact = {**CONTACT_FORM, **({} if key is None else {"checkout_key": key})}
    response = client.post("/checkout", data=contact)
    assert response.status_code == 400
    assert "This order form was incomplete." in " ".join(flashes(response.data))
    fresh = CHECKOUT_KEY.search(response.data)
    assert fresh is not None
    # The page can be sent again as it is: the order goes through.
    again = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": fresh.group(1).decode()})
    assert again.status_code == 302 and again.headers["Location"].startswith("/orders/")


class TestServerErrors:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"PROPAGATE_EXCEPTIONS": False}  # as in production: the error page, not the traceback

    def test_a_failed_statement_still_gets_the_shops_error_page(
        self, app: Flask, client: FlaskClient, products: list[int]
    ) -> None:
        """A view that dies on a database error leaves the request's transaction broken (PostgreSQL
        refuses every later statement; SQLAlchemy wants a rollback): the error page, which shows the
        visitor's cart, must still render."""

        def broken_view() -> str:
            db.session.add_all([Product(slug="twin", name="A", description=".", price_cents=1, image="a")])
            db.session.add_all([Product(slug="twin", name="B", description=".", price_cents=1, image="b")])
            db.session.flush()  # IntegrityError: the slug is unique
            return "unreachable"

        app.add_url_rule("/broken", view_func=broken_view)
        with app.app_context():
            guest = make_guest(collection="users", cart={products[0]: 1}, commit=False)
            db.session.commit()
            client.set_cookie(AUTH_COOKIE, issue_token(guest))
        response = client.get("/broken")
        assert response.status_code == 500
        assert b"Something went wrong on our side" in response.data
        assert b"Sign out" in response.data  # the page of the visitor, as every page
