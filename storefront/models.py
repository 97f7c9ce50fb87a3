"""Shared model helpers: typed base for mypy, ids and timestamps."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from datetime import UTC
from typing import Any
from typing import TYPE_CHECKING

from .extensions import Base
from .extensions import db

if TYPE_CHECKING:
    # db.Model is built at run time, which mypy cannot follow (flask-sqlalchemy#1186).
    Model = Base
else:
    Model = db.Model

# Base-36 digits in byte order, so that ids compare as the numbers they spell.
_ID_ALPHABET = string.digits + string.ascii_lowercase
_ID_TIME_DIGITS = 6  # minutes since 1970: six base-36 digits last until the year 6100
_ID_RANDOM_DIGITS = 9  # 36**9 is about 2**46.5
# The largest integer id a table can hold on every supported database (PostgreSQL's ``integer``): a
# larger number in a URL or a form names nothing, and the database would refuse to compare with it.
MAX_INTEGER_ID = 2**31 - 1


def _base36(number: int, digits: int) -> str:
    text = ""
    for _ in range(digits):
        number, digit = divmod(number, 36)
        text = _ID_ALPHABET[digit] + text
    return text


def new_id(*, at: datetime | None = None) -> str:
    """A 15-character id of [0-9a-z], PocketBase's shape: the minute it was made (six characters)
    followed by nine random ones.

    The time prefix is UUIDv7's idea: ids made close together sort close together, so every index
    on an id (the primary key, carts by owner, orders by owner) grows at one end and a cleanup of
    records that went idle at about the same time deletes from a few neighbouring pages instead of
    one random page per record. It tells nobody more than the record's ``created`` field already
    does. Nothing relies on ids being unguessable: tokens are signed and every lookup of a
    shopper's data checks its owner. ``at`` is for loading records made in the past (benchmarks).
    """
    minute = int((at or utcnow()).timestamp()) // 60
    random_part = secrets.randbelow(36**_ID_RANDOM_DIGITS)
    return _base36(minute, _ID_TIME_DIGITS) + _base36(random_part, _ID_RANDOM_DIGITS)


def held_by_session(model: type[Any], ident: object) -> Any | None:
    """The session's own copy of the ``model`` row ``ident``, if it holds one; never a query."""
    return db.session.identity_map.get(db.session.identity_key(model, ident))


def storable(text: str) -> bool:
    """Whether every supported database can store and compare ``text``.

    PostgreSQL refuses NUL characters in text, and no driver can encode a lone surrogate (JSON's
    ``"\\ud800"`` escape decodes to one). No stored value contains either, so a lookup of such text
    can only find nothing.
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time this app stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
