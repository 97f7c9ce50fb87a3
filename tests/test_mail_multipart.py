"""Mail with a text and an HTML part: kept whole by the outbox, shown at /dev/outbox with its links,
and sent as multipart/alternative by the SMTP backend to a real SMTP server."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session
from aiosmtpd.smtp import SMTP as SMTPServer
from flask import Flask
from flask.testing import FlaskClient

from storefront.mail import links_in
from storefront.mail import Mail
from storefront.mail import send_mail

from .accounts_helpers import outbox

TEXT = "Hello,\n\nYour order: https://shop.example/orders/view/abc.def\n"
HTML = '<p>Hello, <a href="https://shop.example/orders/view/abc.def" style="color:#0b5c4a">your order</a></p>'


def test_outbox_keeps_both_parts(app: Flask) -> None:
    with app.app_context():
        assert send_mail(Mail("ada@example.com", "Both parts", TEXT, HTML))
    [message] = outbox(app)
    assert (message.body, message.html) == (TEXT, HTML)


def test_plain_mail_has_no_html_part(app: Flask) -> None:
    with app.app_context():
        assert send_mail(Mail("ada@example.com", "Text only", TEXT))
    assert outbox(app)[0].html is None


def test_outbox_page_shows_both_parts_and_the_links(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        send_mail(Mail("ada@example.com", "Both parts", TEXT, HTML))
    [message] = outbox(app)
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "Text part" in page and "HTML part" in page
    assert '<a href="https://shop.example/orders/view/abc.def">' in page
    html_url = f"/dev/outbox/{message.id}/html"
    assert f'src="{html_url}" sandbox' in page
    part = client.get(html_url)
    assert part.status_code == 200 and part.mimetype == "text/html"
    assert part.get_data(as_text=True) == HTML
    # Inline styles as mail uses them, but never a script; framed by the outbox page only.
    policy = part.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and part.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_html_part_page_is_404_without_one(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        send_mail(Mail("ada@example.com", "Text only", TEXT))
    [message] = outbox(app)
    assert client.get(f"/dev/outbox/{message.id}/html").status_code == 404
    assert client.get("/dev/outbox/999999/html").status_code == 404


def test_html_part_page_is_404_outside_debug_and_testing(app: Flask) -> None:
    with app.app_context():
        send_mail(Mail("ada@example.com", "Both parts", TEXT, HTML))
    [message] = outbox(app)
    app.testing = False
    assert app.test_client().get(f"/dev/outbox/{message.id}/html").status_code == 404


def test_links_in_text() -> None:
    text = "Open http://a.example/x?y=1, or https://b.example/z.\nAgain: http://a.example/x?y=1,"
    assert links_in(text) == ["http://a.example/x?y=1,", "https://b.example/z."]
    assert links_in("no links here") == []


# A real SMTP server ---------------------------------------------------------------------------------


class Recorder(Sink):
    """Keeps every message the server accepts, as the bytes that came over the wire."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def test_smtp_backend_sends_both_parts_to_a_real_server(
    app: Flask, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        assert send_mail(Mail("ada@example.com", "Your receipt", TEXT, HTML))
    assert outbox(app) == []
    [(sender, recipients, raw)] = recorder.received
    assert sender == "no-reply@storefront.localhost" and recipients == ["ada@example.com"]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Your receipt" and message["To"] == "ada@example.com"
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.iter_parts()
    assert isinstance(text_part, EmailMessage) and isinstance(html_part, EmailMessage)
    # SMTP carries lines ending in CRLF; the text is the same.
    assert text_part.get_content_type() == "text/plain"
    assert text_part.get_content().replace("\r\n", "\n") == TEXT
    assert html_part.get_content_type() == "text/html"
    assert html_part.get_content().strip() == HTML


def test_smtp_backend_sends_plain_text_alone(app: Flask, smtp_server: tuple[Recorder, int]) -> None:
    recorder, port = smtp_server
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        assert send_mail(Mail("ada@example.com", "Plain", TEXT))
    [(_sender, _recipients, raw)] = recorder.received
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message.get_content_type() == "text/plain"


def test_smtp_server_gone_is_logged_not_raised(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with app.app_context():
        assert send_mail(Mail("ada@example.com", "Your receipt", TEXT, HTML)) is False
    assert "Could not send 'Your receipt' to ada@example.com" in caplog.text
    assert "orders/view" not in caplog.text  # the secret link never reaches the log
