"""Full accounts: records whose owner chose an email and a password."""

from __future__ import annotations

from email_validator import EmailNotValidError
from email_validator import validate_email
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .errors import EmailTaken
from .models import AuthRecord
from .passwords import hash_password
from .service import find_record
from .service import normalize_email

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024  # generous (ASVS asks for at least 64); bounds the work of one hash
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a forward path


class FieldError(ValueError):
    """Input a shopper can correct; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def clean_email(email: str) -> str:
    """A syntactically valid, normalised address, or ``FieldError`` with a message for the shopper."""
    try:
        # No DNS look-up: the shop must work offline and in tests.
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise FieldError("email", f"Enter a valid email address. {error}") from error
    email = normalize_email(result.normalized)
    if email.endswith("@" + str(current_app.config["ANONYMOUS_EMAIL_DOMAIN"]).lower()):
        raise FieldError("email", "Enter your own email address: that domain is reserved for guest accounts.")
    return email


def email_in_use(email: str) -> bool:
    """Whether any auth collection has a record with ``email``.

    An address belongs to one person, and the sign-in page looks in every collection, so a new or
    upgraded account may not take an address that another collection already holds.
    """
    query = select(AuthRecord.id).where(
        AuthRecord.collection.in_(current_app.config["AUTH_COLLECTIONS"]),
        AuthRecord.email == normalize_email(email),
    )
    return db.session.execute(query.limit(1)).first() is not None


def check_password_policy(password: str) -> None:
    """ASVS 6.2.1: at least 8 characters; any character allowed; a generous maximum."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise FieldError("password", f"Use a password of at least {PASSWORD_MIN_LENGTH} characters.")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise FieldError("password", f"Use a password of at most {PASSWORD_MAX_LENGTH} characters.")


def create_or_promote_admin(email: str, password: str) -> tuple[AuthRecord, bool]:
    """Create an admin in ``users``, or promote and re-password the account that has ``email``.

    Returns the record and whether it was created.
    """
    email = clean_email(email)
    check_password_policy(password)
    record = find_record("users", email)
    created = record is None
    if record is None:
        record = AuthRecord(
            collection="users",
            email=email,
            username=email.split("@", 1)[0],
            verified=True,
            is_anonymous=False,
            password_hash=hash_password(password),
        )
        db.session.add(record)
    else:
        record.password_hash = hash_password(password)
        record.is_anonymous = False
        record.rotate_token_key()  # a new password signs out every other session
    record.is_admin = True
    db.session.commit()
    return record, created


def create_account(email: str, password: str, collection: str = "users") -> AuthRecord:
    """Create a full account. Raises ``FieldError`` for bad input and ``EmailTaken`` if the email
    already has an account in any collection (see :func:`email_in_use`)."""
    email = clean_email(email)
    check_password_policy(password)
    if email_in_use(email):
        raise EmailTaken()
    record = AuthRecord(
        collection=collection,
        email=email,
        username=email.split("@", 1)[0][:150],
        verified=False,
        is_anonymous=False,
        password_hash=hash_password(password),
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError as error:  # the same email registered in the same instant
        db.session.rollback()
        raise EmailTaken() from error
    return record
