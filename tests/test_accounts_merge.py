"""Sign-in with cart merge and retiring the guest record, and sign-out."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from storefront import create_app
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.shop import guests
from storefront.shop.cart import MergePolicy
from storefront.shop.checkout import order_for

from . import conftest
from .accounts_helpers import cart_of
from .accounts_helpers import flashes
from .accounts_helpers import order_owners
from .accounts_helpers import record
from .conftest import csrf_token_from
from .conftest import sign_in
from .factories import auth_cookie
from .factories import identity_id
from .factories import make_account
from .factories import order_for_record
from .factories import set_cart
from .factories import start_guest


@pytest.mark.parametrize(
    ("policy", "expected", "message"),
    [
        (
            "sum",
            {0: 5, 1: 1, 2: 1},
            "We added 4 items from your guest cart to your account's cart, which now has 7 items.",
        ),
        (
            "max",
            {0: 3, 1: 1, 2: 1},
            "We merged the 4 items of your guest cart into your account's cart, keeping the larger "
            "quantity of each product. It now has 5 items.",
        ),
        ("replace", {0: 3, 1: 1}, "Your guest cart (4 items) replaced the cart saved in your account."),
    ],
)
def test_each_merge_policy(
    app: Flask,
    client: FlaskClient,
    products: list[int],
    account: str,
    policy: str,
    expected: dict[int, int],
    message: str,
) -> None:
    app.config["CART_MERGE_POLICY"] = policy
    set_cart(app, account, {products[0]: 2, products[2]: 1})
    guest_id = start_guest(client, products[0], 3)
    client.post("/cart/add", data={"product_id": products[1], "quantity": 1})

    response = sign_in(client)
    assert response.status_code == 302
    assert identity_id(client) == account
    assert cart_of(app, account) == {products[index]: quantity for index, quantity in expected.items()}
    assert record(app, guest_id) is None
    assert message in flashes(client.get("/").data)


def test_sum_is_capped_by_stock_and_says_so(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    set_cart(app, account, {products[1]: 4})  # 5 in stock
    start_guest(client, products[1], 3)
    sign_in(client)
    assert cart_of(app, account) == {products[1]: 5}
    shown = flashes(client.get("/").data)
    assert (
        "We added 3 items from your guest cart to your account's cart, which now has 5 items. "
        "Some quantities were lowered to what we have in stock."
    ) in shown


def test_empty_guest_cart_leaves_the_account_cart_alone(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    app.config["CART_MERGE_POLICY"] = "replace"
    set_cart(app, account, {products[0]: 2})
    guest_id = start_guest(client, products[1])
    client.post("/cart/remove", data={"product_id": products[1]})
    assert cart_of(app, guest_id) == {}

    response = sign_in(client)
    assert cart_of(app, account) == {products[0]: 2}
    assert record(app, guest_id) is None  # retired all the same
    shown = flashes(client.get(response.headers["Location"]).data)
    assert shown == ["Welcome back, shopper."]


def test_sign_in_without_a_guest_changes_no_cart(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    with app.app_context():
        account_id = make_account().id
    set_cart(app, account_id, {products[0]: 1})
    sign_in(client)
    assert cart_of(app, account_id) == {products[0]: 1}
    assert flashes(client.get("/").data) == ["Welcome back, shopper."]


def test_guest_without_orders_is_deleted(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    guest_id = start_guest(client, products[0], customer=True)
    sign_in(client)
    assert record(app, guest_id) is None
    assert cart_of(app, guest_id) == {}


def test_guest_with_orders_is_kept_and_linked(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    guest_id = start_guest(client, products[0], customer=True)
    number = order_for_record(app, guest_id, products[1])
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    guest_token = auth_cookie(client)

    sign_in(client)

    kept = record(app, guest_id)
    assert kept is not None and kept.is_anonymous
    assert kept.merged_into_id == account
    assert order_owners(app) == {number: guest_id}  # the order itself is never touched
    assert cart_of(app, guest_id) == {}
    assert cart_of(app, account) == {products[0]: 2}
    # The account sees the guest's order, on its page and in its history ...
    assert client.get(f"/orders/{number}").status_code == 200
    assert number.encode() in client.get("/account").data
    with app.app_context():
        assert order_for(db.session.get(AuthRecord, account), number) is not None
    # ... and the retired guest's tokens are dead.
    refresh = client.post(
        "/api/collections/customers/auth-refresh", headers={"Authorization": f"Bearer {guest_token}"}
    )
    assert refresh.status_code == 401


def test_failed_merge_keeps_the_guest_signed_in(
    app: Flask, client: FlaskClient, products: list[int], account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest_id = start_guest(client, products[0], 2)
    guest_token = auth_cookie(client)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE cart_items", {}, Exception("database is locked"))

    monkeypatch.setattr(guests, "move_cart", broken)
    response = sign_in(client)
    assert response.status_code == 400
    assert b"Your guest cart is safe" in response.data
    assert auth_cookie(client) == guest_token
    assert identity_id(client) == guest_id
    assert cart_of(app, guest_id) == {products[0]: 2}
    assert cart_of(app, account) == {}


def test_wrong_password_keeps_the_guest(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    guest_id = start_guest(client, products[0])
    response = sign_in(client, password="not the password")
    assert response.status_code == 400
    assert b"The email or password is not correct." in response.data
    assert identity_id(client) == guest_id
    assert cart_of(app, guest_id) == {products[0]: 1}


def test_merge_service_without_a_request(app: Flask, products: list[int], account: str) -> None:
    guest_id = "guest0000000001"
    with app.app_context():
        db.session.add(
            AuthRecord(
                id=guest_id,
                collection="users",
                email="g@anonymous.invalid",
                username="g",
                is_anonymous=True,
                password_hash="x",
            )
        )
        db.session.commit()
    set_cart(app, guest_id, {products[0]: 1})
    with app.app_context():
        target = db.session.get_one(AuthRecord, account)
        report = guests.merge_guest_into(guest_id, target, MergePolicy.SUM)
        db.session.commit()
    assert report is not None
    assert (report.guest_items, report.cart_items, report.capped) == (1, 1, False)
    assert cart_of(app, account) == {products[0]: 1}
    assert record(app, guest_id) is None


def test_unknown_merge_policy_is_refused_at_start(database_uri: str) -> None:
    with pytest.raises(RuntimeError, match="CART_MERGE_POLICY"):
        create_app(conftest.make_test_config(database_uri, CART_MERGE_POLICY="newest"))


# Sign-out -------------------------------------------------------------------------------------------


def test_guest_is_warned_before_signing_out(app: Flask, client: FlaskClient, products: list[int]) -> None:
    guest_id = start_guest(client, products[0], 2)
    nav = client.get("/").data.decode()
    assert '<form method="get" action="/logout"' in nav and ">Sign out</button>" in nav

    page = client.get("/logout")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Your guest cart can't be reached again without an account" in html
    assert 'href="/account/upgrade">Create account</a>' in html
    assert '<form method="post" action="/logout">' in html and ">Sign out</button>" in html
    assert identity_id(client) == guest_id  # looking at the warning changes nothing

    response = client.post("/logout")
    assert response.status_code == 302
    assert auth_cookie(client) is None
    assert record(app, guest_id) is None  # nobody can reach it again: retired with its cart
    assert "You have been signed out. Your guest cart has been cleared." in flashes(client.get("/").data)


def test_guest_with_orders_survives_sign_out(app: Flask, client: FlaskClient, products: list[int]) -> None:
    guest_id = start_guest(client, products[0], customer=True)
    number = order_for_record(app, guest_id, products[1])
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    guest_token = auth_cookie(client)
    client.post("/logout")
    kept = record(app, guest_id)
    assert kept is not None and kept.merged_into_id is None
    assert order_owners(app) == {number: guest_id}
    assert cart_of(app, guest_id) == {}  # nobody can reach it again
    refresh = client.post(
        "/api/collections/customers/auth-refresh", headers={"Authorization": f"Bearer {guest_token}"}
    )
    assert refresh.status_code == 401


def test_full_account_signs_out_with_a_post(app: Flask, client: FlaskClient, account: str) -> None:
    sign_in(client)
    nav = client.get("/").data.decode()
    assert '<form method="post" action="/logout"' in nav and ">Sign out</button>" in nav
    assert 'href="/account">Account</a>' in nav
    assert client.get("/logout").status_code == 200  # a confirmation page, signs nobody out
    assert identity_id(client) == account
    client.post("/logout")
    assert auth_cookie(client) is None
    assert record(app, account) is not None


def test_sign_out_renews_the_session(app: Flask, account: str) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_from(client.get("/login").data)
    sign_in_response = client.post(
        "/login",
        data={"email": "shopper@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert sign_in_response.status_code == 302
    signed_in_token = csrf_token_from(client.get("/").data)
    assert client.post("/logout", data={"csrf_token": signed_in_token}).status_code == 302
    assert csrf_token_from(client.get("/login").data) != signed_in_token


def test_sign_out_needs_a_csrf_token(app: Flask, account: str) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_from(client.get("/login").data)
    client.post(
        "/login",
        data={"email": "shopper@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert client.post("/logout").status_code == 400
    assert identity_id(client) == account


def test_logout_without_identity_goes_home(client: FlaskClient) -> None:
    assert client.get("/logout").headers["Location"] == "/"
    assert client.post("/logout").headers["Location"] == "/"
