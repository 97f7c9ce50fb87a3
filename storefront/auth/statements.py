"""The auth service's statements built once (the rule they pass: see ``storefront/shop/statements.py``).

Every anonymous sign-in runs both: the record is written on the table, so the ORM's unit of work has
nothing to track (the column defaults still apply: token key, timestamps), and the sign-in that
follows loads it by email as any sign-in does.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import Table

from .models import AuthRecord

INSERT_ANONYMOUS_RECORD = insert(cast(Table, AuthRecord.__table__)).values(verified=False, is_anonymous=True)

RECORD_BY_EMAIL = select(AuthRecord).where(
    AuthRecord.collection == bindparam("collection"), AuthRecord.email == bindparam("email")
)
