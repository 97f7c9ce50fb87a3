"""The account's JSON API: full accounts only, authenticated with ``Authorization: Bearer``.

Like the auth API it never reads cookies, so it needs no CSRF token; errors are JSON
``{"status": ..., "message": ...}``, answered by the app-wide handlers for every path under /api/
(see ``storefront/errors.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import jsonify
from flask import Response
from flask import url_for

from ..auth import current_account
from ..auth import full_account_required
from ..auth import record_to_dict
from ..extensions import csrf
from ..models import as_utc
from ..shop.models import Order
from .services import order_history

bp = Blueprint("account_api", __name__, url_prefix="/api/account")
csrf.exempt(bp)


def _order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "created": as_utc(order.created).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "totalCents": order.total_cents,
        "items": sum(line.quantity for line in order.lines),
        "url": url_for("shop.order", number=order.number),
    }


@bp.get("/orders")
@full_account_required
def orders() -> Response:
    """The account's order history, newest first (anonymous records: 403)."""
    account = current_account()
    items = [_order_to_dict(order) for order in order_history(account)]
    return jsonify(record=record_to_dict(account), items=items, totalItems=len(items))
