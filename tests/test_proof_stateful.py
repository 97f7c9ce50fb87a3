"""A stateful property test: hypothesis plays random sequences of what shoppers and the admin do and
checks the shop's invariants after every step.

Steps: add to cart (which signs in anonymously), continue as a guest, place an order, create an
account from a guest (upgrade), change the password, sign out, sign in (the guest cart is merged), let
two months pass for one shopper, run the cleanup.

Invariants:

* no orphan rows: no cart line whose owner or product is missing;
* every cart line has exactly one owner, and one line per product;
* orders are never lost: the count never decreases and equals the orders placed; stock plus what was
  ordered is what the shop started with;
* a token older than an upgrade or a password change, or of a guest that was signed out, merged or
  cleaned up, is rejected (``auth-refresh`` answers 401); the token each browser holds still works.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import Phase
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant
from hypothesis.stateful import precondition
from hypothesis.stateful import rule
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from storefront.admin.cleanup import make_criteria
from storefront.admin.cleanup import run_cleanup
from storefront.admin.models import CleanupRun
from storefront.auth.errors import InvalidToken
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import verify_token
from storefront.extensions import db
from storefront.mail import OutboxMessage
from storefront.models import utcnow
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import OrderLine
from storefront.shop.models import Product

from .conftest import database_uri_in
from .conftest import fresh_app
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM
from .proof_helpers import CHECKOUT_KEY
from .proof_helpers import orphan_cart_lines
from .proof_helpers import postgres_pass

BROWSERS = 2
STOCK = 1000
browsers = st.integers(0, BROWSERS - 1)
# How often each kind of step really happened (a rule whose precondition fails does nothing), so the
# test can show it exercised every one.
STEPS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def machine_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with fresh_app(database_uri_in(tmp_path_factory.mktemp("stateful"), "stateful.sqlite")) as app:
        with app.app_context():
            db.session.add_all(
                [
                    Product(
                        slug=slug,
                        name=slug.title(),
                        description=".",
                        price_cents=100,
                        stock=STOCK,
                        image="x.svg",
                    )
                    for slug in ("mug", "pen", "hat")
                ]
            )
            db.session.commit()
        yield app


GUEST, CUSTOMER, ACCOUNT = "guest", "guest customer", "account"


class ShopMachine(RuleBasedStateMachine):
    """Two browsers (each a test client with its cookies) and the admin's cleanup.

    ``kinds`` is what each browser is signed in as, read back from its cookie after every step; the
    preconditions use it so that hypothesis only picks steps that can happen.
    """

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        with app.app_context():
            for model in (OrderLine, Order, CartItem, CleanupRun, OutboxMessage, AuthRecord):
                db.session.execute(delete(model))
            db.session.execute(update(Product).values(stock=STOCK))
            db.session.commit()
            self.product_ids = list(db.session.execute(select(Product.id).order_by(Product.id)).scalars())
        self.browsers: list[FlaskClient] = [app.test_client() for _ in range(BROWSERS)]
        self.kinds: list[str | None] = [None] * BROWSERS
        self.carts: list[bool] = [False] * BROWSERS  # whether the browser's cart has something
        self.accounts: dict[str, str] = {}  # email: password of the full accounts made so far
        self.orders_placed = 0
        self.idle_guests = False  # a guest was left idle for two months since the last cleanup
        self.dead_tokens: set[str] = set()  # tokens that must be refused from now on
        self.refused: set[str] = set()  # those checked so far

    # Helpers ---------------------------------------------------------------------------------------

    def token(self, browser: int) -> str | None:
        cookie = self.browsers[browser].get_cookie(AUTH_COOKIE)
        return cookie.value if cookie else None

    def record_id(self, browser: int) -> str | None:
        token = self.token(browser)
        return None if token is None else str(jwt.decode(token, options={"verify_signature": False})["id"])

    def identity(self, browser: int) -> AuthRecord | None:
        """The record the browser's cookie names, if the cookie is still valid."""
        token = self.token(browser)
        if token is None:
            return None
        with self.app.app_context():
            try:
                record = verify_token(token)[0].record
            except InvalidToken:
                return None
            db.session.expunge(record)
            return record

    def observe(self) -> None:
        """Read back what every browser is signed in as, and whether its cart has something."""
        for browser in range(BROWSERS):
            record = self.identity(browser)
            if record is None:
                self.kinds[browser], self.carts[browser] = None, False
                continue
            if not record.is_anonymous:
                self.kinds[browser] = ACCOUNT
            else:
                self.kinds[browser] = CUSTOMER if record.collection == "customers" else GUEST
            with self.app.app_context():
                line = db.session.execute(select(CartItem.id).where(CartItem.owner_id == record.id)).first()
                self.carts[browser] = line is not None

    def some(self, data: st.DataObject, *kinds: str | None) -> int:
        """A browser signed in as one of ``kinds`` (the rule's precondition says there is one)."""
        return data.draw(
            st.sampled_from([b for b in range(BROWSERS) if self.kinds[b] in kinds]), label="browser"
        )

    def any_of(self, *kinds: str | None) -> bool:
        return any(kind in kinds for kind in self.kinds)

    def retire(self, browser: int) -> None:
        """The browser's current token must die with the step about to run."""
        token = self.token(browser)
        if token is not None:
            self.dead_tokens.add(token)

    def post(self, browser: int, path: str, data: dict[str, object]) -> int:
        response = self.browsers[browser].post(path, data=data)
        assert response.status_code < 500
        return response.status_code

    # Rules -----------------------------------------------------------------------------------------

    @rule(browser=browsers, product=st.integers(0, 2), quantity=st.integers(1, 3))
    def add_to_cart(self, browser: int, product: int, quantity: int) -> None:
        status = self.post(
            browser, "/cart/add", {"product_id": self.product_ids[product], "quantity": quantity}
        )
        assert status == 302
        self.observe()
        assert self.kinds[browser] is not None and self.carts[browser]  # signed in anonymously if need be
        STEPS["add to cart"] += 1

    @precondition(lambda self: self.any_of(None, GUEST))
    @rule(data=st.data())
    def continue_as_guest(self, data: st.DataObject) -> None:
        browser = self.some(data, None, GUEST)
        if self.kinds[browser] == GUEST:
            self.retire(browser)  # the anonymous users record hands its cart over and is deleted
        self.post(browser, "/checkout", {"action": "guest-checkout"})
        self.observe()
        assert self.kinds[browser] == CUSTOMER
        STEPS["continue as guest"] += 1

    @precondition(
        lambda self: any(self.carts[b] and self.kinds[b] in (CUSTOMER, ACCOUNT) for b in range(BROWSERS))
    )
    @rule(data=st.data())
    def place_order(self, data: st.DataObject) -> None:
        browser = data.draw(
            st.sampled_from(
                [b for b in range(BROWSERS) if self.carts[b] and self.kinds[b] in (CUSTOMER, ACCOUNT)]
            )
        )
        key = CHECKOUT_KEY.search(self.browsers[browser].get("/checkout").data)
        assert key is not None
        status = self.post(browser, "/checkout", {**CONTACT_FORM, "checkout_key": key.group(1).decode()})
        assert status == 302
        self.orders_placed += 1
        self.observe()
        assert not self.carts[browser]
        STEPS["place order"] += 1

    @precondition(lambda self: self.any_of(GUEST, CUSTOMER))
    @rule(data=st.data())
    def upgrade(self, data: st.DataObject) -> None:
        browser = self.some(data, GUEST, CUSTOMER)
        # Made from the step count, not at random: hypothesis replays a run and must see the same
        # accounts in the same order (sign_in draws from them).
        email, password = f"shopper-{len(self.accounts)}@example.com", secrets.token_urlsafe(12)
        old = self.token(browser)
        status = self.post(
            browser, "/account/upgrade", {"email": email, "password": password, "confirm": password}
        )
        assert status == 302
        self.accounts[email] = password
        assert old is not None and self.token(browser) != old
        self.dead_tokens.add(old)
        self.observe()
        assert self.kinds[browser] == ACCOUNT
        STEPS["upgrade"] += 1

    @precondition(lambda self: self.any_of(ACCOUNT))
    @rule(data=st.data())
    def change_password(self, data: st.DataObject) -> None:
        browser = self.some(data, ACCOUNT)
        record = self.identity(browser)
        assert record is not None
        old, new = self.accounts[record.email], secrets.token_urlsafe(12)
        # Every browser signed in to this account holds a token that dies now (this one gets a new one).
        stale = [self.token(b) for b in range(BROWSERS) if self.record_id(b) == record.id]
        status = self.post(
            browser, "/account/password", {"current_password": old, "password": new, "confirm": new}
        )
        assert status == 302
        self.accounts[record.email] = new
        self.dead_tokens.update(token for token in stale if token is not None)
        self.observe()
        assert self.kinds[browser] == ACCOUNT
        STEPS["change password"] += 1

    @precondition(lambda self: self.any_of(GUEST, CUSTOMER, ACCOUNT))
    @rule(data=st.data())
    def sign_out(self, data: st.DataObject) -> None:
        browser = self.some(data, GUEST, CUSTOMER, ACCOUNT)
        was = self.kinds[browser]
        if was != ACCOUNT:
            self.retire(browser)  # a guest is retired: deleted, or its key rotated if it has orders
        assert self.post(browser, "/logout", {}) == 302
        assert self.token(browser) is None
        self.observe()
        STEPS["sign out account" if was == ACCOUNT else "sign out guest"] += 1

    @precondition(lambda self: bool(self.accounts) and self.any_of(None, GUEST, CUSTOMER))
    @rule(data=st.data())
    def sign_in(self, data: st.DataObject) -> None:
        browser = self.some(data, None, GUEST, CUSTOMER)
        email = data.draw(st.sampled_from(list(self.accounts)), label="account")
        was = self.kinds[browser]
        if was is not None:
            self.retire(browser)  # the guest is merged into the account and retired
        status = self.post(browser, "/login", {"email": email, "password": self.accounts[email]})
        assert status == 302
        signed_in = self.identity(browser)
        assert signed_in is not None and signed_in.email == email
        self.observe()
        STEPS["sign in" if was is None else "sign in, merging a guest cart"] += 1

    @precondition(lambda self: self.any_of(GUEST, CUSTOMER))
    @rule(data=st.data())
    def two_months_pass_for(self, data: st.DataObject) -> None:
        browser = self.some(data, GUEST, CUSTOMER)
        with self.app.app_context():
            db.session.execute(
                update(AuthRecord)
                .where(AuthRecord.id == self.record_id(browser))
                .values(last_active_at=utcnow() - timedelta(days=60))
            )
            db.session.commit()
        self.idle_guests = True
        STEPS["two months pass"] += 1

    @precondition(lambda self: self.idle_guests)
    @rule()
    def cleanup(self) -> None:
        with self.app.app_context():
            idle = set(
                db.session.execute(
                    select(AuthRecord.id).where(
                        AuthRecord.is_anonymous.is_(True),
                        AuthRecord.last_active_at < utcnow() - timedelta(days=30),
                        ~select(Order.id).where(Order.owner_id == AuthRecord.id).exists(),
                    )
                ).scalars()
            )
            run_cleanup(make_criteria(30), "test")
            assert db.session.execute(select(AuthRecord.id).where(AuthRecord.id.in_(idle))).first() is None
        for browser in range(BROWSERS):
            if self.record_id(browser) in idle:
                self.retire(browser)
                STEPS["cleanup deletes a shopper's guest record"] += 1
        self.idle_guests = False
        self.observe()
        STEPS["cleanup"] += 1

    # Invariants ------------------------------------------------------------------------------------

    @invariant()
    def no_orphan_or_shared_cart_lines(self) -> None:
        with self.app.app_context():
            assert orphan_cart_lines() == 0
            lines = db.session.execute(select(CartItem.owner_id, CartItem.product_id)).all()
            assert all(owner is not None for owner, _ in lines)
            assert len(lines) == len(set(lines))  # one owner, one line per product

    @invariant()
    def orders_are_never_lost(self) -> None:
        with self.app.app_context():
            orders = db.session.execute(select(func.count()).select_from(Order)).scalar_one()
            ordered = db.session.execute(select(func.coalesce(func.sum(OrderLine.quantity), 0))).scalar_one()
            stock = db.session.execute(select(func.sum(Product.stock))).scalar_one()
        assert orders == self.orders_placed
        assert stock + ordered == STOCK * len(self.product_ids)

    @invariant()
    def old_tokens_are_refused_and_current_ones_work(self) -> None:
        # A token once refused stays refused (its key is gone for good): each is checked when it dies,
        # and all of them again at the end of the run.
        self.check_dead_tokens(self.dead_tokens - self.refused)
        for browser in range(BROWSERS):
            token = self.token(browser)
            if token is not None and token not in self.dead_tokens:
                assert self.identity(browser) is not None

    def teardown(self) -> None:
        self.check_dead_tokens(self.dead_tokens)

    def check_dead_tokens(self, tokens: set[str]) -> None:
        client = self.app.test_client()
        for token in tokens:
            collection = jwt.decode(token, options={"verify_signature": False})["collectionName"]
            response = client.post(
                f"/api/collections/{collection}/auth-refresh", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, token
            self.refused.add(token)
            STEPS["old token refused"] += 1


def test_the_shop_keeps_its_invariants_whatever_shoppers_do(machine_app: Flask) -> None:
    class Machine(ShopMachine):
        def __init__(self) -> None:
            super().__init__(machine_app)

    STEPS.clear()
    run_state_machine_as_test(
        Machine,
        settings=settings(
            # Each example is a run of up to 25 steps; the PostgreSQL pass replays fewer of the same runs.
            max_examples=12 if postgres_pass() else 20,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        ),
    )
    print("stateful steps:", dict(STEPS))
    assert set(STEPS) >= {
        "add to cart",
        "continue as guest",
        "place order",
        "upgrade",
        "change password",
        "sign out guest",
        "sign out account",
        "sign in",
        "sign in, merging a guest cart",
        "two months pass",
        "cleanup",
        "cleanup deletes a shopper's guest record",
        "old token refused",
    }, STEPS
