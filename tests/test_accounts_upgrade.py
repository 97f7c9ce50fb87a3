"""Upgrade-to-account: a guest becomes a full account and keeps everything."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.auth.passwords import is_slow_hash
from storefront.auth.passwords import verify_password

from .accounts_helpers import cart_of
from .accounts_helpers import flashes
from .accounts_helpers import order_owners
from .accounts_helpers import outbox
from .accounts_helpers import record
from .auth_helpers import count_records
from .conftest import csrf_token_from
from .conftest import sign_in
from .factories import AUTH_COOKIE
from .factories import auth_cookie
from .factories import identity_id
from .factories import make_account
from .factories import order_for_record
from .factories import PASSWORD
from .factories import start_guest

NEW_EMAIL = "new.shopper@example.com"


def upgrade_form(
    email: str = NEW_EMAIL, password: str = PASSWORD, confirm: str | None = None
) -> dict[str, str]:
    return {"email": email, "password": password, "confirm": password if confirm is None else confirm}


@pytest.mark.parametrize("customer", [False, True], ids=["users", "customers"])
def test_upgrade_keeps_id_cart_and_orders(
    app: Flask, client: FlaskClient, products: list[int], customer: bool
) -> None:
    guest_id = start_guest(client, products[0], 2, customer=customer)
    collection = "customers" if customer else "users"
    assert record(app, guest_id).collection == collection  # type: ignore[union-attr]
    number = order_for_record(app, guest_id, products[1])  # the order empties the cart ...
    set_cart_response = client.post("/cart/add", data={"product_id": products[0], "quantity": 3})
    assert set_cart_response.status_code == 302  # ... and the guest starts a new one
    old_token = auth_cookie(client)

    page = client.get("/account/upgrade")
    assert page.status_code == 200
    for name in (b">Email<", b">Password<", b">Confirm password<", b">Create account</button>"):
        assert name in page.data

    response = client.post("/account/upgrade", data=upgrade_form())
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"

    upgraded = record(app, guest_id)
    assert upgraded is not None
    assert upgraded.id == guest_id and upgraded.collection == collection
    assert upgraded.is_anonymous is False
    assert upgraded.verified is False
    assert upgraded.email == NEW_EMAIL and upgraded.username == "new.shopper"
    assert upgraded.upgraded_at is not None
    assert is_slow_hash(upgraded.password_hash)
    with app.app_context():
        assert verify_password(upgraded.password_hash, PASSWORD)
    assert cart_of(app, guest_id) == {products[0]: 3}
    assert order_owners(app) == {number: guest_id}

    # The cookie was replaced at once, and the new one is this same record as a full account.
    new_token = auth_cookie(client)
    assert new_token and new_token != old_token
    assert identity_id(client) == guest_id
    profile = client.get("/account")
    assert profile.status_code == 200
    assert NEW_EMAIL.encode() in profile.data and number.encode() in profile.data
    assert b"You&#39;re shopping as a guest" not in profile.data
    with app.app_context():
        assert count_records() == 1


def test_old_token_is_rejected_after_upgrade(app: Flask, client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    old_token = auth_cookie(client)
    refresh = "/api/collections/users/auth-refresh"
    assert client.post(refresh, headers={"Authorization": f"Bearer {old_token}"}).status_code == 200

    client.post("/account/upgrade", data=upgrade_form())

    rejected = client.post(refresh, headers={"Authorization": f"Bearer {old_token}"})
    assert rejected.status_code == 401
    assert rejected.get_json()["status"] == 401
    accepted = client.post(refresh, headers={"Authorization": f"Bearer {auth_cookie(client)}"})
    assert accepted.status_code == 200
    assert accepted.get_json()["record"]["isAnonymous"] is False

    # A browser still holding the old cookie is signed out, not signed in as the account.
    stale = app.test_client()
    stale.set_cookie(AUTH_COOKIE, str(old_token))
    assert stale.get("/account").headers["Location"].startswith("/login")


def test_upgrade_renews_the_session(app: Flask, products: list[int]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_from(client.get("/").data)
    client.post("/cart/add", data={"product_id": products[0], "csrf_token": token})
    page = client.get("/account/upgrade")
    before = csrf_token_from(page.data)
    response = client.post("/account/upgrade", data={**upgrade_form(), "csrf_token": before})
    assert response.status_code == 302
    # The session was cleared: the CSRF token of the guest's session is gone.
    after = csrf_token_from(client.get("/account").data)
    assert after != before


def test_upgrade_needs_a_csrf_token(app: Flask, products: list[int]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_from(client.get("/").data)
    client.post("/cart/add", data={"product_id": products[0], "csrf_token": token})
    response = client.post("/account/upgrade", data=upgrade_form())
    assert response.status_code == 400
    with app.app_context():
        assert count_records(is_anonymous=True) == 1


def test_upgrade_sends_a_verification_email(app: Flask, client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    response = client.post("/account/upgrade", data=upgrade_form(), follow_redirects=True)
    messages = outbox(app)
    assert len(messages) == 1
    assert messages[0].recipient == NEW_EMAIL
    assert "/account/verify/" in messages[0].body
    assert f"We sent a link to {NEW_EMAIL}. Follow it to confirm your address." in flashes(response.data)


def test_visitor_without_identity_is_sent_to_register(client: FlaskClient) -> None:
    response = client.get("/account/upgrade?next=/cart")
    assert response.status_code == 302
    assert response.headers["Location"] == "/register?next=/cart"


def test_full_account_is_sent_to_account_page(client: FlaskClient, account: str) -> None:
    sign_in(client)
    assert client.get("/account/upgrade").headers["Location"] == "/account"


def test_upgrade_follows_a_safe_next(client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    response = client.post("/account/upgrade?next=/cart", data=upgrade_form())
    assert response.headers["Location"] == "/cart"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (upgrade_form(email="not-an-email"), b"Enter a valid email address."),
        (upgrade_form(password="short"), b"Use a password of at least 8 characters."),
        (upgrade_form(confirm="something else"), b"The passwords do not match."),
        (upgrade_form(email=""), b"Enter your email address."),
        (upgrade_form(email="x@anonymous.invalid"), b"Enter a valid email address."),
    ],
    ids=["bad-email", "short-password", "mismatch", "empty-email", "reserved-domain"],
)
def test_bad_input_is_a_400_with_a_message(
    app: Flask, client: FlaskClient, products: list[int], form: dict[str, str], message: bytes
) -> None:
    guest_id = start_guest(client, products[0])
    response = client.post("/account/upgrade", data=form)
    assert response.status_code == 400
    assert message in response.data
    assert record(app, guest_id).is_anonymous  # type: ignore[union-attr]


def test_configured_guest_domain_is_reserved(app: Flask, client: FlaskClient, products: list[int]) -> None:
    app.config["ANONYMOUS_EMAIL_DOMAIN"] = "guests.example.com"
    start_guest(client, products[0])
    response = client.post("/account/upgrade", data=upgrade_form(email="me@guests.example.com"))
    assert response.status_code == 400
    assert b"reserved for guest accounts" in response.data


@pytest.mark.parametrize("collection", ["users", "customers"])
def test_taken_email_offers_sign_in_and_keeps_the_guest(
    app: Flask, client: FlaskClient, products: list[int], collection: str
) -> None:
    with app.app_context():
        make_account(NEW_EMAIL, collection=collection)
    guest_id = start_guest(client, products[0], 2)

    response = client.post("/account/upgrade", data=upgrade_form())
    assert response.status_code == 409
    html = response.data.decode()
    assert "An account with this email already exists." in html
    assert 'href="/login?next=/cart">Sign In</a>' in html
    # Nothing was lost: the guest, its cookie and its cart are as they were.
    assert identity_id(client) == guest_id
    assert record(app, guest_id).is_anonymous  # type: ignore[union-attr]
    assert cart_of(app, guest_id) == {products[0]: 2}


def test_taken_email_path_ends_in_a_merged_cart(app: Flask, client: FlaskClient, products: list[int]) -> None:
    with app.app_context():
        account_id = make_account(NEW_EMAIL).id
    guest_id = start_guest(client, products[0], 2)
    client.post("/cart/add", data={"product_id": products[1], "quantity": 1})

    page = client.post("/account/upgrade", data=upgrade_form())
    assert b"Sign In" in page.data
    response = client.post(
        "/login?next=/cart", data={"email": NEW_EMAIL, "password": PASSWORD}, follow_redirects=True
    )
    assert response.request.path == "/cart"
    assert identity_id(client) == account_id
    assert cart_of(app, account_id) == {products[0]: 2, products[1]: 1}
    assert record(app, guest_id) is None
    assert "We added 3 items from your guest cart to your account's cart, which now has 3 items." in (
        flashes(response.data)
    )


def test_register_sends_a_guest_to_upgrade(client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    response = client.get("/register?next=/cart")
    assert response.headers["Location"] == "/account/upgrade?next=/cart"
    posted = client.post("/register", data=upgrade_form())
    assert posted.headers["Location"] == "/account/upgrade"


def test_register_for_a_visitor_without_identity(app: Flask, client: FlaskClient) -> None:
    page = client.get("/register")
    assert page.status_code == 200
    response = client.post("/register", data=upgrade_form())
    assert response.status_code == 302
    assert identity_id(client) is not None
    with app.app_context():
        assert count_records(email=NEW_EMAIL, is_anonymous=False) == 1


def test_register_refuses_an_email_of_another_collection(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_account(NEW_EMAIL, collection="customers")
    response = client.post("/register", data=upgrade_form())
    assert response.status_code == 400
    assert b"An account with this email already exists." in response.data


def test_create_account_links_lead_guests_to_upgrade(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    guest_id = start_guest(client, products[0], customer=True)
    number = order_for_record(app, guest_id, products[1])
    for path in ("/", "/cart", f"/orders/{number}", "/login"):
        html = client.get(path).data.decode()
        assert 'href="/account/upgrade' in html, path
        assert 'href="/register' not in html, path


def test_upgrade_page_shows_no_500_for_an_odd_body(client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    odd: dict[str, Any] = {"email": ["a@example.com", "b@example.com"], "password": "x" * 2000, "confirm": ""}
    assert client.post("/account/upgrade", data=odd).status_code == 400


def test_every_mistake_is_shown_at_once(app: Flask, client: FlaskClient, products: list[int]) -> None:
    """The email and password rules of the service run as form validators too, so a shopper who
    gets three fields wrong sees three messages, not one per attempt."""
    guest = start_guest(client, products[0])
    response = client.post(
        "/account/upgrade", data={"email": "not-an-email", "password": "short", "confirm": ""}
    )
    assert response.status_code == 400
    page = response.data.decode()
    assert "Enter a valid email address." in page
    assert "Use a password of at least 8 characters." in page
    assert "Enter the password again." in page
    assert "There are 3 problems" in page  # the summary above the form lists them all
    unchanged = record(app, guest)
    assert unchanged is not None and unchanged.is_anonymous
