"""Races replayed step by step: two requests interleaved at the one moment where they collide, so a
race the load tests can only hit by luck is shown every time.

* two shoppers whose carts hold the same products in opposite orders check out at once
  (PostgreSQL: row locks taken in opposite orders deadlock);
* the same order form sent twice, the first finishing between the second's checks;
* a cleanup deleting an idle guest between the loading of its cookie and its next cart change.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storefront import create_app
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop import checkout
from storefront.shop.cart import Cart
from storefront.shop.cart import load_cart
from storefront.shop.checkout import place_order
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import Product

from .accounts_helpers import cart_of
from .conftest import listening
from .conftest import make_test_config
from .factories import AUTH_COOKIE
from .factories import CONTACT
from .factories import CONTACT_FORM
from .factories import identity_id
from .factories import make_guest
from .proof_helpers import CHECKOUT_KEY
from .proof_helpers import orphan_cart_lines
from .proof_helpers import postgres_database
from .proof_helpers import postgres_server

# ---------------------------------------------------------------------------------------------------
# Opposite orders of the same products (PostgreSQL row locks)


@pytest.fixture
def postgres_app() -> Iterator[Flask]:
    server, reason = postgres_server()
    if server is None:
        pytest.skip(reason)
    with postgres_database(server, "storefront_interleavings") as url:
        app = create_app(make_test_config(url))
        with app.app_context():
            db.create_all()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
def test_carts_with_the_same_products_in_opposite_orders_check_out_at_once(postgres_app: Flask) -> None:
    app = postgres_app
    with app.app_context():
        mug = Product(slug="mug", name="Mug", description="A mug.", price_cents=1800, stock=10, image="m.svg")
        pen = Product(slug="pen", name="Pen", description="A pen.", price_cents=999, stock=10, image="p.svg")
        db.session.add_all([mug, pen])
        db.session.flush()
        earlier, later = utcnow() - timedelta(minutes=2), utcnow() - timedelta(minutes=1)
        shoppers = [
            make_guest(collection="customers", commit=False),
            make_guest(collection="customers", commit=False),
        ]
        db.session.add_all(
            [
                CartItem(owner_id=shoppers[0].id, product_id=mug.id, quantity=1, added_at=earlier),
                CartItem(owner_id=shoppers[0].id, product_id=pen.id, quantity=1, added_at=later),
                CartItem(owner_id=shoppers[1].id, product_id=pen.id, quantity=1, added_at=earlier),
                CartItem(owner_id=shoppers[1].id, product_id=mug.id, quantity=1, added_at=later),
            ]
        )
        db.session.commit()
        ids, product_ids = [shopper.id for shopper in shoppers], [mug.id, pen.id]
        engine = db.engine

    first_update_done = {record_id: threading.Event() for record_id in ids}
    local = threading.local()

    def other_is_waiting_for_a_lock() -> bool:
        with engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        return bool(waiting)

    def after_execute(*args: Any) -> None:
        # After each shopper's first stock UPDATE, hold on until the other shopper has taken its
        # first one too, or is queued behind ours: the moment the two transactions collide.
        statement: str = args[2]
        if not statement.startswith("UPDATE products") or getattr(local, "done", False):
            return
        local.done = True
        me = local.record_id
        first_update_done[me].set()
        other = next(record_id for record_id in ids if record_id != me)
        deadline = time.monotonic() + 10
        while not first_update_done[other].wait(timeout=0.01):
            if other_is_waiting_for_a_lock():
                return
            assert time.monotonic() < deadline, "the other checkout neither ran nor waited"

    errors: list[BaseException] = []

    def buy(record_id: str) -> None:
        local.record_id = record_id
        try:
            with app.app_context():
                record = db.session.get_one(AuthRecord, record_id)
                place_order(record, CONTACT, secrets.token_urlsafe(24))
        except BaseException as error:  # reported below, with the other thread's outcome
            errors.append(error)

    with listening(engine, "after_cursor_execute", after_execute):
        threads = [threading.Thread(target=buy, args=(record_id,)) for record_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    with app.app_context():
        assert len(db.session.execute(select(Order)).scalars().all()) == 2
        assert [db.session.get_one(Product, product_id).stock for product_id in product_ids] == [8, 8]


# ---------------------------------------------------------------------------------------------------
# The same order form, twice


def _checkout_page_key(client: FlaskClient, product_id: int) -> str:
    assert client.post("/cart/add", data={"product_id": product_id, "quantity": 2}).status_code == 302
    assert client.post("/checkout", data={"action": "guest-checkout"}).status_code == 302
    match = CHECKOUT_KEY.search(client.get("/checkout").data)
    assert match is not None
    return match.group(1).decode()


def test_an_order_form_sent_twice_shows_the_order_even_when_the_first_wins_mid_way(
    app: Flask, client: FlaskClient, products: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second submission has found no order for its key yet when the first one commits: it must
    still answer with that order, not with "Your cart is empty"."""
    key = _checkout_page_key(client, products[0])
    record_id = identity_id(client)
    first: list[str] = []
    calls: list[str | None] = []

    def first_submission_commits_now(owner_id: str | None) -> Cart:
        calls.append(owner_id)
        if len(calls) == 1:
            with app.app_context():  # another request: a session and connection of its own
                monkeypatch.setattr(checkout, "load_cart", load_cart)
                owner = db.session.get_one(AuthRecord, owner_id)
                first.append(place_order(owner, CONTACT, key).number)
                monkeypatch.setattr(checkout, "load_cart", first_submission_commits_now)
        return load_cart(owner_id)

    monkeypatch.setattr(checkout, "load_cart", first_submission_commits_now)
    response = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})

    assert first, "the interleaving did not happen"
    assert response.status_code == 302
    assert response.headers["Location"] == f"/orders/{first[0]}"
    with app.app_context():
        orders = db.session.execute(select(Order).where(Order.owner_id == record_id)).scalars().all()
        assert [order.number for order in orders] == first
        assert db.session.get_one(Product, products[0]).stock == 10 - 2


