"""Outgoing mail, through the backend that ``MAIL_BACKEND`` names.

* ``outbox`` (development and tests): each message is stored in the ``outbox_messages`` table and
  written to the log, so a developer reads it at ``/dev/outbox`` (served only when the app runs in
  debug or testing mode; a 404 otherwise) or in the console. The page shows both parts of a message
  (the HTML part in a sandboxed frame) and lists its links, so browser tests can follow them.
* ``smtp`` (production): each message is sent through ``MAIL_SERVER`` with :mod:`smtplib`, with
  STARTTLS when ``MAIL_USE_TLS`` is set and a login when ``MAIL_USERNAME`` is set.

:func:`send_mail` never raises for a delivery failure: it logs it and returns ``False``, so a page
that sends mail can tell the shopper to try again instead of failing.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import Flask
from flask import render_template
from flask import Response
from flask import url_for
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import select
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .config import check_choice
from .extensions import db
from .models import Model
from .models import utcnow

BACKENDS = ("outbox", "smtp")
OUTBOX_PAGE_SIZE = 50

logger = logging.getLogger(__name__)


class OutboxMessage(Model):
    """A message the ``outbox`` backend kept instead of sending it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # the HTML alternative, when the message has one
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


@dataclass(frozen=True)
class Mail:
    """One message: a plain-text ``body`` and, optionally, an ``html`` alternative of the same text.

    Both parts go out as ``multipart/alternative``: a client shows the HTML part, and one that cannot
    (or a reader who prefers plain text) shows the text part.
    """

    recipient: str
    subject: str
    body: str
    html: str | None = None


def site_link(endpoint: str, **values: Any) -> str:
    """An absolute link to ``endpoint`` for a mail. It starts with ``SITE_URL``, never with the Host
    the request names: a request sent with ``Host: evil.example`` must not get a valid token mailed
    inside a link to that host."""
    return str(current_app.config["SITE_URL"]).rstrip("/") + url_for(endpoint, **values)


def send_mail(mail: Mail) -> bool:
    """Deliver ``mail`` through the configured backend. Returns whether it was handed over."""
    if current_app.config["MAIL_BACKEND"] == "smtp":
        return _send_smtp(mail)
    return _store_in_outbox(mail)


def _store_in_outbox(mail: Mail) -> bool:
    try:
        db.session.add(
            OutboxMessage(recipient=mail.recipient, subject=mail.subject, body=mail.body, html=mail.html)
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        logger.exception("Could not store a message to %s in the outbox", mail.recipient)
        return False
    logger.info("Outbox: to %s, subject %r\n%s", mail.recipient, mail.subject, mail.body)
    return True


def _send_smtp(mail: Mail) -> bool:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=str(config["MAIL_FROM"]).rpartition("@")[2].strip("> "))
    message.set_content(mail.body)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError):
        # The body holds a secret (a verification, reset or order link): log the failure, never the body.
        logger.exception("Could not send %r to %s through SMTP", mail.subject, mail.recipient)
        return False
    return True


dev_bp = Blueprint("dev", __name__, url_prefix="/dev")


@dev_bp.get("/outbox")
def outbox() -> str:
    """The newest messages of the outbox, for a developer: only in debug or testing mode."""
    if not (current_app.debug or current_app.testing):
        abort(404)
    messages = db.session.execute(
        select(OutboxMessage)
        .order_by(OutboxMessage.created.desc(), OutboxMessage.id.desc())
        .limit(OUTBOX_PAGE_SIZE)
    ).scalars()
    return render_template(
        "dev/outbox.html",
        messages=[(message, links_in(message.body)) for message in messages],
        backend=current_app.config["MAIL_BACKEND"],
    )


@dev_bp.get("/outbox/<int:message_id>/html")
def outbox_html(message_id: int) -> Response:
    """The HTML part of one message, as a mail client would show it (the outbox page frames it)."""
    if not (current_app.debug or current_app.testing):
        abort(404)
    message = db.get_or_404(OutboxMessage, message_id)
    if message.html is None:
        abort(404)
    response = Response(message.html, mimetype="text/html")
    # Mail HTML styles itself inline and must never run script; only the outbox page may frame it.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


_LINK = re.compile(r"https?://[^\s<>\"']+")


def links_in(text: str) -> list[str]:
    """The web addresses in ``text``, in order, each once."""
    return list(dict.fromkeys(_LINK.findall(text)))


def init_app(app: Flask) -> None:
    """Check the setting and register the developer's outbox page."""
    check_choice(app, "MAIL_BACKEND", BACKENDS)
    app.register_blueprint(dev_bp)
