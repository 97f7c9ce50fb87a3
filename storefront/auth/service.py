"""The auth service: sign in anonymously, with a password or with a token, and sign out.

These functions are the package's public Python API. Inside a request they also set or clear the auth
cookie (``set_cookie=False`` is for the JSON API, which answers with the token instead).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask import has_request_context
from flask_limiter.util import get_remote_address
from limits import parse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..extensions import limiter
from ..models import as_utc
from ..models import new_id
from ..models import storable
from . import statements
from .errors import AuthError
from .errors import InvalidCredentials
from .errors import RateLimited
from .errors import StorageError
from .errors import UnknownCollection
from .identity import cancel_identity_change
from .identity import schedule_auth_cookie
from .identity import set_request_identity
from .models import AuthRecord
from .passwords import dummy_verify
from .passwords import GeneratedSecret
from .passwords import hash_generated_secret
from .passwords import verify_password
from .tokens import issue_token
from .tokens import verify_token

_CREATE_ATTEMPTS = 3
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthData:
    """The result of a sign-in: a signed token and the record it names."""

    token: str
    record: AuthRecord

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of a sign-in through the API, as PocketBase's."""
        return {"token": self.token, "record": record_to_dict(self.record)}


def api_datetime(value: datetime) -> str:
    """A time as PocketBase writes it, ``2026-12-01 14:09:39.013Z`` (UTC, milliseconds): its SDKs
    parse exactly this shape into date objects."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def record_to_dict(record: AuthRecord) -> dict[str, Any]:
    """A record as the API shows it, with PocketBase's fields: never the password hash or the token key.

    ``emailVisibility`` is always false: only the record itself can read its record.
    """
    return {
        "id": record.id,
        "collectionId": record.collection_id,
        "collectionName": record.collection,
        "email": record.email,
        "emailVisibility": False,
        "username": record.username,
        "verified": record.verified,
        "isAnonymous": record.is_anonymous,
        "created": api_datetime(record.created),
        "updated": api_datetime(record.updated),
    }


def check_collection(collection: str) -> str:
    """Return ``collection`` if it is an auth collection of this app, else raise."""
    if collection not in current_app.config["AUTH_COLLECTIONS"]:
        raise UnknownCollection()
    return collection


def normalize_email(email: str) -> str:
    """Emails are compared without surrounding space and case."""
    return email.strip().lower()


def sign_in_anonymously(
    collection: str = "users", *, set_cookie: bool = True, commit: bool = True
) -> AuthData:
    """Create an anonymous record in ``collection`` and sign in as it.

    The record gets a generated email on a reserved domain and a generated 256-bit password; the
    function then signs in with exactly those credentials, which sets the cookie through
    :func:`sign_in_with_token`. Everything happens in one transaction: on any failure nothing is
    left behind and no cookie is set.

    With ``commit=False`` the record is written but not committed, so that the caller can make more
    changes in the same transaction (guest checkout hands the cart over in it). The caller then
    commits, or rolls back and calls :func:`~storefront.auth.identity.cancel_identity_change`. It
    must have nothing else uncommitted when it calls: a failure here rolls the session back.
    """
    check_collection(collection)
    _count_anonymous_creation()
    for attempt in range(_CREATE_ATTEMPTS):
        secret = GeneratedSecret.generate()
        try:
            email = _create_anonymous_record(collection, secret)
            auth = sign_in_with_password(email, secret.reveal(), collection=collection, set_cookie=set_cookie)
            if commit:
                db.session.commit()
            return auth
        except IntegrityError as exc:
            # Two ids made in the same minute collided (2**-46 for a pair): try again with a new one.
            _undo()
            if attempt == _CREATE_ATTEMPTS - 1:
                raise StorageError() from exc
        except AuthError:
            _undo()
            raise
        except SQLAlchemyError as exc:
            _undo()
            raise StorageError() from exc
        except BaseException:
            # Anything else (a bug, a timeout, KeyboardInterrupt) must not leave the flushed record
            # in the session, where the next commit of this request would keep it.
            _undo()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _undo() -> None:
    db.session.rollback()
    cancel_identity_change()


def _count_anonymous_creation() -> None:
    """Anti-automation (ASVS 2.4.1): at most ANONYMOUS_RATE_LIMIT new records per client address."""
    # The app's own setting, not limiter.enabled: the limiter is a module-level singleton, and in a
    # process with several apps (tests) the last init_app would decide for all of them.
    if not has_request_context() or not current_app.config["RATELIMIT_ENABLED"]:
        return  # the CLI and scripts are not clients
    item = parse(current_app.config["ANONYMOUS_RATE_LIMIT"])
    identifiers = ["anonymous-sign-in", get_remote_address()]
    if prefix := current_app.config["RATELIMIT_KEY_PREFIX"]:
        # As Flask-Limiter keys its own limits: apps sharing one Redis keep separate budgets.
        identifiers.insert(0, str(prefix))
    try:
        allowed = limiter.limiter.hit(item, *identifiers)
    except Exception as exc:  # the limiter's storage (Redis) is unreachable: its errors vary
        # As Flask-Limiter does for its own limits: let the request through only when the operator
        # chose RATELIMIT_SWALLOW_ERRORS; otherwise refuse with a message a shopper can act on.
        if current_app.config["RATELIMIT_SWALLOW_ERRORS"]:
            logger.exception("Rate-limit storage failed; anonymous sign-in allowed without a count")
            return
        raise StorageError() from exc
    if not allowed:
        raise RateLimited()


def _create_anonymous_record(collection: str, secret: GeneratedSecret) -> str:
    """Write the record (not committed) and return its email, which the caller signs in with."""
    domain = current_app.config["ANONYMOUS_EMAIL_DOMAIN"]
    # The address is made from the id: unique as the id is (a collision fails the insert, and the
    # caller tries again), on a domain that can receive no mail and that nobody can register with.
    # It is no secret; the generated password is what protects the account.
    record_id = new_id()
    email = f"anonymous-{record_id}@{domain}"
    db.session.execute(
        statements.INSERT_ANONYMOUS_RECORD,
        {
            "id": record_id,
            "collection": collection,
            "email": email,
            "username": f"guest-{record_id}",
            "password_hash": hash_generated_secret(secret),
        },
    )
    return email


def find_record(collection: str, email: str) -> AuthRecord | None:
    """The record with ``email`` in ``collection``, if any (never, for text no database can hold)."""
    if not storable(email):
        return None
    found = db.session.execute(
        statements.RECORD_BY_EMAIL, {"collection": collection, "email": normalize_email(email)}
    )
    return found.scalar_one_or_none()


def authenticate(email: str, password: str, collection: str = "users") -> AuthRecord:
    """Check credentials without signing in. The error is the same for a wrong password and an
    unknown email, and both take one password verification (ASVS 6.3.8)."""
    check_collection(collection)
    record = find_record(collection, email) if email and password else None
    if record is None:
        dummy_verify(password or "")
        raise InvalidCredentials()
    if not verify_password(record.password_hash, password):
        raise InvalidCredentials()
    return record


def sign_in_with_password(
    email: str, password: str, collection: str = "users", *, set_cookie: bool = True
) -> AuthData:
    """Sign in with an email and password in ``collection``."""
    record = authenticate(email, password, collection)
    return sign_in_with_token(issue_token(record), collection=collection, set_cookie=set_cookie)


def sign_in_to_account(email: str, password: str) -> AuthData:
    """Sign in from the login page: the account may live in any auth collection.

    Each collection costs exactly one password verification (real or dummy), so the time taken does
    not tell which collection, if any, holds the email.
    """
    for collection in current_app.config["AUTH_COLLECTIONS"]:
        try:
            return sign_in_with_password(email, password, collection)
        except InvalidCredentials:
            continue
    raise InvalidCredentials()


def sign_in_with_token(token: str, collection: str | None = None, *, set_cookie: bool = True) -> AuthData:
    """Validate ``token`` and make it the request's identity by setting the auth cookie.

    Validation covers signature, expiry, type, collection, that the record still exists and that its
    token key has not been rotated since (revocation).
    """
    verified, _claims = verify_token(token, collection=collection)
    if set_cookie and has_request_context():
        set_request_identity(verified.record)
        schedule_auth_cookie(token)
    return AuthData(token=token, record=verified.record)


def sign_out() -> None:
    """Clear the auth cookie and the session."""
    if has_request_context():
        set_request_identity(None)
        schedule_auth_cookie(None)
