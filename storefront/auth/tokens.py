"""Signed auth tokens (HS256 JWTs through PyJWT), keyed per record.

A token carries the record id, its collection (name and id), its type and its expiry, like
PocketBase's, whose SDKs read ``id``, ``collectionId``, ``type``, ``refreshable`` and ``exp``. It is signed
with a key derived from the app secret *and* the record's ``token_key``, so rotating that key (on
upgrade, password or email change) revokes every token issued before.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import jwt
from flask import current_app

from ..extensions import db
from ..models import utcnow
from .errors import InvalidToken
from .errors import TokenExpired
from .models import AuthRecord

ALGORITHM = "HS256"
AUTH_TYPE = "auth"
VERIFICATION_TYPE = "verification"
_REQUIRED_CLAIMS = ["id", "type", "collectionName", "exp", "iat"]
_RECORD_ID = re.compile(r"[a-z0-9]{1,15}")


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check, with the record it names."""

    record: AuthRecord
    issued_at: datetime
    expires_at: datetime


def _signing_key(record: AuthRecord, token_type: str) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    material = f"{token_type}:{record.token_key}".encode()
    return hmac.new(secret, material, hashlib.sha256).digest()


def issue_token(
    record: AuthRecord,
    token_type: str = AUTH_TYPE,
    lifetime: timedelta | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Sign a token of ``token_type`` for ``record``."""
    if lifetime is None:
        lifetime = current_app.config["AUTH_TOKEN_LIFETIME"]
    now = utcnow()
    claims: dict[str, Any] = {
        "id": record.id,
        "type": token_type,
        "collectionId": record.collection_id,
        "collectionName": record.collection,
        "iat": now,
        "exp": now + lifetime,
        # A random token id: without it two tokens issued for one record within the same second are
        # identical, so a refresh or a new sign-in would hand back the very token it replaces.
        "jti": secrets.token_urlsafe(16),
        # PocketBase's claim: auth-refresh may replace this token (its SDKs read it).
        **({"refreshable": True} if token_type == AUTH_TYPE else {}),
        **(extra or {}),
    }
    return jwt.encode(claims, _signing_key(record, token_type), algorithm=ALGORITHM)


def verify_token(
    token: str, token_type: str = AUTH_TYPE, collection: str | None = None
) -> tuple[VerifiedToken, dict[str, Any]]:
    """Check signature, expiry, type and collection, and that the record still exists.

    Raises :class:`InvalidToken` (or :class:`TokenExpired`) with a message fit for a shopper.
    """
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise InvalidToken()
    try:
        # The unverified claims only say which record's key to check the signature with; nothing
        # from them is trusted until jwt.decode below has verified it.
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    record_id = unverified.get("id")
    # Only something shaped like an id (``new_id``) is looked up: the claim is not trusted yet, and
    # PostgreSQL refuses a query with a NUL character in it (a 500 on every page for that cookie).
    if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
        raise InvalidToken()
    record = db.session.get(AuthRecord, record_id)
    if record is None:
        raise InvalidToken()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _signing_key(record, token_type),
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims["type"] != token_type or claims["collectionName"] != record.collection:
        raise InvalidToken()
    if collection is not None and record.collection != collection:
        raise InvalidToken()
    issued = datetime.fromtimestamp(claims["iat"], tz=utcnow().tzinfo)
    expires = datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo)
    return VerifiedToken(record, issued, expires), claims


def verify_mailed_token(token: str, token_type: str, collection: str | None = None) -> AuthRecord:
    """The full account a mailed token (a verification link, a password-reset code) is for.

    Besides :func:`verify_token`'s checks, the token must name the address the record has now: a
    link mailed to an old address stops working when the email changes. Guests have no address to
    mail, so a token naming one is refused. Raises :class:`InvalidToken` (or :class:`TokenExpired`).
    """
    verified, claims = verify_token(token, token_type, collection=collection)
    record = verified.record
    if record.is_anonymous or claims.get("email") != record.email:
        raise InvalidToken()
    return record
