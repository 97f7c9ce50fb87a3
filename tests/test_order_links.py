"""Order links and the order look-up: a link opens one order and nothing else, bad links get a clear
page (never a 500), and the look-up answers the same whether or not the order and email match."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from storefront.extensions import db
from storefront.shop.models import Order
from storefront.shop.order_links import normal_order_number
from storefront.shop.order_links import order_from_link
from storefront.shop.order_links import order_link
from storefront.shop.order_links import OrderLinkError
from storefront.shop.order_links import SALT
from storefront.shop.order_pages import LOOKUP_ANSWER

from .accounts_helpers import outbox
from .factories import CONTACT
from .factories import make_account
from .factories import order_for_record
from .factories import start_guest

SITE = "https://shop.example"
ALICE = {"REMOTE_ADDR": "198.51.100.1"}
BOB = {"REMOTE_ADDR": "198.51.100.2"}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"SITE_URL": SITE}


@pytest.fixture
def number(app: Flask, client: FlaskClient, products: list[int]) -> str:
    """A mug and a tote ordered by a guest customer with CONTACT's email (placed by the service, so
    no receipt went out)."""
    return order_for_record(app, start_guest(client, products[0], customer=True), products[1])


def link_path(app: Flask, number: str) -> str:
    with app.test_request_context():
        order = db.session.execute(db.select(Order).where(Order.number == number)).scalar_one()
        link = order_link(order)
    assert link.startswith(f"{SITE}/orders/view/")
    return link.removeprefix(SITE)


def token_for(app: Flask, claims: object, secret: str | None = None, salt: str = SALT) -> str:
    return URLSafeTimedSerializer(secret or app.config["SECRET_KEY"], salt=salt).dumps(claims)


# The service ----------------------------------------------------------------------------------------


def test_a_link_names_its_order(app: Flask, number: str) -> None:
    path = link_path(app, number)
    with app.test_request_context():
        assert order_from_link(path.rsplit("/", 1)[1]).number == number


@pytest.mark.parametrize(
    "claims",
    [
        "SF-AAAA-AAAA",
        {"number": "SF-AAAA-AAAA", "email": CONTACT.email},  # no such order
        {"number": None, "email": CONTACT.email},
        {"number": "SF-\x00", "email": CONTACT.email},
    ],
)
def test_signed_tokens_naming_no_order_open_nothing(app: Flask, number: str, claims: object) -> None:
    with app.test_request_context(), pytest.raises(OrderLinkError) as caught:
        order_from_link(token_for(app, claims))
    assert caught.value.status == 404


def test_a_link_is_bound_to_the_orders_email(app: Flask, number: str) -> None:
    token = token_for(app, {"number": number, "email": "mallory@example.com"})
    with app.test_request_context(), pytest.raises(OrderLinkError):
        order_from_link(token)


@pytest.mark.parametrize(
    ("secret", "salt"),
    [("another-secret-key-of-another-shop-entirely", SALT), (None, "another-purpose")],
)
def test_tokens_of_another_key_or_purpose_open_nothing(
    app: Flask, number: str, secret: str | None, salt: str
) -> None:
    token = token_for(app, {"number": number, "email": CONTACT.email}, secret, salt)
    with app.test_request_context(), pytest.raises(OrderLinkError):
        order_from_link(token)


def test_links_expire(app: Flask, number: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lifetime = app.config["ORDER_LINK_LIFETIME"]
    assert lifetime.days == 90
    issued_at = time.time() - lifetime.total_seconds() - 60
    monkeypatch.setattr(time, "time", lambda: issued_at)
    token = token_for(app, {"number": number, "email": CONTACT.email})
    monkeypatch.undo()
    with app.test_request_context(), pytest.raises(OrderLinkError) as caught:
        order_from_link(token)
    assert caught.value.status == 410 and "expired" in caught.value.message


def test_order_numbers_as_typed() -> None:
    assert normal_order_number("  sf-7kq2-m9xh ") == "SF-7KQ2-M9XH"


# The status page ------------------------------------------------------------------------------------


def test_status_page_shows_the_order_and_offers_an_account(app: Flask, number: str) -> None:
    page = app.test_client().get(link_path(app, number))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert f"Order {number}" in text and "Placed" in text and "Mug" in text
    assert "12 Analytical Row" in text
    assert 'href="/register?email=ada@example.com">Create account</a>' in text


def test_a_guest_is_offered_the_upgrade(app: Flask, client: FlaskClient, number: str) -> None:
    text = client.get(link_path(app, number)).get_data(as_text=True)
    assert 'href="/account/upgrade">Create account</a>' in text


def test_no_account_offer_when_the_email_has_one(app: Flask, number: str) -> None:
    with app.app_context():
        make_account(CONTACT.email)
    text = app.test_client().get(link_path(app, number)).get_data(as_text=True)
    assert number in text and "Create account</a>" not in text.split("<main", 1)[1]


def test_status_page_shows_no_other_order(app: Flask, client: FlaskClient, products: list[int]) -> None:
    record_id = start_guest(client, products[0], customer=True)
    first = order_for_record(app, record_id, products[1])
    second = order_for_record(app, record_id, products[2])
    text = app.test_client().get(link_path(app, first)).get_data(as_text=True)
    assert first in text and second not in text and "Pen" not in text


def test_register_page_takes_the_email_from_the_link(app: Flask) -> None:
    text = app.test_client().get("/register?email=ada%40example.com").get_data(as_text=True)
    assert 'value="ada@example.com"' in text


@pytest.mark.parametrize(
    "token",
    ["nonsense", "a.b.c", "%00", "x" * 5000, "eyJudW1iZXIiOiJTRi0ifQ.aw74qA.YEsPCjgjQv4dYOn79uTj7PLN6G4"],
)
def test_bad_links_get_a_clear_page(app: Flask, number: str, token: str) -> None:
    page = app.test_client().get(f"/orders/view/{token}")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "This order link is not valid." in text and 'href="/orders/lookup"' in text
    assert page.headers["Cache-Control"] == "no-store"


def test_a_tampered_link_gets_a_clear_page(app: Flask, number: str) -> None:
    path = link_path(app, number)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert app.test_client().get(tampered).status_code == 404


def test_an_expired_link_gets_a_clear_page(app: Flask, number: str, monkeypatch: pytest.MonkeyPatch) -> None:
    issued_at = time.time() - app.config["ORDER_LINK_LIFETIME"].total_seconds() - 60
    monkeypatch.setattr(time, "time", lambda: issued_at)
    token = token_for(app, {"number": number, "email": CONTACT.email})
    monkeypatch.undo()
    page = app.test_client().get(f"/orders/view/{token}")
    assert page.status_code == 410 and "This order link has expired." in page.get_data(as_text=True)


# The look-up ----------------------------------------------------------------------------------------


def lookup(client: FlaskClient, number: str, email: str, environ: dict[str, str] | None = None) -> Any:
    return client.post(
        "/orders/lookup", data={"order_number": number, "email": email}, environ_base=environ or {}
    )


def test_lookup_page_has_the_fields(client: FlaskClient) -> None:
    page = client.get("/orders/lookup")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert ">Order number</label>" in text and ">Email</label>" in text and "Send me a link</button>" in text


def test_lookup_mails_the_link_on_a_match(app: Flask, client: FlaskClient, number: str) -> None:
    page = lookup(client, f" {number.lower()} ", "Ada@Example.com")
    assert page.status_code == 200 and LOOKUP_ANSWER in page.get_data(as_text=True)
    [mail] = outbox(app)
    assert mail.recipient == CONTACT.email and number in mail.subject
    assert link_path(app, number).rsplit("/", 1)[0] in mail.body and mail.html
    path = mail.body.split(SITE, 1)[1].split()[0]
    assert number in app.test_client().get(path).get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed_number", "email"), [(None, "mallory@example.com"), ("SF-AAAA-AAAA", CONTACT.email)]
)
def test_lookup_answers_the_same_and_mails_nothing_otherwise(
    app: Flask, number: str, typed_number: str | None, email: str
) -> None:
    def answer(typed: str, typed_email: str) -> str:
        page = lookup(app.test_client(), typed, typed_email)
        assert page.status_code == 200
        # The same page but for the values typed, which the form shows again, and its CSRF token.
        text = re.sub(r'name="csrf_token" value="[^"]*"', "", page.get_data(as_text=True))
        return text.replace(typed, "").replace(typed_email, "")

    right = answer(number, CONTACT.email)
    assert LOOKUP_ANSWER in right
    assert answer(typed_number or number, email) == right
    assert len(outbox(app)) == 1  # the right one only


@pytest.mark.parametrize(
    "data",
    [{}, {"order_number": "SF-\x00", "email": "a@b.example"}, {"order_number": "x", "email": "not mail"}],
)
def test_lookup_refuses_bad_input_with_a_400(app: Flask, client: FlaskClient, data: dict[str, str]) -> None:
    page = client.post("/orders/lookup", data=data)
    assert page.status_code == 400 and outbox(app) == []


class TestRateLimits:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"SITE_URL": SITE, "RATELIMIT_ENABLED": True, "ORDER_LOOKUP_RATE_LIMIT": "2 per hour"}

    def test_per_client_address(self, client: FlaskClient) -> None:
        codes = [lookup(client, f"SF-AAAA-AAA{n}", f"{n}@example.com", ALICE).status_code for n in range(3)]
        assert codes == [200, 200, 429]
        assert lookup(client, "SF-AAAA-AAAZ", "z@example.com", BOB).status_code == 200

    def test_per_order_number(self, client: FlaskClient, number: str) -> None:
        addresses = [{"REMOTE_ADDR": f"198.51.100.{n}"} for n in range(10, 13)]
        codes = [
            lookup(client, number, f"{n}@example.com", env).status_code for n, env in enumerate(addresses)
        ]
        assert codes == [200, 200, 429]
        # The same number as typed differently counts against the same budget.
        assert lookup(client, number.lower(), "x@example.com", BOB).status_code == 429

    def test_per_email(self, client: FlaskClient) -> None:
        addresses = [{"REMOTE_ADDR": f"198.51.100.{n}"} for n in range(20, 23)]
        codes = [
            lookup(client, f"SF-BBBB-BBB{n}", "ada@example.com", env).status_code
            for n, env in enumerate(addresses)
        ]
        assert codes == [200, 200, 429]
