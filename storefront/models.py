"""Shared model helpers: typed base for mypy, ids and timestamps."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from datetime import UTC
from typing import TYPE_CHECKING

from .extensions import Base
from .extensions import db

if TYPE_CHECKING:
    # db.Model is built at run time, which mypy cannot follow (flask-sqlalchemy#1186).
    Model = Base
else:
    Model = db.Model

_ID_ALPHABET = string.ascii_lowercase + string.digits
# The largest integer id a table can hold on every supported database (PostgreSQL's ``integer``): a
# larger number in a URL or a form names nothing, and the database would refuse to compare with it.
MAX_INTEGER_ID = 2**31 - 1


def new_id(length: int = 15) -> str:
    """A random, non-sequential id (15 characters of [a-z0-9] is about 77 bits, as in PocketBase)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


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