# ---------------------------------------------------------------------------------------------------
# A cleanup deleting the shopper mid-request


@contextmanager
def deleted_before_its_activity_write(engine: Engine, record_id: str) -> Iterator[list[str]]:
    """For the block: just before the first activity write (``UPDATE auth_records SET ...
    last_active_at``), delete the record on a connection of its own, as a cleanup batch would. Yields a
    list that holds the record's id once that happened."""
    deleted: list[str] = []

    def cleanup_batch_now(*args: Any) -> None:
        statement: str = args[2]
        activity_write = statement.startswith("UPDATE auth_records SET") and "last_active_at" in statement
        if activity_write and not deleted:
            with engine.connect() as other:
                other.execute(delete(AuthRecord).where(AuthRecord.id == record_id))
                other.commit()
            deleted.append(record_id)

    with listening(engine, "before_cursor_execute", cleanup_batch_now):
        yield deleted


def test_a_guest_deleted_by_a_cleanup_mid_request_gets_a_new_cart_not_an_error(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    """The guest was idle for two months; it comes back just as a cleanup batch deletes it, after
    its cookie was read and before the activity write that would have saved it."""
    with app.app_context():
        guest = make_guest(collection="users", cart={products[0]: 1}, idle_days=60, commit=False)
        db.session.commit()
        guest_id, token, engine = guest.id, issue_token(guest), db.engine
    client.set_cookie(AUTH_COOKIE, token)
    with deleted_before_its_activity_write(engine, guest_id) as deleted:
        response = client.post("/cart/add", data={"product_id": products[1]})

    assert deleted, "the interleaving did not happen"
    assert response.status_code == 302
    new_id = identity_id(client)
    assert new_id is not None and new_id != guest_id
    assert cart_of(app, new_id) == {products[1]: 1}
    with app.app_context():
        assert db.session.get(AuthRecord, guest_id) is None
        assert orphan_cart_lines() == 0
        assert db.session.execute(select(CartItem).where(CartItem.owner_id == guest_id)).first() is None


def test_a_refresh_of_a_guest_deleted_mid_request_is_refused(app: Flask, client: FlaskClient) -> None:
    """The API's auth-refresh, raced by the same cleanup: no new token for a record that is gone."""
    with app.app_context():
        guest = make_guest(collection="users", idle_days=60, commit=False)
        db.session.commit()
        guest_id, token, engine = guest.id, issue_token(guest), db.engine
    with deleted_before_its_activity_write(engine, guest_id) as deleted:
        response = client.post(
            "/api/collections/users/auth-refresh", headers={"Authorization": f"Bearer {token}"}
        )

    assert deleted, "the interleaving did not happen"
    assert response.status_code == 401
