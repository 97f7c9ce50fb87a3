"""The shop's statements built once, on tables rather than through the ORM.

The rule for every shortcut in this code base: everything is written the plain way
(``db.session.execute(select(...))``, the unit of work, ``Session.get``, WTForms, Flask-Login), and a
hand-built statement or a bypass of a library stays only where the benchmark, run side by side with
and without it, shows it is worth more than 3% of a figure (docs/architecture.md lists them). A
statement here runs on a hot path and takes its values as bound parameters: SQLAlchemy then reuses
it and its compiled form instead of building both on every call, as its ORM UPDATE and DELETE path
does. The auth service's two are in ``storefront/auth/statements.py``: it is the layer below and
cannot import this one.
"""

from __future__ import annotations

from typing import Any
from typing import cast

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import Table
from sqlalchemy import update

from ..auth import AuthRecord
from .models import CartItem
from .models import Order


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


_records, _cart_items, _orders = _table(AuthRecord), _table(CartItem), _table(Order)

# The navigation of every page with an identity shows the cart's item count: one SUM, no objects.
CART_COUNT = select(func.coalesce(func.sum(_cart_items.c.quantity), 0)).where(
    _cart_items.c.owner_id == bindparam("owner_id")
)

# Guest checkout hands every line of the old identity's cart to the new guest in one UPDATE.
TRANSFER_CART = (
    update(_cart_items)
    .where(_cart_items.c.owner_id == bindparam("source_id"))
    .values(owner_id=bindparam("target_id"))
)

# Retiring a guest: one statement decides and deletes, so no order can be placed for the record
# between a check and the delete (``orders.owner_id`` would be set to NULL, the order orphaned). The
# cart goes with the record (``cart_items.owner_id`` cascades in the database).
DELETE_GUEST_WITHOUT_ORDERS = delete(_records).where(
    _records.c.id == bindparam("record_id"),
    _records.c.is_anonymous.is_(True),
    ~select(_orders.c.id).where(_orders.c.owner_id == bindparam("record_id")).exists(),
)
