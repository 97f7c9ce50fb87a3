"""Helpers of the admin and cleanup tests: guests of a given age, orders, signing in by cookie."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.extensions import db


def exists(record_id: str) -> bool:
    return db.session.get(AuthRecord, record_id, populate_existing=True) is not None


def count(model: type[object], **where: object) -> int:
    """Rows of ``model`` matching ``where`` (inside an app context)."""
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.session.execute(query).scalar_one())
