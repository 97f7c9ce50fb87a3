"""The headless shop through the JSON API: the web cart's rules, the web checkout's guarantees, and
each shopper's lines and orders their own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import Product

from .factories import API_CONTACT
from .factories import order_for_record
from .factories import PASSWORD
from .proof_helpers import snapshot

KEY = "an-idempotency-key-0001"


def guest(client: FlaskClient, collection: str = "customers") -> dict[str, str]:
    token = client.post(f"/api/collections/{collection}/auth-anonymous").get_json()["token"]
    return {"Authorization": token}


def add(client: FlaskClient, headers: dict[str, str], product: Any, quantity: Any = 1) -> Any:
    body = {"product": product, "quantity": quantity}
    return client.post("/api/collections/cart_items/records", json=body, headers=headers)


def checkout(client: FlaskClient, headers: dict[str, str], key: str = KEY, body: Any = None) -> Any:
    return client.post(
        "/api/checkout",
        json=API_CONTACT if body is None else body,
        headers={**headers, "Idempotency-Key": key},
    )


def test_the_api_cart_keeps_the_web_carts_rules(app: Flask, client: FlaskClient, products: list[int]) -> None:
    """The same service, so the same messages as the web cart's, field by field."""
    mug, _tote, pen = products
    headers = guest(client)
    line = add(client, headers, str(mug), 9).get_json()
    too_many = add(client, headers, mug, 2)
    assert too_many.status_code == 400
    assert too_many.get_json()["data"] == {
        "quantity": {"code": "validation_invalid_value", "message": "Only 10 of Mug left in stock."}
    }
    sold = add(client, headers, pen, 2).get_json()["data"]["quantity"]["message"]
    assert sold == "Only 1 of Pen left in stock."
    zero = add(client, headers, mug, 0).get_json()["data"]["quantity"]["message"]
    assert zero == "Quantity must be at least 1."
    patched = client.patch(
        f"/api/collections/cart_items/records/{line['id']}", json={"quantity": 10}, headers=headers
    )
    assert patched.status_code == 200 and patched.get_json()["quantity"] == 10
    with app.app_context():
        assert [
            (item.product_id, item.quantity) for item in db.session.execute(select(CartItem)).scalars().all()
        ] == [(mug, 10)]


def test_every_line_and_order_is_its_owners(app: Flask, client: FlaskClient, products: list[int]) -> None:
    alice, bob = guest(client), guest(client, "users")
    line = add(client, alice, products[0]).get_json()
    order = checkout(client, alice).get_json()
    for method, path in [
        ("GET", f"/api/collections/cart_items/records/{line['id']}"),
        ("PATCH", f"/api/collections/cart_items/records/{line['id']}"),
        ("DELETE", f"/api/collections/cart_items/records/{line['id']}"),
        ("GET", f"/api/collections/orders/records/{order['id']}"),
        ("GET", "/api/collections/cart_items/records/not-a-number"),
        ("GET", "/api/collections/cart_items/records/99999999999999"),
    ]:
        response = client.open(path, method=method, json={"quantity": 2}, headers=bob)
        assert response.status_code == 404, (method, path)
    assert client.get("/api/collections/orders/records", headers=bob).get_json()["items"] == []
    assert client.get("/api/collections/cart_items/records", headers=bob).get_json()["items"] == []
    for path in ["/api/collections/cart_items/records", "/api/collections/orders/records"]:
        assert client.get(path).status_code == 401
    assert checkout(client, {}).status_code == 401


def test_checkout_is_the_web_checkout(app: Flask, client: FlaskClient, products: list[int]) -> None:
    mug, tote, _pen = products
    headers = guest(client)
    add(client, headers, mug, 2)
    add(client, headers, tote, 1)
    first = checkout(client, headers)
    assert first.status_code == 200
    order = first.get_json()
    assert order["totalCents"] == 2 * 1800 + 2450 and order["items"] == 3
    assert [line["productName"] for line in order["lines"]] == ["Mug", "Tote"]
    assert checkout(client, headers).get_json()["id"] == order["id"]  # the same key, the same order
    empty = checkout(client, headers, key="another-key-000001")
    assert empty.status_code == 400 and empty.get_json()["message"] == "Your cart is empty."
    with app.app_context():
        assert len(db.session.execute(select(Order)).scalars().all()) == 1
        assert {
            product.name: product.stock for product in db.session.execute(select(Product)).scalars().all()
        } == {
            "Mug": 8,
            "Tote": 4,
            "Pen": 1,
        }
        stored = db.session.execute(select(Order)).scalar_one()
        assert stored.placed_by_anonymous is True and stored.full_name == API_CONTACT["fullName"]


