"""The shop's pages through the Flask test client: catalogue, cart, try before you buy, checkout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.shop import guests
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import Product

from .accounts_helpers import flashes
from .conftest import listening
from .conftest import sign_in
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM


def _records(app: Flask, **where: Any) -> list[AuthRecord]:
    with app.app_context():
        return list(db.session.execute(select(AuthRecord).filter_by(**where)).scalars())


def _count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _stock(app: Flask, product_id: int) -> int:
    with app.app_context():
        return db.session.get_one(Product, product_id).stock


def _checkout_key(html: bytes) -> str:
    match = re.search(rb'name="checkout_key" type="hidden" value="([^"]+)"', html)
    assert match, "no checkout key on the page"
    return match.group(1).decode()


def _guest_checkout(client: FlaskClient, product_id: int, quantity: int = 1) -> str:
    """Add to cart, continue as guest and return the checkout form's key."""
    client.post("/cart/add", data={"product_id": product_id, "quantity": quantity})
    response = client.post("/checkout", data={"action": "guest-checkout"})
    assert response.status_code == 302
    page = client.get("/checkout")
    assert b"Place order" in page.data
    return _checkout_key(page.data)


def test_catalogue_lists_products_with_add_to_cart(client: FlaskClient, products: list[int]) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.data.decode()
    for name in ("Mug", "Tote", "Pen"):
        assert name in html
    assert html.count(">Add to cart</button>") == 3
    assert ">Cart" in html and "$18.00" in html
    assert client.get_cookie(AUTH_COOKIE) is None  # browsing makes no account (lazy mode)


def test_product_page_and_unknown_product(client: FlaskClient, products: list[int]) -> None:
    page = client.get(f"/products/{products[1]}")
    assert page.status_code == 200
    assert b"Tote" in page.data and b"Add to cart" in page.data and b"Quantity" in page.data
    assert client.get("/products/999999").status_code == 404
    assert client.get("/products/not-a-number").status_code == 404


def test_lazy_mode_first_add_signs_in_anonymously_in_the_same_request(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    response = client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    assert response.status_code == 302
    assert client.get_cookie(AUTH_COOKIE) is not None
    [record] = _records(app)
    assert record.is_anonymous and record.collection == "users"
    cart = client.get("/cart")
    html = cart.data.decode()
    assert "Your cart" in html and "Mug" in html
    assert "You're shopping as a guest" in html and "Create account" in html
    assert '2<span class="visually-hidden"> items</span>' in html
    assert "Update" in html and "Remove" in html and "Checkout" in html


def test_pages_that_do_not_list_the_cart_count_it_with_one_query(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    client.post("/cart/add", data={"product_id": products[1], "quantity": 1})
    statements: list[str] = []

    def record_statement(*args: Any) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    with listening(engine, "before_cursor_execute", record_statement):
        for page in ("/", f"/products/{products[1]}", "/checkout"):
            statements.clear()
            html = client.get(page).data.decode()
            assert '3<span class="visually-hidden"> items</span>' in html, page
            cart_reads = [sql for sql in statements if "cart_items" in sql]
            assert len(cart_reads) == 1 and "sum(" in cart_reads[0].lower(), (page, cart_reads)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "whole number from 1 to 99"),
        ("-1", "whole number from 1 to 99"),
        ("1.5", "Not a valid integer"),
        ("abc", "Not a valid integer"),
        ("", "Enter a quantity"),
        ("11", "Only 10 of Mug left"),
        ("99999999999999999999999", "whole number from 1 to 99"),
    ],
)
def test_bad_quantities_get_a_clear_message(
    app: Flask, client: FlaskClient, products: list[int], quantity: str, message: str
) -> None:
    client.post("/cart/add", data={"product_id": products[0], "quantity": 1})
    response = client.post("/cart/update", data={"product_id": products[0], "quantity": quantity})
    assert response.status_code == 302
    page = client.get("/cart").data.decode()
    assert message in page
    with app.app_context():
        assert db.session.execute(select(CartItem.quantity)).scalar_one() == 1


def test_add_with_a_bad_product_changes_nothing(app: Flask, client: FlaskClient, products: list[int]) -> None:
    response = client.post("/cart/add", data={"product_id": "x", "quantity": 1}, follow_redirects=True)
    assert response.status_code == 200
    assert b"Not a valid integer" in response.data
    assert _records(app) == []


def test_update_and_remove(client: FlaskClient, products: list[int]) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    client.post("/cart/update", data={"product_id": products[0], "quantity": 3})
    assert '3<span class="visually-hidden"> items</span>' in client.get("/cart").data.decode()
    client.post("/cart/remove", data={"product_id": products[0]})
    assert b"Your cart is empty" in client.get("/cart").data


