"""Saved delivery details: a full account's last delivery address, filled in at its next checkout.

Guests get none: an anonymous record is one device's, and its details go on its orders only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..extensions import db
from ..models import utcnow
from .countries import country_name
from .models import SavedDelivery


@dataclass(frozen=True)
class Delivery:
    """Where an order goes; ``country`` is an ISO 3166-1 alpha-2 code."""

    full_name: str
    address: str
    city: str
    postal_code: str
    country: str

    @property
    def country_name(self) -> str:
        return country_name(self.country) or self.country


def saved_delivery(owner_id: str) -> Delivery | None:
    """The details ``owner_id`` saved, if any."""
    row = db.session.get(SavedDelivery, owner_id)
    if row is None:
        return None
    return Delivery(row.full_name, row.address, row.city, row.postal_code, row.country)


def save_delivery(owner_id: str, delivery: Delivery) -> None:
    """Keep ``delivery`` for ``owner_id`` (a full account), replacing what it had. Commits."""
    if country_name(delivery.country) is None:
        raise ValueError(f"Not an ISO 3166-1 alpha-2 country code: {delivery.country!r}")
    row = db.session.get(SavedDelivery, owner_id)
    if row is None:
        row = SavedDelivery(owner_id=owner_id)
        db.session.add(row)
    row.full_name, row.address, row.city = delivery.full_name, delivery.address, delivery.city
    row.postal_code, row.country, row.updated = delivery.postal_code, delivery.country, utcnow()
    db.session.commit()


def forget_delivery(owner_id: str) -> None:
    """Delete the saved details of ``owner_id``. Commits."""
    row = db.session.get(SavedDelivery, owner_id)
    if row is not None:
        db.session.delete(row)
        db.session.commit()
