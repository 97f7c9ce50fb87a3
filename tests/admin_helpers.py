"""Helpers of the admin and cleanup tests: guests of a given age, orders, signing in by cookie."""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Order

from .conftest import make_account

AUTH_COOKIE = "storefront_auth"
# A fixed "now" for the service tests, so a boundary is exact to the microsecond.
NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)


def make_guest(
    *,
    last_active: datetime | None = None,
    inactive_days: float = 0,
    collection: str = "users",
    created: datetime | None = None,
    products: list[int] | None = None,
) -> AuthRecord:
    """An anonymous record last active at ``last_active`` (or ``inactive_days`` before :data:`NOW`),
    with one cart line per product id in ``products`` (inside an app context)."""
    active = last_active or NOW - timedelta(days=inactive_days)
    handle = secrets.token_hex(8)
    record = AuthRecord(
        collection=collection,
        email=f"anonymous-{handle}@anonymous.invalid",
        username=f"guest-{handle[:10]}",
        is_anonymous=True,
        password_hash="!unusable",
        created=created or active,
        updated=created or active,
        last_active_at=active,
    )
    db.session.add(record)
    db.session.flush()
    for product_id in products or []:
        db.session.add(CartItem(owner_id=record.id, product_id=product_id, quantity=1))
    db.session.commit()
    # Detached with its values loaded: tests still read ``.id`` after a cleanup deleted the row.
    db.session.refresh(record)
    db.session.expunge(record)
    return record


def make_order(owner: AuthRecord, *, placed_by_anonymous: bool | None = None) -> Order:
    """A placed order of ``owner`` (inside an app context)."""
    order = Order(
        owner_id=owner.id,
        checkout_key=secrets.token_urlsafe(16),
        email="buyer@example.com",
        full_name="Ada Lovelace",
        address="12 Analytical Row",
        city="London",
        postal_code="N1 7AA",
        country="United Kingdom",
        total_cents=1800,
        placed_by_anonymous=owner.is_anonymous if placed_by_anonymous is None else placed_by_anonymous,
    )
    db.session.add(order)
    db.session.commit()
    return order


def make_admin(email: str = "admin@example.com") -> AuthRecord:
    """A full account with the admin flag (inside an app context)."""
    return make_account(email, admin=True)


def use_identity(client: FlaskClient, record: AuthRecord | str) -> None:
    """Make ``record`` (or the record with that id) the client's identity by giving it an auth cookie
    (inside an app context)."""
    if isinstance(record, str):
        found = db.session.get(AuthRecord, record)
        assert found is not None, f"no record {record}"
        record = found
    client.set_cookie(AUTH_COOKIE, issue_token(record))


def exists(record_id: str) -> bool:
    return db.session.get(AuthRecord, record_id, populate_existing=True) is not None


def count(model: type[object], **where: object) -> int:
    """Rows of ``model`` matching ``where`` (inside an app context)."""
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.session.execute(query).scalar_one())