def test_checkout_offers_options_to_visitors_and_anonymous_users(
    client: FlaskClient, products: list[int]
) -> None:
    for _ in range(2):  # first with no identity, then as an anonymous `users` record
        html = client.get("/checkout").data.decode()
        assert "Continue as Guest" in html and 'value="guest-checkout"' in html
        assert ">or<" in html and "Sign In" in html
        client.post("/cart/add", data={"product_id": products[0]})


def test_guest_checkout_carries_the_cart_to_a_customers_record(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    [previous] = _records(app)
    client.post("/checkout", data={"action": "guest-checkout"})
    [guest] = _records(app)
    assert guest.collection == "customers" and guest.is_anonymous
    assert guest.id != previous.id  # the old users record, now cart-less and order-less, is gone
    with app.app_context():
        lines = db.session.execute(select(CartItem.owner_id, CartItem.quantity)).all()
    assert [tuple(line) for line in lines] == [(guest.id, 2)]
    assert b"Place order" in client.get("/checkout").data


def test_guest_checkout_places_one_order_and_takes_stock(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    key = _guest_checkout(client, products[0], 3)
    response = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})
    assert response.status_code == 302
    again = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})  # double click / reload
    assert again.headers["Location"] == response.headers["Location"]
    assert _count(app, Order) == 1
    assert _stock(app, products[0]) == 7
    confirmation = client.get(response.headers["Location"]).data.decode()
    with app.app_context():
        order = db.session.execute(select(Order)).scalar_one()
        assert order.email == CONTACT_FORM["email"] and order.total_cents == 3 * 1800
        assert [(line.product_name, line.unit_price_cents, line.quantity) for line in order.lines] == [
            ("Mug", 1800, 3)
        ]
        assert order.placed_by_anonymous
        assert re.fullmatch(r"SF-[2-9A-Z]{4}-[2-9A-Z]{4}", order.number)
    assert "Thank you" in confirmation and order.number in confirmation
    assert "Create account" in confirmation
    assert _count(app, CartItem) == 0


def test_orders_are_private(app: Flask, client: FlaskClient, products: list[int]) -> None:
    key = _guest_checkout(client, products[0])
    location = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key}).headers["Location"]
    assert client.get(location).status_code == 200
    stranger = app.test_client()
    assert stranger.get(location).status_code == 404
    stranger.post("/cart/add", data={"product_id": products[1]})  # another anonymous shopper
    assert stranger.get(location).status_code == 404
    assert client.get("/orders/SF-XXXX-XXXX").status_code == 404


def test_out_of_stock_at_order_time(app: Flask, client: FlaskClient, products: list[int]) -> None:
    key = _guest_checkout(client, products[2])  # the last Pen
    with app.app_context():  # somebody else buys it meanwhile
        db.session.get_one(Product, products[2]).stock = 0
        db.session.commit()
    response = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key}, follow_redirects=True)
    assert b"Pen is sold out" in response.data
    assert _count(app, Order) == 0
    assert _stock(app, products[2]) == 0
    assert _count(app, CartItem) == 1  # the cart is kept so the shopper can change it


def test_an_order_is_all_or_nothing(app: Flask, client: FlaskClient, products: list[int]) -> None:
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    key = _guest_checkout(client, products[1], 3)
    with app.app_context():
        db.session.get_one(Product, products[1]).stock = 2
        db.session.commit()
    response = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key}, follow_redirects=True)
    assert b"Only 2 of Tote left" in response.data
    assert _stock(app, products[0]) == 10  # the Mug line taken before the Tote failed was rolled back
    assert _count(app, Order) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "", "Enter an email for the receipt."),
        ("email", "not-an-email", "Enter an email address like name@example.com."),
        ("full_name", "", "Enter the name to deliver to."),
        ("address", "", "Enter the street address."),
        ("city", "", "Enter the town or city."),
        ("country", "", "Choose the country to deliver to."),
        ("country", "Atlantis", "Choose a country from the list."),
        ("country", "Untied Kingdom", "Choose a country from the list."),
        ("postal_code", "x" * 21, "Field cannot be longer than 20 characters."),
    ],
)
def test_checkout_form_is_validated(
    app: Flask, client: FlaskClient, products: list[int], field: str, value: str, message: str
) -> None:
    key = _guest_checkout(client, products[0])
    response = client.post("/checkout", data={**CONTACT_FORM, field: value, "checkout_key": key})
    assert response.status_code == 400
    assert message in response.data.decode()
    assert _count(app, Order) == 0


def test_a_full_account_goes_straight_to_the_form(
    client: FlaskClient, account: str, products: list[int]
) -> None:
    sign_in(client)
    client.post("/cart/add", data={"product_id": products[0]})
    html = client.get("/checkout").data.decode()
    assert "Place order" in html and "Continue as Guest" not in html
    assert 'value="shopper@example.com"' in html  # the account's email is filled in
    assert "You're shopping as a guest" not in html


