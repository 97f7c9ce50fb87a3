"""Concurrency against a real server: gunicorn with four workers, 32 client threads, on SQLite in WAL
mode and on PostgreSQL.

* 100 shoppers race to check out the last 20 units: exactly 20 orders, stock 0, every loser told;
* the same order form sent ten times at once: one order, and every answer shows it;
* 200 anonymous sign-ins at once: 200 records, no errors, no "database is locked";
* the CLI cleanup running while shoppers keep adding to their carts: no active shopper loses a thing,
  no order is touched.

Both backends run in one go, whatever the database of the run (scripts/test leaves this module out
of its PostgreSQL pass): the PostgreSQL runs use a database of their own on the server of
``proof_helpers.postgres_server`` and are skipped, with the reason, when none answers. Each server
is started once per backend for the module.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from typing import TypeVar
from urllib.parse import urlencode

import jwt
import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from bench.load import Session
from bench.server import app_env
from bench.server import BIN
from bench.server import gunicorn
from bench.server import prepare_database
from storefront import create_app
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import OrderLine
from storefront.shop.models import Product

from .conftest import make_test_config
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM
from .factories import make_guest
from .proof_helpers import CHECKOUT_KEY
from .proof_helpers import orphan_cart_lines
from .proof_helpers import server_database_url

# One xdist worker runs the whole module, so each backend's server starts once, and two servers of
# four workers each never compete for the same cores.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gunicorn-concurrency")]

SECRET_KEY = "concurrency-test-secret-key-long-enough-for-hs256"
WORKERS = 4
CLIENTS = 32
SHOPPERS = 8  # who keep shopping while the cleanup runs
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Shop:
    """A running server and an app of the test's own on the same database (for setup and checks)."""

    backend: str
    url: str
    env: dict[str, str]
    app: Flask

    def session(self, record: AuthRecord | None = None) -> Session:
        """A cookie-keeping client, signed in as ``record`` when given."""
        client = Session(self.url)
        if record is not None:
            client.cookies[AUTH_COOKIE] = issue_token(record)
        return client


