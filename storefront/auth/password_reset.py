"""Password reset by mail: a single-use code that expires.

The mail carries the code twice: as a link to the reset page (``/account/reset/<code>``, built from
SITE_URL, never from the request's Host) and on a line of its own for the JSON API's clients. The
code is a ``passwordReset`` token signed with the record's token key and bound to its address.
Setting the new password rotates that key, so the code works once, and every token issued before
(sessions on other devices included) dies with it; it also expires after PASSWORD_RESET_LIFETIME.
Asking for a code answers the same whether or not the address has an account (ASVS 6.3.8).
"""

from __future__ import annotations

import logging

from flask import current_app
from flask import render_template
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..mail import Mail
from ..mail import send_mail
from ..mail import site_link
from .accounts import check_password_policy
from .errors import AuthError
from .errors import InvalidToken
from .errors import StorageError
from .errors import TokenExpired
from .models import AuthRecord
from .passwords import hash_password
from .service import find_record
from .tokens import issue_token
from .tokens import verify_mailed_token

RESET_TYPE = "passwordReset"
logger = logging.getLogger(__name__)


class ResetFailed(AuthError):
    status = 400
    default_message = "This password reset link is not valid, or it was already used. Ask for a new one."


class ResetExpired(ResetFailed):
    status = 410
    default_message = "This password reset link has expired. Ask for a new one."


def request_password_reset(collection: str, email: str) -> None:
    """Mail a reset code to the full account of ``collection`` that has ``email``, if there is one.

    Guest (anonymous) records have no address to mail and no password a person knows: they get none.
    """
    record = find_record(collection, email)
    if record is None or record.is_anonymous:
        return
    lifetime = current_app.config["PASSWORD_RESET_LIFETIME"]
    code = issue_token(record, RESET_TYPE, lifetime=lifetime, extra={"email": record.email})
    link = site_link("reset.new_password", code=code)
    context = {
        "record": record,
        "code": code,
        "link": link,
        "minutes": max(1, round(lifetime.total_seconds() / 60)),
    }
    mail = Mail(
        record.email,
        "Reset your password",
        render_template("mail/password_reset.txt", **context),
        render_template("mail/password_reset.html", **context),
    )
    if not send_mail(mail):
        logger.warning("Could not send a password reset code to record %s", record.id)


def check_reset_code(code: str, collection: str | None = None) -> AuthRecord:
    """The full account a reset ``code`` is for, without using the code up.

    Raises ``ResetFailed`` for a code that is invalid, used, expired or (with ``collection``) of
    another collection. The web page passes no collection: an address has one account in all of them.
    """
    try:
        return verify_mailed_token(code, RESET_TYPE, collection=collection)
    except TokenExpired as error:
        raise ResetExpired() from error
    except InvalidToken as error:
        raise ResetFailed() from error


def reset_password(code: str, password: str, collection: str | None) -> AuthRecord:
    """Give the record a reset ``code`` names the new ``password``; the code then stops working.

    Raises ``ResetFailed`` for a code :func:`check_reset_code` refuses, and ``FieldError`` for a
    password the policy refuses. Following the mailed code proves the address, so an unverified
    account whose address has not changed since becomes verified, as PocketBase does.
    """
    record = check_reset_code(code, collection)
    check_password_policy(password)
    record.password_hash = hash_password(password)
    record.verified = True
    record.rotate_token_key()
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        raise StorageError("We could not save the new password just now. Please try again.") from error
    return record
