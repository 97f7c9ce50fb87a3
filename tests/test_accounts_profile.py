"""/account and what anonymous records may not do, in pages and in the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask import Response
from flask.testing import FlaskClient
from sqlalchemy import update

from storefront import create_app
from storefront.auth.guards import current_account
from storefront.auth.guards import full_account_required
from storefront.auth.passwords import is_slow_hash
from storefront.extensions import csrf
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop.models import Order

from . import conftest
from .accounts_helpers import flashes
from .accounts_helpers import NEW_PASSWORD
from .accounts_helpers import outbox
from .accounts_helpers import record
from .accounts_helpers import verification_path
from .conftest import sign_in
from .factories import auth_cookie
from .factories import identity_id
from .factories import make_account
from .factories import order_for_record
from .factories import PASSWORD
from .factories import start_guest

ACCOUNT_PAGES = ["/account", "/account/email", "/account/password"]


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_anonymous_records_are_sent_to_upgrade(client: FlaskClient, products: list[int], path: str) -> None:
    start_guest(client, products[0])
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/account/upgrade?next={path}"
    shown = flashes(client.get(response.headers["Location"]).data)
    assert any(text.startswith("Create an account to use that page.") for text in shown)


@pytest.mark.parametrize("path", ["/account/email", "/account/password", "/account/verify/resend"])
def test_anonymous_records_cannot_post_account_changes(
    app: Flask, client: FlaskClient, products: list[int], path: str
) -> None:
    guest_id = start_guest(client, products[0])
    before = record(app, guest_id)
    response = client.post(
        path,
        data={"email": "x@example.com", "current_password": "x", "password": "y" * 9, "confirm": "y" * 9},
    )
    assert response.headers["Location"].startswith("/account/upgrade")
    after = record(app, guest_id)
    assert after is not None and before is not None
    assert (after.email, after.password_hash, after.token_key) == (
        before.email,
        before.password_hash,
        before.token_key,
    )


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_visitors_without_identity_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


def test_sign_in_returns_to_account(client: FlaskClient, account: str) -> None:
    response = client.post(
        "/login?next=/account", data={"email": "shopper@example.com", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_profile_and_order_history(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    first = order_for_record(app, account, products[0])
    second = order_for_record(app, account, products[1], 2)
    # An order of a guest retired into the account, and one of somebody else.
    with app.app_context():
        guest = make_account("guest@anonymous.invalid")
        guest.is_anonymous = True
        guest.merged_into_id = account
        stranger_id = make_account("stranger@example.com").id
        db.session.commit()
        guest_id = guest.id
    merged = order_for_record(app, guest_id, products[0])
    foreign = order_for_record(app, stranger_id, products[0])
    with app.app_context():  # give the orders distinct times: newest first is then well defined
        for hours, number in ((3, first), (2, second), (1, merged)):
            db.session.execute(
                update(Order).where(Order.number == number).values(created=utcnow() - timedelta(hours=hours))
            )
        db.session.commit()

    sign_in(client)
    page = client.get("/account")
    assert page.status_code == 200
    html = page.data.decode()
    assert "shopper@example.com" in html and "(not confirmed yet)" in html
    assert ">Send a new link</button>" in html
    assert foreign not in html
    positions = [html.index(f'<a href="/orders/{number}">{number}</a>') for number in (merged, second, first)]
    assert positions == sorted(positions)
    for number in (first, second, merged):
        assert client.get(f"/orders/{number}").status_code == 200
    assert client.get(f"/orders/{foreign}").status_code == 404


def test_empty_order_history(client: FlaskClient, account: str) -> None:
    sign_in(client)
    assert b"You haven't placed an order yet." in client.get("/account").data


# Change email -----------------------------------------------------------------------------------------


def test_change_email(app: Flask, client: FlaskClient, account: str) -> None:
    sign_in(client)
    old_token = auth_cookie(client)
    page = client.get("/account/email")
    for name in (b">New email<", b">Current password<", b">Change email</button>"):
        assert name in page.data

    response = client.post(
        "/account/email",
        data={"email": "Changed@Example.com", "current_password": PASSWORD},
        follow_redirects=True,
    )
    assert response.request.path == "/account"
    assert "Your email address is changed. You've been signed out on your other devices." in flashes(
        response.data
    )
    changed = record(app, account)
    assert changed is not None
    assert changed.email == "changed@example.com" and changed.verified is False
    # Other devices are signed out; this one got a new cookie and stays signed in.
    refresh = "/api/collections/users/auth-refresh"
    assert client.post(refresh, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert auth_cookie(client) != old_token and identity_id(client) == account
    assert client.get("/account").status_code == 200
    # The new address is asked to confirm.
    assert outbox(app)[-1].recipient == "changed@example.com"
    client.post(verification_path(app))
    assert record(app, account).verified is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        (
            {"email": "new@example.com", "current_password": "wrong password"},
            400,
            b"current password is not correct",
        ),
        ({"email": "not an email", "current_password": PASSWORD}, 400, b"Enter a valid email address."),
        ({"email": "shopper@example.com", "current_password": PASSWORD}, 400, b"already your email address"),
        ({"email": "taken@example.com", "current_password": PASSWORD}, 400, b"Another account already uses"),
        ({"email": "", "current_password": PASSWORD}, 400, b"Enter the new address."),
    ],
    ids=["wrong-password", "bad-email", "same-email", "taken", "empty"],
)
def test_change_email_refusals(
    app: Flask, client: FlaskClient, account: str, form: dict[str, str], status: int, message: bytes
) -> None:
    with app.app_context():
        make_account("taken@example.com", collection="customers")
    sign_in(client)
    before = record(app, account)
    response = client.post("/account/email", data=form)
    assert response.status_code == status
    assert message in response.data
    after = record(app, account)
    assert before is not None and after is not None
    assert (after.email, after.token_key) == (before.email, before.token_key)
    assert outbox(app) == []


# Change password --------------------------------------------------------------------------------------


def test_change_password(app: Flask, client: FlaskClient, account: str) -> None:
    sign_in(client)
    other_device = app.test_client()
    sign_in(other_device)
    old_token = auth_cookie(client)
    page = client.get("/account/password")
    for name in (
        b">Current password<",
        b">New password<",
        b">Confirm new password<",
        b">Change password</button>",
    ):
        assert name in page.data

    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.headers["Location"] == "/account"
    changed = record(app, account)
    assert changed is not None and is_slow_hash(changed.password_hash)
    # This device keeps going with a new cookie; the other one is signed out.
    assert auth_cookie(client) != old_token
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").headers["Location"] == "/login?next=/account"
    refresh = "/api/collections/users/auth-refresh"
    assert client.post(refresh, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    # The new password signs in; the old one does not.
    fresh = app.test_client()
    assert sign_in(fresh, password=PASSWORD).status_code == 400
    assert sign_in(fresh, password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"current_password": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            b"not correct",
        ),
        ({"current_password": PASSWORD, "password": "short", "confirm": "short"}, b"at least 8 characters"),
        ({"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "different"}, b"do not match"),
        (
            {"current_password": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            b"Enter your current password.",
        ),
    ],
    ids=["wrong-password", "short", "mismatch", "empty"],
)
def test_change_password_refusals(
    app: Flask, client: FlaskClient, account: str, form: dict[str, str], message: bytes
) -> None:
    sign_in(client)
    before = record(app, account)
    response = client.post("/account/password", data=form)
    assert response.status_code == 400
    assert message in response.data
    after = record(app, account)
    assert before is not None and after is not None
    assert (after.password_hash, after.token_key) == (before.password_hash, before.token_key)


# The same rule in the JSON API ------------------------------------------------------------------------


def _anonymous_token(client: FlaskClient) -> str:
    token: str = client.post("/api/collections/customers/auth-anonymous").get_json()["token"]
    return token


def _password_token(client: FlaskClient) -> str:
    body = {"identity": "shopper@example.com", "password": PASSWORD}
    token: str = client.post("/api/collections/users/auth-with-password", json=body).get_json()["token"]
    return token


def test_api_order_history_needs_a_full_account(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    number = order_for_record(app, account, products[0], 2)
    missing = client.get("/api/account/orders")
    assert missing.status_code == 401
    assert missing.get_json() == {
        "status": 401,
        "message": "The request requires valid record authorization token.",
        "data": {},
    }
    bad = client.get("/api/account/orders", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401

    anonymous = client.get(
        "/api/account/orders", headers={"Authorization": f"Bearer {_anonymous_token(client)}"}
    )
    assert anonymous.status_code == 403
    assert anonymous.get_json()["status"] == 403
    assert "full account" in anonymous.get_json()["message"]

    response = client.get(
        "/api/account/orders", headers={"Authorization": f"Bearer {_password_token(client)}"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["record"]["id"] == account and body["record"]["isAnonymous"] is False
    assert body["totalItems"] == 1
    (item,) = body["items"]
    assert item["number"] == number and item["items"] == 2 and item["totalCents"] == 3600
    assert item["url"] == f"/orders/{number}"


def test_api_ignores_the_cookie(client: FlaskClient, account: str) -> None:
    sign_in(client)  # a cookie alone is not enough for the API: it only reads the Bearer token
    assert client.get("/api/account/orders").status_code == 401


def test_guard_is_one_line_on_any_api_view(database_uri: str) -> None:
    """The decorator guards a token API view of any blueprint under /api/ with the same rule, and
    the app's JSON error answer serves it without a handler of its own."""
    app = create_app(conftest.make_test_config(database_uri))
    extra = Blueprint("extra_api", __name__, url_prefix="/api/extra")
    csrf.exempt(extra)

    @extra.get("/whoami")
    @full_account_required
    def whoami() -> Response:
        return jsonify(email=current_account().email)

    app.register_blueprint(extra)
    with app.app_context():
        db.create_all()
        make_account()
    try:
        client = app.test_client()
        assert client.get("/api/extra/whoami").status_code == 401
        anonymous = {"Authorization": f"Bearer {_anonymous_token(client)}"}
        assert client.get("/api/extra/whoami", headers=anonymous).status_code == 403
        full = {"Authorization": f"Bearer {_password_token(client)}"}
        assert client.get("/api/extra/whoami", headers=full).get_json() == {"email": "shopper@example.com"}
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()
