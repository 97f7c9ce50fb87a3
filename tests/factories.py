"""Factories of the tests: guests, accounts, carts and orders, and the auth cookie's name.

Records made here go straight to the database (inside an app context), except :func:`start_guest`,
which makes a guest the way a shopper does, through the pages.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from datetime import UTC
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient

from storefront.auth.models import AuthRecord
from storefront.auth.passwords import hash_password
from storefront.auth.tokens import issue_token
from storefront.config import DEFAULTS
from storefront.extensions import db
from storefront.models import new_id
from storefront.models import utcnow
from storefront.shop.checkout import ContactDetails
from storefront.shop.checkout import place_order
from storefront.shop.models import CartItem
from storefront.shop.models import Order

AUTH_COOKIE: str = DEFAULTS["AUTH_COOKIE_NAME"]
SECURE_AUTH_COOKIE = f"__Host-{AUTH_COOKIE}"  # the name when the cookie is Secure (production)
PASSWORD = "correct horse battery"
# A fixed "now" for the cleanup tests, so a boundary is exact to the microsecond.
NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
CONTACT = ContactDetails(
    email="ada@example.com",
    full_name="Ada Lovelace",
    address="12 Analytical Row",
    city="London",
    postal_code="N1 7AA",
    country="United Kingdom",
)
# The same details as the checkout form posts them: the country as the ISO code its list offers
# (the order stores its name).
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


# ---------------------------------------------------------------------------------------------------
# Accounts


def make_account(
    email: str = "shopper@example.com",
    password: str = PASSWORD,
    collection: str = "users",
    *,
    admin: bool = False,
) -> AuthRecord:
    """A full account."""
    record = AuthRecord(
        collection=collection,
        email=email,
        username=email.split("@")[0],
        is_anonymous=False,
        is_admin=admin,
        password_hash=hash_password(password),
    )
    db.session.add(record)
    db.session.commit()
    return record


def make_admin(email: str = "admin@example.com") -> AuthRecord:
    """A full account with the admin flag."""
    return make_account(email, admin=True)


# ---------------------------------------------------------------------------------------------------
# Guests


def make_guest(
    *,
    collection: str = "users",
    cart: Mapping[int, int] | Iterable[int] | None = None,
    idle_days: float = 0,
    now: datetime | None = None,
    last_active: datetime | None = None,
    created: datetime | None = None,
    commit: bool = True,
) -> AuthRecord:
    """An anonymous record last active ``idle_days`` before ``now`` (the real time by default), or at
    ``last_active``, with a cart: ``{product id: quantity}``, or product ids of one each.

    Committed, it comes back detached with its values loaded, so a test still reads ``.id`` after a
    cleanup deleted the row; with ``commit=False`` it is only added to the session.
    """
    active = last_active or (now or utcnow()) - timedelta(days=idle_days)
    record_id = new_id(at=active)
    record = AuthRecord(
        id=record_id,
        collection=collection,
        email=f"anonymous-{record_id}@anonymous.invalid",
        username=f"guest-{record_id}",
        is_anonymous=True,
        password_hash="!unusable",  # nobody signs in to a guest with a password
        created=created or active,
        updated=created or active,
        last_active_at=active,
    )
    db.session.add(record)
    lines = cart.items() if isinstance(cart, Mapping) else ((product_id, 1) for product_id in cart or ())
    for product_id, quantity in lines:
        db.session.add(CartItem(owner_id=record_id, product_id=product_id, quantity=quantity))
    if commit:
        db.session.commit()
        db.session.refresh(record)
        db.session.expunge(record)
    return record


def start_guest(client: FlaskClient, product_id: int, quantity: int = 1, *, customer: bool = False) -> str:
    """A guest made as a shopper makes one: Add to cart signs in anonymously in ``users`` (lazy
    mode); with ``customer``, Continue as Guest too. Returns the guest's id."""
    response = client.post("/cart/add", data={"product_id": product_id, "quantity": quantity})
    assert response.status_code == 302
    if customer:
        assert client.post("/checkout", data={"action": "guest-checkout"}).status_code == 302
    record_id = identity_id(client)
    assert record_id is not None
    return record_id


def use_identity(client: FlaskClient, record: AuthRecord | str) -> None:
    """Make ``record`` (or the record with that id) the client's identity by giving it an auth
    cookie."""
    if isinstance(record, str):
        found = db.session.get(AuthRecord, record)
        assert found is not None, f"no record {record}"
        record = found
    client.set_cookie(AUTH_COOKIE, issue_token(record))


def auth_cookie(client: FlaskClient, name: str = AUTH_COOKIE) -> str | None:
    """The client's auth cookie, if it has one."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def identity_id(client: FlaskClient) -> str | None:
    """The record id the client's auth cookie names (read without checking the signature)."""
    token = auth_cookie(client)
    if token is None:
        return None
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return str(claims["id"])


# ---------------------------------------------------------------------------------------------------
# Carts and orders


def set_cart(app: Flask, record_id: str, quantities: dict[int, int]) -> None:
    """Add ``{product id: quantity}`` to a record's cart."""
    with app.app_context():
        for product_id, quantity in quantities.items():
            db.session.add(CartItem(owner_id=record_id, product_id=product_id, quantity=quantity))
        db.session.commit()


def make_order(owner: AuthRecord, *, placed_by_anonymous: bool | None = None) -> Order:
    """A placed order of ``owner``, made directly (no cart, no stock taken)."""
    order = Order(
        owner_id=owner.id,
        checkout_key=secrets.token_urlsafe(16),
        **CONTACT.__dict__,
        total_cents=1800,
        placed_by_anonymous=owner.is_anonymous if placed_by_anonymous is None else placed_by_anonymous,
    )
    db.session.add(order)
    db.session.commit()
    return order


def order_for_record(app: Flask, record_id: str, product_id: int, quantity: int = 1) -> str:
    """Put ``quantity`` of a product in the record's cart and place an order through the checkout
    service; returns its number."""
    with app.app_context():
        db.session.add(CartItem(owner_id=record_id, product_id=product_id, quantity=quantity))
        db.session.commit()
        record = db.session.get_one(AuthRecord, record_id)
        return place_order(record, CONTACT, secrets.token_urlsafe(24)).number
