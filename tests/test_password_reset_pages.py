"""Password reset on the web: the same answer for every email, a mailed link from SITE_URL that works
once and expires, a new password that ends every other session and signs the shopper in here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.auth.models import AuthRecord
from storefront.auth.password_reset import check_reset_code
from storefront.auth.password_reset import request_password_reset
from storefront.auth.password_reset import RESET_TYPE
from storefront.auth.password_reset import ResetExpired
from storefront.auth.password_reset import ResetFailed
from storefront.auth.tokens import issue_token
from storefront.extensions import db

from .accounts_helpers import NEW_PASSWORD
from .accounts_helpers import outbox
from .conftest import sign_in
from .factories import auth_cookie
from .factories import identity_id
from .factories import make_account
from .factories import start_guest

SITE = "https://shop.example"
LINK = re.compile(re.escape(SITE) + r"(/account/reset/[A-Za-z0-9_.\-]+)")
ANSWER = "If an account uses that email, we sent it a link to choose a new password."


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"SITE_URL": SITE}


def ask(client: FlaskClient, email: str, environ: dict[str, str] | None = None) -> Any:
    return client.post("/account/reset", data={"email": email}, environ_base=environ or {})


def mailed_path(app: Flask) -> str:
    mail = outbox(app)[-1]
    assert mail.subject == "Reset your password"
    text, html = LINK.search(mail.body), LINK.search(mail.html or "")
    assert text and html and text.group(1) == html.group(1)
    return text.group(1)


def test_login_page_links_here(client: FlaskClient) -> None:
    text = client.get("/login").get_data(as_text=True)
    assert '<a href="/account/reset">Forgot password?</a>' in text
    assert '<a href="/orders/lookup">Find your order</a>' in text


def test_request_page_has_the_fields(client: FlaskClient) -> None:
    page = client.get("/account/reset")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert ">Email</label>" in text and "Send reset link</button>" in text


def test_the_answer_is_the_same_with_or_without_an_account(app: Flask, account: str) -> None:
    def answer(email: str) -> str:
        page = ask(app.test_client(), email)
        assert page.status_code == 200
        return re.sub(r'name="csrf_token" value="[^"]*"', "", page.get_data(as_text=True)).replace(email, "")

    known = answer("shopper@example.com")
    assert ANSWER in known
    assert answer("nobody@example.com") == known
    assert [mail.recipient for mail in outbox(app)] == ["shopper@example.com"]


def test_accounts_in_any_collection_get_the_mail(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_account("customer@example.com", collection="customers")
    ask(client, "Customer@Example.com")
    assert [mail.recipient for mail in outbox(app)] == ["customer@example.com"]


def test_guests_get_no_mail(app: Flask, client: FlaskClient, products: list[int]) -> None:
    guest_id = start_guest(client, products[0])
    with app.app_context():
        email = db.session.get_one(AuthRecord, guest_id).email
        for collection in app.config["AUTH_COLLECTIONS"]:
            request_password_reset(collection, email)
    assert outbox(app) == []


def test_the_mail_has_a_link_from_site_url_and_the_code(
    app: Flask, client: FlaskClient, account: str
) -> None:
    ask(client, "shopper@example.com")
    mail = outbox(app)[-1]
    path = mailed_path(app)
    code = path.rsplit("/", 1)[1]
    assert f"\n{code}\n" in mail.body  # on a line of its own, for the JSON API's clients
    assert "localhost" not in mail.body and "works once, for 60 minutes" in mail.body


def test_reset_sets_the_password_ends_other_sessions_and_signs_in(
    app: Flask, client: FlaskClient, account: str
) -> None:
    other_device = app.test_client()
    sign_in(other_device)
    assert other_device.get("/account").status_code == 200
    ask(client, "shopper@example.com")
    path = mailed_path(app)
    form = client.get(path)
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert ">New password</label>" in text and "Set new password</button>" in text
    done = client.post(path, data={"password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert identity_id(client) == account and client.get("/account").status_code == 200
    # The other device's session ended with the old token key.
    assert other_device.get("/account").status_code == 302
    assert sign_in(app.test_client()).status_code == 400  # the old password
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    # Used once: the link now gets a clear page.
    again = app.test_client().get(path)
    assert again.status_code == 400 and "not valid, or it was already used" in again.get_data(as_text=True)
    assert app.test_client().post(path, data={"password": "yet another passphrase"}).status_code == 400


def test_a_guest_cart_comes_along(app: Flask, client: FlaskClient, account: str, products: list[int]) -> None:
    start_guest(client, products[0])
    ask(client, "shopper@example.com")
    client.post(mailed_path(app), data={"password": NEW_PASSWORD})
    assert identity_id(client) == account
    assert "Mug" in client.get("/cart").get_data(as_text=True)


def test_a_weak_password_is_refused_and_the_link_still_works(
    app: Flask, client: FlaskClient, account: str
) -> None:
    ask(client, "shopper@example.com")
    path = mailed_path(app)
    weak = client.post(path, data={"password": "short"})
    assert weak.status_code == 400 and 'aria-invalid="true"' in weak.get_data(as_text=True)
    assert auth_cookie(client) is None
    assert client.post(path, data={"password": NEW_PASSWORD}).status_code == 302


def test_an_expired_link_gets_a_clear_page(app: Flask, client: FlaskClient, account: str) -> None:
    with app.app_context():
        record = db.session.get_one(AuthRecord, account)
        code = issue_token(record, RESET_TYPE, lifetime=timedelta(seconds=-1), extra={"email": record.email})
    for page in (
        client.get(f"/account/reset/{code}"),
        client.post(f"/account/reset/{code}", data={"password": NEW_PASSWORD}),
    ):
        assert page.status_code == 410
        assert "This password reset link has expired." in page.get_data(as_text=True)
        assert 'href="/account/reset"' in page.get_data(as_text=True)
    assert sign_in(client).status_code == 302  # the password did not change


@pytest.mark.parametrize("code", ["nonsense", "a.b.c", "%00", "x" * 5000])
def test_bad_links_get_a_clear_page(client: FlaskClient, account: str, code: str) -> None:
    page = client.get(f"/account/reset/{code}")
    assert page.status_code == 400 and "not valid" in page.get_data(as_text=True)


def test_a_link_for_another_purpose_is_refused(app: Flask, account: str) -> None:
    with app.app_context():
        record = db.session.get_one(AuthRecord, account)
        auth_token = issue_token(record)
        with pytest.raises(ResetFailed):
            check_reset_code(auth_token)
    assert app.test_client().get(f"/account/reset/{auth_token}").status_code == 400


def test_expired_is_its_own_failure(app: Flask, account: str) -> None:
    with app.app_context():
        record = db.session.get_one(AuthRecord, account)
        code = issue_token(record, RESET_TYPE, lifetime=timedelta(seconds=-1), extra={"email": record.email})
        with pytest.raises(ResetExpired):
            check_reset_code(code)


class TestRateLimits:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"SITE_URL": SITE, "RATELIMIT_ENABLED": True, "PASSWORD_RESET_RATE_LIMIT": "2 per hour"}

    def test_per_client_address(self, client: FlaskClient) -> None:
        alice = {"REMOTE_ADDR": "198.51.100.1"}
        codes = [ask(client, f"{n}@example.com", alice).status_code for n in range(3)]
        assert codes == [200, 200, 429]
        assert ask(client, "z@example.com", {"REMOTE_ADDR": "198.51.100.2"}).status_code == 200

    def test_per_email(self, app: Flask, client: FlaskClient, account: str) -> None:
        codes = [
            ask(client, "Shopper@example.com", {"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 429]
        assert len(outbox(app)) == 2
