"""Helpers of the account tests: guests with carts and orders, reading records, carts and mail."""

from __future__ import annotations

import html
import re

from flask import Flask
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.mail import OutboxMessage
from storefront.shop.models import CartItem
from storefront.shop.models import Order

NEW_PASSWORD = "a brand new passphrase"


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
