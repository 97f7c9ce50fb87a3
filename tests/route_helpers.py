"""Routes of the app found from its URL map, with a sample value for every URL argument and a record
of every kind of visitor: the security and bad-request tests walk every route with them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from storefront.account.services import send_verification
from storefront.admin import cleanup
from storefront.auth.models import AuthRecord
from storefront.auth.password_reset import RESET_TYPE
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.mail import OutboxMessage
from storefront.shop.models import CartItem

from .factories import AUTH_COOKIE
from .factories import make_account
from .factories import make_guest
from .factories import order_for_record


def routes(app: Flask, method: str) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if method in (rule.methods or set())), key=lambda r: r.rule
    )


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


@dataclass
class World:
    """Records of every kind, and a sample value for every URL argument of the app."""

    ids: dict[str, str]  # kind of visitor: record id
    samples: dict[str, str]

    def path(self, rule: Rule) -> str:
        missing = sorted(set(rule.arguments) - set(self.samples))
        assert not missing, f"{rule.rule}: add a sample value for {missing} to the world fixture"
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", self.samples[name], path)
        return path


VISITORS = ["nobody", "guest", "guest customer", "account", "admin"]


@pytest.fixture
def world(app: Flask, products: list[int]) -> World:
    with app.test_request_context():
        guest = make_guest(collection="users", cart={products[0]: 1}, commit=False)
        customer = make_guest(collection="customers", cart={products[1]: 1}, commit=False)
        db.session.commit()
        account = make_account()
        admin = make_account("admin@example.com", admin=True)
        ids = {"guest": guest.id, "guest customer": customer.id, "account": account.id, "admin": admin.id}
        run = cleanup.start_run(cleanup.make_criteria(30), "admin:admin@example.com")
        verification = issue_token(account, "verification", extra={"email": account.email})
        reset_code = issue_token(account, RESET_TYPE, extra={"email": account.email})
        send_verification(account)
        message_id = db.session.execute(select(OutboxMessage.id)).scalars().first()
    number = order_for_record(app, ids["guest customer"], products[2])
    with app.app_context():
        line_id = db.session.execute(
            select(CartItem.id).where(CartItem.owner_id == ids["guest"])
        ).scalar_one()
    samples = {
        "product_id": str(products[0]),
        "number": number,
        "run_id": str(run.id),
        "token": verification,
        "collection": "users",
        "record_id": ids["account"],
        "line_id": str(line_id),
        "filename": "style.css",
        "code": reset_code,
        "message_id": str(message_id),
    }
    return World(ids, samples)


def client_as(app: Flask, world: World, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "nobody":
        with app.app_context():
            client.set_cookie(AUTH_COOKIE, issue_token(db.session.get_one(AuthRecord, world.ids[who])))
    return client
