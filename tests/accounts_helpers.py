"""Helpers of the account tests: guests with carts and orders, reading records, carts and mail."""

from __future__ import annotations

import dataclasses
import html
import re
import secrets
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.mail import OutboxMessage
from storefront.shop.checkout import ContactDetails
from storefront.shop.checkout import place_order
from storefront.shop.models import CartItem
from storefront.shop.models import Order

from .conftest import auth_cookie

NEW_PASSWORD = "a brand new passphrase"
CONTACT = ContactDetails(
    email="ada@example.com",
    full_name="Ada Lovelace",
    address="12 Analytical Row",
    city="London",
    postal_code="N1 7AA",
    country="United Kingdom",
)
# The same details as the checkout form posts them.
# The form posts the country as the ISO code its list offers; the order stores its name.
CONTACT_FORM: dict[str, str] = {**dataclasses.asdict(CONTACT), "country": "GB"}
# The same details as a client of the JSON API sends them to POST /api/checkout.
API_CONTACT: dict[str, str] = {
    "email": CONTACT.email,
    "fullName": CONTACT.full_name,
    "address": CONTACT.address,
    "city": CONTACT.city,
    "postalCode": CONTACT.postal_code,
    "country": CONTACT.country,
}


def identity_id(client: FlaskClient) -> str | None:
    """The record id the client's auth cookie names (read without checking the signature)."""
    token = auth_cookie(client)
    if token is None:
        return None
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return str(claims["id"])


def start_guest(client: FlaskClient, product_id: int, quantity: int = 1, *, customer: bool = False) -> str:
    """Add to cart, which signs in anonymously in ``users`` (lazy mode); with ``customer``, continue
    as a guest customer too. Returns the anonymous record's id."""
    response = client.post("/cart/add", data={"product_id": product_id, "quantity": quantity})
    assert response.status_code == 302
    if customer:
        assert client.post("/checkout", data={"action": "guest-checkout"}).status_code == 302
    record_id = identity_id(client)
    assert record_id is not None
    return record_id


def order_for_record(app: Flask, record_id: str, product_id: int, quantity: int = 1) -> str:
    """Put ``quantity`` of a product in the record's cart and place an order; returns its number."""
    with app.app_context():
        db.session.add(CartItem(owner_id=record_id, product_id=product_id, quantity=quantity))
        db.session.commit()
        record = db.session.get_one(AuthRecord, record_id)
        return place_order(record, CONTACT, secrets.token_urlsafe(24)).number


def record(app: Flask, record_id: str) -> AuthRecord | None:
    with app.app_context():
        found = db.session.get(AuthRecord, record_id)
        if found is not None:
            db.session.expunge(found)
        return found


def cart_of(app: Flask, record_id: str) -> dict[int, int]:
    """``{product_id: quantity}`` of a record's cart."""
    with app.app_context():
        lines = db.session.execute(select(CartItem).where(CartItem.owner_id == record_id)).scalars()
        return {line.product_id: line.quantity for line in lines}


def set_cart(app: Flask, record_id: str, quantities: dict[int, int]) -> None:
    with app.app_context():
        for product_id, quantity in quantities.items():
            db.session.add(CartItem(owner_id=record_id, product_id=product_id, quantity=quantity))
        db.session.commit()


def order_owners(app: Flask) -> dict[str, str | None]:
    """``{order number: owner id}`` of every order."""
    with app.app_context():
        return {order.number: order.owner_id for order in db.session.execute(select(Order)).scalars()}


def outbox(app: Flask) -> list[OutboxMessage]:
    """Every message in the outbox, oldest first."""
    with app.app_context():
        messages = list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        for message in messages:
            db.session.expunge(message)
        return messages


def verification_path(app: Flask) -> str:
    """The path of the verification link in the newest message of the outbox."""
    messages = outbox(app)
    assert messages, "no mail was sent"
    match = re.search(r"https?://[^/\s]+(/account/verify/\S+)", messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def flashes(page: bytes) -> list[str]:
    """The flash messages on a page, as text."""
    return [
        html.unescape(re.sub(r"\s+", " ", text).strip())
        for text in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page.decode(), re.S)
    ]
