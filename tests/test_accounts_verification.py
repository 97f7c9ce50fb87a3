"""Email verification links and the mail backends."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront import create_app
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.auth.tokens import VERIFICATION_TYPE
from storefront.extensions import db
from storefront.mail import Mail
from storefront.mail import send_mail

from . import conftest
from .accounts_helpers import flashes
from .accounts_helpers import outbox
from .accounts_helpers import record
from .accounts_helpers import verification_path
from .conftest import sign_in
from .factories import PASSWORD
from .factories import start_guest

EMAIL = "new.shopper@example.com"


def upgrade(client: FlaskClient, products: list[int], email: str = EMAIL) -> str:
    """A guest that upgrades; returns the record id."""
    guest_id = start_guest(client, products[0])
    response = client.post(
        "/account/upgrade", data={"email": email, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 302
    return guest_id


def test_valid_link_asks_then_verifies(app: Flask, client: FlaskClient, products: list[int]) -> None:
    record_id = upgrade(client, products)
    path = verification_path(app)

    page = client.get(path)
    assert page.status_code == 200
    assert b"Confirm that <strong>new.shopper@example.com</strong> is your address." in page.data
    assert b">Confirm email</button>" in page.data
    assert record(app, record_id).verified is False  # type: ignore[union-attr]  # GET changes nothing

    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert record(app, record_id).verified is True  # type: ignore[union-attr]
    profile = client.get("/account")
    assert "Thank you: new.shopper@example.com is confirmed." in flashes(profile.data)
    assert b"(confirmed)" in profile.data

    again = client.get(path)  # a second visit says so instead of failing
    assert again.status_code == 200 and b"is already confirmed" in again.data


def test_link_works_on_another_device(app: Flask, client: FlaskClient, products: list[int]) -> None:
    record_id = upgrade(client, products)
    other = app.test_client()
    response = other.post(verification_path(app))
    assert response.headers["Location"] == "/login"
    assert record(app, record_id).verified is True  # type: ignore[union-attr]


def test_expired_link(app: Flask, client: FlaskClient, products: list[int]) -> None:
    app.config["VERIFICATION_TOKEN_LIFETIME"] = timedelta(seconds=-1)
    record_id = upgrade(client, products)
    path = verification_path(app)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert b"This verification link has expired." in response.data
    assert record(app, record_id).verified is False  # type: ignore[union-attr]


@pytest.mark.parametrize("damage", ["signature", "payload", "garbage", "auth-token", "other-email"])
def test_tampered_link(app: Flask, client: FlaskClient, products: list[int], damage: str) -> None:
    record_id = upgrade(client, products)
    token = verification_path(app).rsplit("/", 1)[1]
    header, payload, signature = token.split(".")
    with app.app_context():
        target = db.session.get_one(AuthRecord, record_id)
        if damage == "signature":
            token = f"{header}.{payload}.{signature[:-4]}AAAA"
        elif damage == "payload":
            claims = jwt.decode(token, options={"verify_signature": False})
            forged = jwt.encode(
                {**claims, "exp": claims["exp"] + 86400},
                "a guessed key that is long enough for hs256",
                algorithm="HS256",
            )
            token = f"{header}.{forged.split('.')[1]}.{signature}"
        elif damage == "garbage":
            token = "not-a-token"
        elif damage == "auth-token":  # a sign-in token is not a verification link
            token = issue_token(target)
        else:  # signed properly, but for an address the record doesn't have
            token = issue_token(target, VERIFICATION_TYPE, extra={"email": "someone@example.com"})
    for response in (client.get(f"/account/verify/{token}"), client.post(f"/account/verify/{token}")):
        assert response.status_code == 400
        assert b"This verification link is not valid." in response.data
    assert record(app, record_id).verified is False  # type: ignore[union-attr]


def test_link_dies_when_the_password_changes(app: Flask, client: FlaskClient, products: list[int]) -> None:
    record_id = upgrade(client, products)
    path = verification_path(app)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "another passphrase",
            "confirm": "another passphrase",
        },
    )
    assert response.status_code == 302
    assert client.post(path).status_code == 400
    assert record(app, record_id).verified is False  # type: ignore[union-attr]


def test_resend_sends_a_new_working_link(app: Flask, client: FlaskClient, products: list[int]) -> None:
    record_id = upgrade(client, products)
    response = client.post("/account/verify/resend", follow_redirects=True)
    assert f"We sent a link to {EMAIL}. Follow it to confirm your address." in flashes(response.data)
    assert len(outbox(app)) == 2
    client.post(verification_path(app))
    assert record(app, record_id).verified is True  # type: ignore[union-attr]
    response = client.post("/account/verify/resend", follow_redirects=True)
    assert "Your email address is already confirmed." in flashes(response.data)
    assert len(outbox(app)) == 2


def test_anonymous_records_get_no_verification(app: Flask, client: FlaskClient, products: list[int]) -> None:
    start_guest(client, products[0])
    response = client.post("/account/verify/resend")
    assert response.headers["Location"].startswith("/account/upgrade")
    assert outbox(app) == []


# The outbox and SMTP backends ------------------------------------------------------------------------


def test_outbox_page_in_testing(app: Flask, client: FlaskClient, products: list[int]) -> None:
    upgrade(client, products)
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Confirm your email address" in html and EMAIL in html
    assert f'<a href="{app.config["SITE_URL"]}/account/verify/' in html  # the link can be followed from there


def test_outbox_page_is_404_outside_debug_and_testing(database_uri: str) -> None:
    app = create_app(conftest.make_test_config(database_uri, TESTING=False))
    with app.app_context():
        db.create_all()
    try:
        assert app.test_client().get("/dev/outbox").status_code == 404
        app.debug = True
        assert app.test_client().get("/dev/outbox").status_code == 200
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def test_outbox_logs_the_message(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with app.test_request_context(), caplog.at_level(logging.INFO, logger="storefront.mail"):
        assert send_mail(Mail("a@example.com", "Hello", "Body text"))
    assert "a@example.com" in caplog.text and "Body text" in caplog.text


class FakeSMTP:
    """Records what the SMTP backend does instead of talking to a server."""

    instances: list[FakeSMTP] = []
    fail = False

    def __init__(self, host: str, port: int, timeout: float) -> None:
        if self.fail:
            raise ConnectionRefusedError("no server")
        self.address = (host, port, timeout)
        self.calls: list[str] = []
        self.sent: list[EmailMessage] = []
        FakeSMTP.instances.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append("quit")

    def starttls(self, context: Any = None) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login {user}")

    def send_message(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    FakeSMTP.instances = []
    FakeSMTP.fail = False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def test_smtp_backend(
    app: Flask, client: FlaskClient, products: list[int], fake_smtp: type[FakeSMTP]
) -> None:
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="mail.example.com",
        MAIL_PORT=587,
        MAIL_USE_TLS=True,
        MAIL_USERNAME="shop",
        MAIL_PASSWORD="secret",
        MAIL_FROM="Shop <shop@example.com>",
    )
    upgrade(client, products)
    assert outbox(app) == []
    (smtp,) = fake_smtp.instances
    assert smtp.address == ("mail.example.com", 587, 10)
    assert smtp.calls == ["starttls", "login shop", "quit"]
    (message,) = smtp.sent
    assert message["To"] == EMAIL and message["From"] == "Shop <shop@example.com>"
    assert message["Subject"] == "Confirm your email address"
    assert "/account/verify/" in message.get_content()


def test_smtp_failure_is_told_not_a_500(
    app: Flask, client: FlaskClient, products: list[int], fake_smtp: type[FakeSMTP]
) -> None:
    app.config["MAIL_BACKEND"] = "smtp"
    fake_smtp.fail = True
    guest_id = start_guest(client, products[0])
    response = client.post(
        "/account/upgrade",
        data={"email": EMAIL, "password": PASSWORD, "confirm": PASSWORD},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert record(app, guest_id).is_anonymous is False  # type: ignore[union-attr]  # the upgrade stands
    assert any("We couldn't send the confirmation email just now." in text for text in flashes(response.data))


def test_production_sends_by_smtp(database_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    app = create_app(conftest.make_test_config(database_uri))
    assert app.config["MAIL_BACKEND"] == "smtp"


def test_unknown_mail_backend_is_refused(database_uri: str) -> None:
    with pytest.raises(RuntimeError, match="MAIL_BACKEND"):
        create_app(conftest.make_test_config(database_uri, MAIL_BACKEND="pigeon"))


def test_sign_in_after_verification(app: Flask, client: FlaskClient, products: list[int]) -> None:
    upgrade(client, products)
    client.post(verification_path(app))
    client.post("/logout")
    assert sign_in(client, EMAIL).status_code == 302


@pytest.mark.parametrize("config_overrides", [{"SITE_URL": "https://shop.test"}])
def test_links_in_mail_come_from_site_url_never_the_host(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    """A request naming another Host (``Host: evil.example``) must not get a valid token mailed inside
    a link to that host: the upgrade's and the resend's links both start with SITE_URL."""
    client.environ_base["HTTP_HOST"] = "evil.example"  # every request of this shopper names it
    upgrade(client, products)
    assert client.post("/account/verify/resend").status_code == 302
    messages = outbox(app)
    assert len(messages) == 2
    for message in messages:
        assert "https://shop.test/account/verify/" in message.body
        assert "evil.example" not in message.body
