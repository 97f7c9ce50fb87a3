"""The rules of full accounts: verification of the address, changes of email and password, history.

Views call these functions and only turn their results and errors into pages. Each change is one
transaction; every change of email or password rotates the record's token key (every older token dies)
and then issues a fresh cookie for this device, which also renews the Flask session.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask import render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..auth import AuthError
from ..auth import AuthRecord
from ..auth import check_password_policy
from ..auth import clean_email
from ..auth import email_in_use
from ..auth import FieldError
from ..auth import hash_password
from ..auth import InvalidToken
from ..auth import issue_token
from ..auth import sign_in_with_token
from ..auth import StorageError
from ..auth import TokenExpired
from ..auth import VERIFICATION_TYPE
from ..auth import verify_mailed_token
from ..auth import verify_password
from ..extensions import db
from ..mail import Mail
from ..mail import send_mail
from ..mail import site_link
from ..shop import guests
from ..shop.checkout import owned_by
from ..shop.models import Order


class VerificationFailed(AuthError):
    status = 400
    default_message = (
        "This verification link is not valid. It may be incomplete, or a newer link may have replaced it."
    )


EXPIRED_LINK = "This verification link has expired. Sign in and ask for a new one on your account page."


# ---------------------------------------------------------------------------------------------------
# Upgrade: the guest's side is in storefront.shop.guests; the account asks to confirm its address.


@dataclass(frozen=True)
class ChangeResult:
    """A change that sent (or tried to send) a verification email."""

    record: AuthRecord
    verification_sent: bool


def upgrade_to_account(
    record: AuthRecord, email: str, password: str, *, set_cookie: bool = True
) -> ChangeResult:
    """Upgrade the guest ``record`` (see :func:`storefront.shop.guests.upgrade`) and email a link
    that confirms the new address. The JSON API passes ``set_cookie=False``: its client signs in
    again with the new password."""
    guests.upgrade(record, email, password, set_cookie=set_cookie)
    return ChangeResult(record, send_verification(record))


# ---------------------------------------------------------------------------------------------------
# Email verification.


def send_verification(record: AuthRecord) -> bool:
    """Email ``record`` a signed link that confirms its address. Returns whether the mail went out.

    The link is a ``verification`` token keyed by the record's token key and bound to the address, so
    it dies when the email or password changes, and expires after VERIFICATION_TOKEN_LIFETIME. It
    starts with SITE_URL (see :func:`storefront.mail.site_link`).
    """
    lifetime = current_app.config["VERIFICATION_TOKEN_LIFETIME"]
    token = issue_token(record, VERIFICATION_TYPE, lifetime=lifetime, extra={"email": record.email})
    link = site_link("account.verify_email", token=token)
    hours = max(1, round(lifetime.total_seconds() / 3600))
    body = render_template("mail/verify_email.txt", record=record, link=link, hours=hours)
    return send_mail(Mail(record.email, "Confirm your email address", body))


def check_verification_token(token: str) -> AuthRecord:
    """The full account a verification link names, or ``VerificationFailed`` with the reason."""
    try:
        return verify_mailed_token(token, VERIFICATION_TYPE)
    except TokenExpired as error:
        raise VerificationFailed(EXPIRED_LINK) from error
    except InvalidToken as error:
        raise VerificationFailed() from error


def confirm_verification(token: str) -> AuthRecord:
    """Mark the record a verification link names as verified."""
    record = check_verification_token(token)
    if not record.verified:
        record.verified = True
        db.session.commit()
    return record


# ---------------------------------------------------------------------------------------------------
# Changes on the account page.


def _check_current_password(record: AuthRecord, password: str) -> None:
    if not password or not verify_password(record.password_hash, password):
        raise FieldError("current_password", "Your current password is not correct.")


def _commit_credentials_change(record: AuthRecord, *, set_cookie: bool = True) -> None:
    """Rotate the token key, save, and sign this device in again with a fresh token (with
    ``set_cookie=False``, the JSON API's, the client signs in again itself)."""
    record.rotate_token_key()
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise FieldError("email", "Another account already uses this email address.") from error
    except SQLAlchemyError as error:
        db.session.rollback()
        raise StorageError("We could not save that change just now. Please try again.") from error
    sign_in_with_token(issue_token(record), set_cookie=set_cookie)


def change_email(record: AuthRecord, new_email: str, current_password: str) -> ChangeResult:
    """Give the account a new address: asks for the password, signs other devices out, and asks
    for verification of the new address."""
    _check_current_password(record, current_password)
    email = clean_email(new_email)
    if email == record.email:
        raise FieldError("email", "That is already your email address.")
    if email_in_use(email):
        raise FieldError("email", "Another account already uses this email address.")
    record.email = email
    record.verified = False
    _commit_credentials_change(record)
    return ChangeResult(record, send_verification(record))


def change_password(
    record: AuthRecord, current_password: str, new_password: str, *, set_cookie: bool = True
) -> None:
    """Set a new password: asks for the current one and signs every other device out."""
    _check_current_password(record, current_password)
    check_password_policy(new_password)
    record.password_hash = hash_password(new_password)
    _commit_credentials_change(record, set_cookie=set_cookie)


def order_history(record: AuthRecord) -> list[Order]:
    """The account's orders and those of guest records merged into it, newest first."""
    query = (
        select(Order)
        .where(owned_by(record))
        .options(selectinload(Order.lines))
        .order_by(Order.created.desc(), Order.id.desc())
    )
    return list(db.session.execute(query).scalars())