def test_checkout_takes_stock_atomically(app: Flask, client: FlaskClient, products: list[int]) -> None:
    pen = products[2]
    first, second = guest(client), guest(client)
    add(client, first, pen)
    add(client, second, pen)
    assert checkout(client, first).status_code == 200
    late = checkout(client, second, key="second-shoppers-key")
    assert late.status_code == 400 and late.get_json()["message"] == "Sorry, Pen is sold out."
    with app.app_context():
        assert db.session.execute(select(Product.stock).where(Product.id == pen)).scalar_one() == 0
        assert len(db.session.execute(select(Order)).scalars().all()) == 1


@pytest.mark.parametrize(
    ("body", "key", "fields"),
    [
        ({**API_CONTACT, "email": "nope"}, KEY, {"email"}),
        ({**API_CONTACT, "fullName": "", "city": 12}, KEY, {"fullName", "city"}),
        ({**API_CONTACT, "address": "line\x00two"}, KEY, {"address"}),
        ({**API_CONTACT, "country": "x" * 101}, KEY, {"country"}),
        ({**API_CONTACT, "giftWrap": True}, KEY, {"giftWrap"}),
        (API_CONTACT, "", set()),
        (API_CONTACT, "short", set()),
        (API_CONTACT, "k" * 65, set()),
        (["not", "an", "object"], KEY, set()),
    ],
)
def test_bad_checkouts_are_a_400_and_place_nothing(
    app: Flask, client: FlaskClient, products: list[int], body: Any, key: str, fields: set[str]
) -> None:
    headers = guest(client)
    add(client, headers, products[0])
    with app.app_context():
        before = snapshot()
    response = checkout(client, headers, key=key, body=body)
    assert response.status_code == 400
    answer = response.get_json()
    assert set(answer["data"]) == fields
    if not fields and isinstance(body, dict):
        assert "Idempotency-Key" in answer["message"]
    with app.app_context():
        assert snapshot() == before


def test_the_account_order_history_alias(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    number = order_for_record(app, account, products[0], 2)
    body = {"identity": "shopper@example.com", "password": PASSWORD}
    token = client.post("/api/collections/users/auth-with-password", json=body).get_json()["token"]
    alias = client.get("/api/account/orders", headers={"Authorization": token}).get_json()
    listing = client.get("/api/collections/orders/records", headers={"Authorization": token}).get_json()
    assert (
        [item["number"] for item in alias["items"]] == [number] == [item["id"] for item in listing["items"]]
    )
    assert alias["items"] == listing["items"]


def test_api_answers_never_set_cookies(client: FlaskClient, products: list[int]) -> None:
    headers = guest(client)
    line = add(client, headers, products[0]).get_json()
    responses = [
        client.get("/api/collections/products/records"),
        client.get("/api/collections/cart_items/records", headers=headers),
        client.patch(
            f"/api/collections/cart_items/records/{line['id']}", json={"quantity": 2}, headers=headers
        ),
        checkout(client, headers),
        client.get("/api/collections/orders/records", headers=headers),
    ]
    for response in responses:
        assert response.status_code == 200
        assert response.headers.getlist("Set-Cookie") == []
    # What depends on who asks is never cached; the catalogue may be.
    assert [response.headers.get("Cache-Control") for response in responses] == [None] + ["no-store"] * 4


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"product": 1, "quantity": 1e999}',
        '{"product": 1, "quantity": 123456789012345678901234567890}',
        b'{"product": "\xff"}',
        '{"product": "\\u0000"}',
    ],
    ids=["deep-array", "deep-object", "infinity", "huge-integer", "invalid-utf8", "nul"],
)
@pytest.mark.parametrize("path", ["/api/collections/cart_items/records", "/api/checkout"])
def test_malformed_json_is_a_400_never_a_500(
    app: Flask, client: FlaskClient, products: list[int], path: str, body: str | bytes
) -> None:
    headers = {**guest(client), "Idempotency-Key": KEY}
    with app.app_context():
        before = snapshot()
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert set(response.get_json()) == {"status", "message", "data"}
    with app.app_context():
        assert snapshot() == before
