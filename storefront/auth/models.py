"""Auth records: the accounts of every auth collection, anonymous ones included."""

from __future__ import annotations

import secrets
import zlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..models import Model
from ..models import new_id
from ..models import utcnow


def collection_id(name: str, kind: str = "auth") -> str:
    """The id of a collection as PocketBase makes it (``pbc_`` and a CRC-32 of its type and name):
    stable, so a client may keep it, and the same for a collection of the same name in PocketBase."""
    return f"pbc_{zlib.crc32((kind + name).encode())}"


def new_token_key() -> str:
    """A fresh per-record signing key; replacing it revokes every token issued before."""
    return secrets.token_urlsafe(36)


class AuthRecord(UserMixin, Model):
    """An account in one auth collection (``users`` or ``customers``).

    One table holds every collection so that carts and orders can point at any record with a real
    foreign key and deletes cascade in the database. ``is_anonymous`` is the *record's* flag (made by
    ``sign_in_anonymously``, no known email or password); ``Identity.of(record)`` names the three
    states a request can be in (nobody, guest, full account).
    """

    __tablename__ = "auth_records"
    __table_args__ = (
        UniqueConstraint("collection", "email"),
        # The cleanup query: anonymous records of a collection, oldest activity first.
        Index("ix_auth_records_cleanup", "is_anonymous", "collection", "last_active_at"),
    )

    id: Mapped[str] = mapped_column(String(15), primary_key=True, default=new_id)
    collection: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))
    username: Mapped[str] = mapped_column(String(150))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The column is named after the record flag of PocketBase-style APIs; UserMixin's property of the
    # same name is deliberately overridden (Flask-Login itself only reads is_authenticated).
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    token_key: Mapped[str] = mapped_column(String(64), default=new_token_key)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when an anonymous record that owns orders is retired into a full account on sign-in:
    # the orders stay with it and the account can still list them.
    merged_into_id: Mapped[str | None] = mapped_column(
        ForeignKey("auth_records.id", ondelete="SET NULL"), index=True, default=None
    )
    upgraded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @property
    def collection_id(self) -> str:
        """The id of the record's collection, as the JSON API and the tokens name it."""
        return collection_id(self.collection)

    def rotate_token_key(self) -> None:
        """Revoke every token issued for this record so far."""
        self.token_key = new_token_key()

    def __repr__(self) -> str:
        kind = "anonymous" if self.is_anonymous else "account"
        return f"<AuthRecord {self.collection}/{self.id} {kind}>"