def test_checkout_with_an_empty_cart_goes_to_the_cart(client: FlaskClient, account: str) -> None:
    sign_in(client)
    response = client.get("/checkout")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert "Your cart is empty. Add something before checking out." in flashes(client.get("/cart").data)


@pytest.mark.parametrize(
    "config_overrides", [{"RATELIMIT_ENABLED": True, "ANONYMOUS_RATE_LIMIT": "1 per hour"}]
)
def test_failed_guest_account_keeps_the_cart(app: Flask, client: FlaskClient, products: list[int]) -> None:
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})  # uses the only slot
    response = client.post("/checkout", data={"action": "guest-checkout"})
    assert response.status_code == 429
    assert "Failed to create guest account: Too many new accounts" in response.data.decode()
    [record] = _records(app)
    assert record.collection == "users"
    assert '2<span class="visually-hidden"> items</span>' in client.get("/cart").data.decode()


def test_a_failed_hand_over_makes_nothing_and_keeps_the_guest(
    app: Flask, client: FlaskClient, products: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Continue as Guest is one transaction: if carrying the cart over fails after the customers
    record was written, that record is gone too and the shopper is still the same guest."""
    client.post("/cart/add", data={"product_id": products[0], "quantity": 2})
    [guest] = _records(app)
    cookie = client.get_cookie(AUTH_COOKIE)
    assert cookie is not None

    def fail(*_args: object) -> None:
        raise OperationalError("UPDATE cart_items ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(guests, "transfer_cart", fail)
    response = client.post("/checkout", data={"action": "guest-checkout"})
    monkeypatch.undo()

    assert response.status_code == 503
    message = "Failed to create guest account: We could not save your account just now."
    assert message in response.data.decode()
    assert [record.id for record in _records(app)] == [guest.id]  # no customers record left behind
    after = client.get_cookie(AUTH_COOKIE)
    assert after is not None and after.value == cookie.value  # no new cookie was sent
    page = client.get("/cart").data.decode()
    assert "You're shopping as a guest" in page
    assert '2<span class="visually-hidden"> items</span>' in page


@pytest.mark.parametrize("config_overrides", [{"TRY_BEFORE_YOU_BUY": "eager"}])
class TestEagerMode:
    BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"

    def test_a_returning_browser_is_signed_in_on_arrival(self, app: Flask, client: FlaskClient) -> None:
        client.get("/", headers={"User-Agent": self.BROWSER})
        assert _records(app) == []  # the first visit only checks that cookies come back
        assert client.get_cookie("storefront_probe") is not None
        page = client.get("/", headers={"User-Agent": self.BROWSER})
        [record] = _records(app)
        assert record.is_anonymous and record.collection == "users"
        assert client.get_cookie(AUTH_COOKIE) is not None
        assert b"You're shopping as a guest" in page.data
        client.get("/cart", headers={"User-Agent": self.BROWSER})
        assert len(_records(app)) == 1

    @pytest.mark.parametrize(
        "agent",
        ["Googlebot/2.1 (+http://www.google.com/bot.html)", "facebookexternalhit/1.1", "curl/8.5.0", ""],
    )
    def test_crawlers_never_get_an_account(self, app: Flask, client: FlaskClient, agent: str) -> None:
        for _ in range(3):
            client.get("/", headers={"User-Agent": agent})
        assert _records(app) == []

    def test_clients_that_drop_cookies_never_get_an_account(self, app: Flask) -> None:
        for _ in range(5):
            app.test_client(use_cookies=False).get("/", headers={"User-Agent": self.BROWSER})
        assert _records(app) == []


@pytest.mark.parametrize("config_overrides", [{"TRY_BEFORE_YOU_BUY": "off"}])
def test_off_mode_asks_the_shopper_to_choose(app: Flask, client: FlaskClient, products: list[int]) -> None:
    response = client.post("/cart/add", data={"product_id": products[0]})
    assert response.headers["Location"] == "/checkout"
    assert _records(app) == []
    page = client.get("/checkout").data.decode()
    assert "continue as a guest or sign in" in page and "Continue as Guest" in page
    client.post("/checkout", data={"action": "guest-checkout"})
    [guest] = _records(app)
    assert guest.collection == "customers"
    client.post("/cart/add", data={"product_id": products[0]})
    assert _count(app, CartItem) == 1


def test_an_unknown_try_before_you_buy_mode_is_refused(database_uri: str) -> None:
    from storefront import create_app

    from .conftest import make_test_config

    with pytest.raises(RuntimeError, match="TRY_BEFORE_YOU_BUY"):
        create_app(make_test_config(database_uri, TRY_BEFORE_YOU_BUY="sometimes"))
