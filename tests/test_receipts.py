"""The receipt of every order: both parts, what was bought, where it goes, and a link from SITE_URL
that opens the order without any cookie. A mail that fails never loses or blocks the order."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.shop import receipts

from .accounts_helpers import outbox
from .conftest import sign_in
from .factories import API_CONTACT
from .factories import CONTACT_FORM
from .factories import start_guest
from .test_api_shop import add
from .test_api_shop import checkout
from .test_api_shop import guest

SITE = "https://shop.example"
LINK = re.compile(re.escape(SITE) + r"(/orders/view/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"SITE_URL": SITE}


def guest_order(client: FlaskClient, products: list[int], **contact: str) -> str:
    """A guest customer buys two mugs and a tote; returns the order number."""
    start_guest(client, products[0], 2, customer=True)
    client.post("/cart/add", data={"product_id": products[1], "quantity": 1})
    form = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', form)
    assert key
    response = client.post("/checkout", data={**CONTACT_FORM, **contact, "checkout_key": key.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)
    number = response.headers["Location"].rsplit("/", 1)[1]
    return number


def test_guest_order_gets_a_receipt_with_both_parts(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    number = guest_order(client, products)
    [mail] = outbox(app)
    assert mail.recipient == "ada@example.com"
    assert number in mail.subject
    for part in (mail.body, mail.html or ""):
        assert number in part
        assert "Mug" in part and "Tote" in part
        assert "$36.00" in part and "$24.50" in part  # line totals
        assert "$60.50" in part  # the order's total
        assert "12 Analytical Row" in part and "N1 7AA London" in part and "United Kingdom" in part
        assert "localhost" not in part  # the request's Host: links come from SITE_URL only
    assert "2 x Mug at $18.00: $36.00" in mail.body
    text_link = LINK.search(mail.body)
    html_link = LINK.search(mail.html or "")
    assert text_link and html_link and text_link.group(1) == html_link.group(1)
    assert "<!doctype html>" in (mail.html or "").lower()


def test_the_link_opens_the_order_without_any_cookie(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    number = guest_order(client, products)
    link = LINK.search(outbox(app)[0].body)
    assert link
    fresh = app.test_client()
    page = fresh.get(link.group(1))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert number in text and "Mug" in text and "$60.50" in text and "12 Analytical Row" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert fresh.get_cookie("storefront_auth") is None  # opening it signs nobody in


def test_account_order_gets_a_receipt(
    app: Flask, client: FlaskClient, products: list[int], account: str
) -> None:
    sign_in(client)
    client.post("/cart/add", data={"product_id": products[2], "quantity": 1})
    form = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', form)
    assert key
    data = {**CONTACT_FORM, "email": "shopper@example.com", "checkout_key": key.group(1)}
    assert client.post("/checkout", data=data).status_code == 302
    [mail] = outbox(app)
    assert mail.recipient == "shopper@example.com" and "Pen" in mail.body and "$9.99" in mail.body


def test_the_same_form_sent_twice_sends_one_receipt(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    start_guest(client, products[0], customer=True)
    form = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', form)
    assert key
    data = {**CONTACT_FORM, "checkout_key": key.group(1)}
    first = client.post("/checkout", data=data)
    second = client.post("/checkout", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(outbox(app)) == 1


def test_confirmation_promises_the_receipt_when_it_went(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    number = guest_order(client, products)
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "A receipt goes to ada@example.com" in page
    assert "couldn't send the receipt" not in page


def test_a_mail_failure_keeps_the_order_and_shows_the_link(
    app: Flask,
    client: FlaskClient,
    products: list[int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(receipts, "send_mail", lambda mail: False)
    number = guest_order(client, products)
    assert outbox(app) == []
    assert f"Could not send the receipt of order {number}" in caplog.text
    page = client.get(f"/orders/{number}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "We couldn't send the receipt to ada@example.com." in text
    assert "Your order is placed." in text
    assert "A receipt goes to" not in text
    link = LINK.search(text)
    assert link
    assert number in app.test_client().get(link.group(1)).get_data(as_text=True)


def test_an_unreachable_smtp_server_never_blocks_the_order(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_TIMEOUT=2)
    number = guest_order(client, products)
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert number in page and "We couldn't send the receipt" in page


def test_api_checkout_sends_one_receipt(app: Flask, client: FlaskClient, products: list[int]) -> None:
    headers = guest(client)
    add(client, headers, products[0])
    placed = checkout(client, headers)
    assert placed.status_code == 200, placed.get_json()
    assert checkout(client, headers).get_json()["id"] == placed.get_json()["id"]  # the same key
    [mail] = outbox(app)
    assert mail.recipient == API_CONTACT["email"] and placed.get_json()["number"] in mail.body
