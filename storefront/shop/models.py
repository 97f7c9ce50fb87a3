"""Catalogue, carts and orders."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from ..models import Model
from ..models import utcnow

# Order numbers avoid 0/O and 1/I/L, so a shopper can read one out on the phone.
_ORDER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_order_number() -> str:
    """A random order number such as ``SF-7KQ2-M9XH`` (about 40 bits: not guessable in bulk)."""
    raw = "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(8))
    return f"SF-{raw[:4]}-{raw[4:]}"


class Product(Model):
    """Something the shop sells. Prices are integer cents; stock is what can still be sold."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    image: Mapped[str] = mapped_column(String(120))  # a file in static/products/
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CartItem(Model):
    """One line of the cart of an auth record (anonymous or not).

    The cart is the set of a record's lines; deleting the record deletes them in the database.
    """

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("owner_id", "product_id"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (owner_id, product_id) index starts with it, and serves the
    # cart look-ups and the cascade on delete; a second index would only make every write dearer.
    owner_id: Mapped[str] = mapped_column(ForeignKey("auth_records.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")


class Order(Model):
    """A placed order: a snapshot of what was bought, for how much, and where it goes.

    It outlives the record that placed it (``owner_id`` becomes NULL) and the products in it.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, default=new_order_number)
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("auth_records.id", ondelete="SET NULL"), index=True
    )
    # The checkout form's one-time key: the same form sent twice makes one order.
    checkout_key: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(100))
    total_cents: Mapped[int] = mapped_column(Integer)
    placed_by_anonymous: Mapped[bool] = mapped_column(default=False)
    # When the receipt mail was handed over; NULL until then (it failed, or was never sent).
    receipt_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(Model):
    """One product of an order, copied at the time of purchase."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"), index=True)
    product_name: Mapped[str] = mapped_column(String(120))
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class SavedDelivery(Model):
    """Where a full account last asked to have its orders delivered, to fill in the next checkout.

    One row per account, deleted with it. The country is an ISO 3166-1 alpha-2 code.
    """

    __tablename__ = "saved_deliveries"

    owner_id: Mapped[str] = mapped_column(ForeignKey("auth_records.id", ondelete="CASCADE"), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