@pytest.fixture(
    scope="module",
    params=["sqlite-wal", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with ExitStack() as stack:
        url = server_database_url(request.param, stack, tmp_path_factory, "concurrency")
        env = app_env(url, STOREFRONT_SECRET_KEY=SECRET_KEY)
        prepare_database(env)
        app = create_app(make_test_config(url, SECRET_KEY=SECRET_KEY))
        with app.app_context():
            if request.param == "sqlite-wal":
                assert db.session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        server_process = stack.enter_context(gunicorn(env, workers=WORKERS))
        yield Shop(request.param, server_process.url, env, app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def in_parallel(function: Callable[[T], R], items: list[T], clients: int = CLIENTS) -> list[R]:
    """``function`` over ``items`` on ``clients`` threads; the first exception (a 5xx: ``Session``
    raises on every status of 500 or more) fails the test."""
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(function, items))


def checkout_form(client: Session) -> dict[str, str]:
    """The checkout page's form, filled in, with its CSRF token and one-time key."""
    status, page = client.request("GET", "/checkout")
    assert status == 200, page[:300]
    key = CHECKOUT_KEY.search(page)
    assert key is not None, "no checkout form on the page"
    return {"csrf_token": client.csrf(page), "checkout_key": key.group(1).decode(), **CONTACT_FORM}


def post_for_location(client: Session, path: str, form: dict[str, str]) -> tuple[int, str | None]:
    """POST a form with ``client``'s cookies and return the status and the Location header (which
    ``Session`` does not keep)."""
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items()),
                "User-Agent": "Mozilla/5.0 storefront-concurrency-test",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def product_with_stock(shop: Shop, slug: str, stock: int) -> int:
    with shop.app.app_context():
        product = db.session.execute(select(Product).where(Product.slug == slug)).scalar_one()
        product.stock = stock
        db.session.commit()
        return product.id


def stock_of(shop: Shop, product_id: int) -> int:
    with shop.app.app_context():
        return db.session.get_one(Product, product_id).stock


def make_shoppers(shop: Shop, count: int, **kwargs: Any) -> list[AuthRecord]:
    with shop.app.app_context():
        records = [make_guest(collection="customers", **kwargs, commit=False) for _ in range(count)]
        db.session.commit()
        for record in records:
            db.session.expunge(record)
        return records


# ---------------------------------------------------------------------------------------------------
# The last units


def test_a_hundred_shoppers_race_for_the_last_twenty_units(shop: Shop) -> None:
    product_id = product_with_stock(shop, "wool-beanie", 20)
    shoppers = make_shoppers(shop, 100, cart={product_id: 1})
    with shop.app.app_context():
        clients = [shop.session(record) for record in shoppers]
    forms = in_parallel(checkout_form, clients)

    def buy(item: tuple[Session, dict[str, str]]) -> bytes:
        client, form = item
        status, _ = client.request("POST", "/checkout", form)
        assert status == 302
        status, page = client.request("GET", "/cart")  # where every answer lands, with its message
        assert status == 200
        return page

    answers = in_parallel(buy, list(zip(clients, forms, strict=True)))
    pages = {record.id: page for record, page in zip(shoppers, answers, strict=True)}

    with shop.app.app_context():
        buyers = Counter(
            db.session.execute(
                select(Order.owner_id)
                .join(OrderLine)
                .where(OrderLine.product_id == product_id, Order.owner_id.in_(list(pages)))
            ).scalars()
        )
        assert db.session.get_one(Product, product_id).stock == 0
    assert len(buyers) == 20 and set(buyers.values()) == {1}, buyers
    for record_id, page in pages.items():
        if record_id in buyers:
            assert b"Your cart is empty" in page
        else:
            assert b"is sold out" in page or b"left in stock" in page, page.decode()[:2000]
    print(f"[{shop.backend}] 100 shoppers, 20 units: {len(buyers)} orders, stock 0, 80 told sold out")


def test_the_same_order_form_sent_ten_times_at_once_makes_one_order(shop: Shop) -> None:
    product_id = product_with_stock(shop, "brass-pen", 50)
    (record,) = make_shoppers(shop, 1, cart={product_id: 2})
    with shop.app.app_context():
        client = shop.session(record)
    form = checkout_form(client)
    start = threading.Barrier(10)

    def send(_: int) -> tuple[int, str | None]:
        start.wait(timeout=30)
        return post_for_location(client, "/checkout", form)

    answers = in_parallel(send, list(range(10)), clients=10)

    with shop.app.app_context():
        orders = db.session.execute(select(Order).where(Order.owner_id == record.id)).scalars().all()
        assert len(orders) == 1
        assert orders[0].checkout_key == form["checkout_key"]
        assert db.session.get_one(Product, product_id).stock == 48
        assert db.session.execute(select(CartItem).where(CartItem.owner_id == record.id)).first() is None
    # Every one of the ten answers shows that order, not an error about an empty cart.
    assert set(answers) == {(302, f"/orders/{orders[0].number}")}, answers
    print(f"[{shop.backend}] one order form sent 10 times at once: 1 order, 10 answers showing it")


def test_one_shopper_adding_the_same_product_ten_times_at_once_gets_ten(shop: Shop) -> None:
    """A double click, or several tabs: each add that is answered counts, none is lost or fails."""
    product_id = product_with_stock(shop, "field-notebook", 1000)
    (record,) = make_shoppers(shop, 1)
    with shop.app.app_context():
        client = shop.session(record)
    form = {"csrf_token": client.csrf(client.request("GET", "/")[1]), "product_id": str(product_id)}
    start = threading.Barrier(10)

    def add(_: int) -> tuple[int, str | None]:
        start.wait(timeout=30)
        return post_for_location(client, "/cart/add", form)

    answers = in_parallel(add, list(range(10)), clients=10)

    assert set(answers) == {(302, "/cart")}, answers
    with shop.app.app_context():
        line = db.session.execute(select(CartItem).where(CartItem.owner_id == record.id)).scalar_one()
        assert line.quantity == 10
    print(f"[{shop.backend}] one product added 10 times at once by one shopper: quantity 10")


# ---------------------------------------------------------------------------------------------------
# Anonymous sign-ins


def test_two_hundred_anonymous_sign_ins_at_once(shop: Shop) -> None:
    with shop.app.app_context():
        before = db.session.execute(select(func.count()).select_from(AuthRecord)).scalar_one()

    def sign_in(_: int) -> tuple[int, str]:
        status, body = Session(shop.url).request("POST", "/api/collections/users/auth-anonymous")
        assert b"locked" not in body.lower()
        return status, body.decode()

    answers = in_parallel(sign_in, list(range(200)))

    assert {status for status, _ in answers} == {200}, [body for status, body in answers if status != 200]
    ids = {json.loads(body)["record"]["id"] for _, body in answers}
    assert len(ids) == 200
    with shop.app.app_context():
        records = db.session.execute(select(AuthRecord).where(AuthRecord.id.in_(ids))).scalars().all()
        assert len(records) == 200
        assert all(record.is_anonymous and record.collection == "users" for record in records)
        after = db.session.execute(select(func.count()).select_from(AuthRecord)).scalar_one()
        assert after == before + 200
    print(f"[{shop.backend}] 200 anonymous sign-ins at once: 200 distinct records, no error")


# ---------------------------------------------------------------------------------------------------
# Cleanup while shopping


def test_cleanup_runs_while_shoppers_keep_adding_to_their_carts(shop: Shop) -> None:
    """1,200 idle guests are deleted in batches of 20 by the CLI while eight active shoppers keep
    adding to their carts and forty guests idle almost as long come back for one more add."""
    mug, tote = [product_with_stock(shop, slug, 100_000_000) for slug in ("ceramic-mug", "canvas-tote")]
    with shop.app.app_context():
        # Idle for two months: every tenth owns an order (kept), every third has a cart.
        idle = []
        for index in range(1200):
            cart = {mug: 1} if index % 3 == 0 else None
            idle.append(
                make_guest(
                    collection="users" if index % 2 else "customers", cart=cart, idle_days=60, commit=False
                )
            )
        for record in idle[::10]:
            db.session.add(
                Order(owner_id=record.id, checkout_key=f"key-{record.id}", total_cents=1800, **CONTACT_FORM)
            )
        active = [make_guest(collection="users", idle_days=0, commit=False) for _ in range(SHOPPERS)]
        # Idle for 59 days, so the last batches would take them: they come back while the run goes.
        returning = [
            make_guest(collection="users", cart={tote: 1}, idle_days=59, commit=False) for _ in range(40)
        ]
        db.session.commit()
        idle_with_orders = {record.id for record in idle[::10]}
        idle_without = {record.id for record in idle} - idle_with_orders
        orders_before = dict(db.session.execute(select(Order.id, Order.owner_id)).all())
        clients = {record.id: shop.session(record) for record in active}
        tokens = {record.id: issue_token(record) for record in returning}

    csrf = {record_id: client.csrf(client.request("GET", "/")[1]) for record_id, client in clients.items()}
    comers = {}
    for record_id, token in tokens.items():
        comer = Session(shop.url)
        csrf[record_id] = comer.csrf(comer.request("GET", "/")[1])  # a session, not yet signed in
        comer.cookies[AUTH_COOKIE] = token
        comers[record_id] = comer

    cleanup = subprocess.Popen(
        [str(BIN / "flask"), "--app", "storefront", "anonymous", "cleanup", "--inactive-days", "30"]
        + ["--batch-size", "20"],
        env=shop.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def keep_shopping(record_id: str) -> Counter[int]:
            client, added = clients[record_id], Counter[int]()
            rounds = 0
            # At least ten adds each, and on while the cleanup runs (at most 60: the shoppers must not
            # starve the cleanup of the two cores of a small CI machine).
            while rounds < 10 or (cleanup.poll() is None and rounds < 60):
                product_id = (mug, tote)[rounds % 2]
                status, _ = client.request(
                    "POST", "/cart/add", {"csrf_token": csrf[record_id], "product_id": str(product_id)}
                )
                assert status == 302
                added[product_id] += 1
                rounds += 1
            return added

        deleting = threading.Event()
        first_batch = sorted(idle_without)[:50]

        def wait_until_the_cleanup_deletes() -> None:
            """Poll (a few milliseconds apart) until some idle guest is gone or the run is over."""
            with shop.app.app_context():
                while not deleting.is_set() and cleanup.poll() is None:
                    left = db.session.execute(
                        select(func.count()).where(AuthRecord.id.in_(first_batch))
                    ).scalar_one()
                    db.session.commit()
                    if left < len(first_batch):
                        deleting.set()
                    else:
                        deleting.wait(0.005)

        def come_back(record_id: str) -> Counter[int]:
            wait_until_the_cleanup_deletes()
            form = {"csrf_token": csrf[record_id], "product_id": str(mug)}
            status, _ = comers[record_id].request("POST", "/cart/add", form)
            assert status == 302
            return Counter({mug: 1})

        def visit(record_id: str) -> Counter[int]:
            return keep_shopping(record_id) if record_id in clients else come_back(record_id)

        carts = in_parallel(visit, [*clients, *comers], clients=SHOPPERS + 4)
        expected = dict(zip([*clients, *comers], carts, strict=True))
        output, errors = cleanup.communicate(timeout=60)
    finally:
        if cleanup.poll() is None:
            cleanup.kill()
            cleanup.wait()
    assert cleanup.returncode == 0, errors.decode()

    def cart_of(record_id: str) -> dict[int, int]:
        query = select(CartItem.product_id, CartItem.quantity).where(CartItem.owner_id == record_id)
        return dict(db.session.execute(query).all())

    with shop.app.app_context():
        for record_id in clients:
            assert db.session.get(AuthRecord, record_id) is not None, "an active shopper was deleted"
            assert cart_of(record_id) == dict(expected[record_id])
        came_back_in_time = 0
        for record_id, comer in comers.items():
            now_id = jwt.decode(comer.cookies[AUTH_COOKIE], options={"verify_signature": False})["id"]
            if now_id == record_id:  # back before a batch reached it: kept, with the new item
                assert cart_of(record_id) == {tote: 1, mug: 1}
                came_back_in_time += 1
            else:  # deleted before it came back: signed out, and the add started a new guest cart
                assert db.session.get(AuthRecord, record_id) is None
                assert cart_of(now_id) == {mug: 1}
        remaining = set(
            db.session.execute(select(AuthRecord.id).where(AuthRecord.id.in_([r.id for r in idle]))).scalars()
        )
        assert remaining == idle_with_orders
        assert dict(db.session.execute(select(Order.id, Order.owner_id)).all()) == orders_before
        assert orphan_cart_lines() == 0
    deleted = len(idle_without) + len(comers) - came_back_in_time
    assert f"Deleted {deleted:,} and kept {len(idle_with_orders):,}" in output.decode()
    adds = sum(sum(added.values()) for added in expected.values())
    print(
        f"[{shop.backend}] cleanup while {SHOPPERS} shoppers made {adds} adds and {came_back_in_time} of "
        f"{len(comers)} idle guests came back in time: {output.decode().splitlines()[-1]}"
    )
