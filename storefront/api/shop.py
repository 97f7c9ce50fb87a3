"""The headless shop: the catalogue, the caller's cart lines and orders, and checkout.

Each is a PocketBase-style collection, so an SDK's ``collection("products").getList(...)`` works:

* ``products``: public, list and view, with ``page``, ``perPage``, ``sort`` and ``filter`` on
  ``name``, ``slug``, ``priceCents``, ``stock`` and ``created``;
* ``cart_items``: the caller's own lines, list, create, update, delete, through the same cart
  service as the web cart, so the same quantity and stock rules hold (creating a line for a product
  already in the cart adds to that line, as the web's Add to cart does); ``?expand=product``;
* ``orders``: the caller's own orders (and those of guest records merged into the account),
  read-only; the id of an order is its number;
* ``POST /api/checkout``: places the caller's cart as an order with the contact fields of the web
  checkout form and an ``Idempotency-Key`` header: the same service as the web checkout (stock taken
  atomically, the same key gives the same order).

Cart lines, orders and checkout need a token (401 without one): every line and order has an owner.
"""

from __future__ import annotations

import math
from typing import Any

from flask import request
from flask import Response
from flask import url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..account.services import order_history
from ..auth import api_datetime
from ..auth import api_record
from ..auth import AuthRecord
from ..auth import collection_id
from ..auth import current_account
from ..auth import full_account_required
from ..auth import record_to_dict
from ..extensions import db
from ..models import MAX_INTEGER_ID
from ..shop.cart import add_item
from ..shop.cart import CartError
from ..shop.cart import remove_item
from ..shop.cart import set_quantity
from ..shop.checkout import CheckoutError
from ..shop.checkout import ContactDetails
from ..shop.checkout import order_for
from ..shop.checkout import place_order
from ..shop.countries import country_name
from ..shop.forms import CheckoutForm
from ..shop.models import CartItem
from ..shop.models import Order
from ..shop.models import Product
from ..shop.receipts import send_receipt
from . import bp
from .body import json_body
from .body import text
from .body import whole_number
from .errors import ApiError
from .errors import field_error
from .errors import FieldErrors
from .errors import INVALID_EMAIL
from .errors import INVALID_VALUE
from .errors import REQUIRED
from .fields import api_json
from .listing import list_answer
from .listing import page_args

NOT_FOUND = "The requested resource wasn't found."
PRODUCTS, CART_ITEMS, ORDERS = "products", "cart_items", "orders"


def _not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def _expand() -> set[str]:
    """The relations ``?expand=`` asks for (PocketBase ignores the ones it cannot expand; so does this)."""
    return {name.strip() for name in request.args.get("expand", "").split(",") if name.strip()}


def _integer_id(raw: str) -> int:
    """A record id of a table with integer keys; anything else names no record (404)."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_INTEGER_ID:
        raise _not_found()
    return int(raw)


# ---------------------------------------------------------------------------------------------------
# products


def product_to_dict(product: Product) -> dict[str, Any]:
    created = api_datetime(product.created)
    return {
        "id": str(product.id),
        "collectionId": collection_id(PRODUCTS, "base"),
        "collectionName": PRODUCTS,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "priceCents": product.price_cents,
        "stock": product.stock,
        "image": url_for("static", filename=f"products/{product.image}"),
        "created": created,
        "updated": created,
    }


_PRODUCT_FIELDS = {
    "id": Product.id,
    "name": Product.name,
    "slug": Product.slug,
    "priceCents": Product.price_cents,
    "stock": Product.stock,
    "created": Product.created,
}


@bp.get(f"/collections/{PRODUCTS}/records")
def products() -> Response:
    """The catalogue, by name unless ``sort`` says otherwise."""
    answer = list_answer(
        select(Product), _PRODUCT_FIELDS, product_to_dict, default_sort="name", tie_breaker=Product.id
    )
    return api_json(answer, list_result=True)


@bp.get(f"/collections/{PRODUCTS}/records/<product_id>")
def product(product_id: str) -> Response:
    """One product."""
    found = db.session.get(Product, _integer_id(product_id))
    if found is None:
        raise _not_found()
    return api_json(product_to_dict(found))


# ---------------------------------------------------------------------------------------------------
# cart_items


def cart_item_to_dict(line: CartItem) -> dict[str, Any]:
    added = api_datetime(line.added_at)
    item: dict[str, Any] = {
        "id": str(line.id),
        "collectionId": collection_id(CART_ITEMS, "base"),
        "collectionName": CART_ITEMS,
        "owner": line.owner_id,
        "product": str(line.product_id),
        "quantity": line.quantity,
        "created": added,
        "updated": added,
    }
    if "product" in _expand():
        item["expand"] = {"product": product_to_dict(line.product)}
    return item


_CART_FIELDS = {"product": CartItem.product_id, "quantity": CartItem.quantity, "created": CartItem.added_at}


def _own_line(owner: AuthRecord, line_id: str) -> CartItem:
    line = db.session.get(CartItem, _integer_id(line_id))
    if line is None or line.owner_id != owner.id:
        raise _not_found()
    return line


def _cart_error(error: CartError, message: str) -> ApiError:
    code = "validation_missing_rel_records" if error.field == "product" else "validation_invalid_value"
    return field_error(error.field, (code, error.message), message)


@bp.get(f"/collections/{CART_ITEMS}/records")
def cart_items() -> Response:
    """The caller's cart lines, in the order they were added."""
    owner = api_record()
    query = select(CartItem).where(CartItem.owner_id == owner.id)
    answer = list_answer(
        query, _CART_FIELDS, cart_item_to_dict, default_sort="created", tie_breaker=CartItem.id
    )
    return api_json(answer, list_result=True)


@bp.get(f"/collections/{CART_ITEMS}/records/<line_id>")
def cart_item(line_id: str) -> Response:
    """One of the caller's cart lines (anyone else's: 404)."""
    return api_json(cart_item_to_dict(_own_line(api_record(), line_id)))


@bp.post(f"/collections/{CART_ITEMS}/records")
def add_cart_item() -> Response:
    """Add ``{"product": id, "quantity": n}`` (quantity 1 when left out) to the caller's cart."""
    owner = api_record()
    body = json_body({"product", "quantity"})
    errors = FieldErrors("Failed to create record.")
    product_id = _product_reference(body, errors)
    quantity = whole_number(body, "quantity", errors, default=1)
    errors.raise_if_any()
    try:
        line = add_item(owner.id, product_id, quantity)
    except CartError as error:
        raise _cart_error(error, "Failed to create record.") from None
    return api_json(cart_item_to_dict(line))


def _product_reference(body: dict[str, Any], errors: FieldErrors) -> int:
    """The ``product`` of a body: a product id, as text (PocketBase's relation) or a number."""
    value = body.get("product")
    if value is None or value == "":
        errors.add("product", REQUIRED)
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INTEGER_ID:
        errors.add("product", ("validation_missing_rel_records", "That product is no longer available."))
        return 0
    return value


@bp.patch(f"/collections/{CART_ITEMS}/records/<line_id>")
def update_cart_item(line_id: str) -> Response:
    """Change a line's ``quantity`` (the product of a line cannot change: remove it and add another)."""
    owner = api_record()
    line = _own_line(owner, line_id)
    body = json_body({"quantity", "product"})
    errors = FieldErrors("Failed to update record.")
    if "product" in body and str(body["product"]) != str(line.product_id):
        errors.add("product", ("validation_values_mismatch", "The product of a cart line cannot change."))
    quantity = whole_number(body, "quantity", errors, default=line.quantity)
    errors.raise_if_any()
    try:
        line = set_quantity(owner.id, line.product_id, quantity)
    except CartError as error:
        raise _cart_error(error, "Failed to update record.") from None
    db.session.refresh(line)
    return api_json(cart_item_to_dict(line))


@bp.delete(f"/collections/{CART_ITEMS}/records/<line_id>")
def delete_cart_item(line_id: str) -> Response:
    """Remove one of the caller's lines."""
    owner = api_record()
    line = _own_line(owner, line_id)
    remove_item(owner.id, line.product_id)
    return Response(status=204)


# ---------------------------------------------------------------------------------------------------
# orders and checkout


def order_to_dict(order: Order) -> dict[str, Any]:
    created = api_datetime(order.created)
    return {
        "id": order.number,
        "collectionId": collection_id(ORDERS, "base"),
        "collectionName": ORDERS,
        "number": order.number,
        "email": order.email,
        "fullName": order.full_name,
        "address": order.address,
        "city": order.city,
        "postalCode": order.postal_code,
        "country": order.country,
        "totalCents": order.total_cents,
        "items": sum(line.quantity for line in order.lines),
        "lines": [
            {
                "product": None if line.product_id is None else str(line.product_id),
                "productName": line.product_name,
                "unitPriceCents": line.unit_price_cents,
                "quantity": line.quantity,
            }
            for line in order.lines
        ],
        "url": url_for("shop.order", number=order.number),
        "created": created,
        "updated": created,
    }


@bp.get(f"/collections/{ORDERS}/records")
def orders() -> Response:
    """The caller's orders, newest first (a shopper has few: the service's list is paged here)."""
    history = order_history(api_record())
    page = page_args()
    start = (page.number - 1) * page.per_page
    answer = {
        "page": page.number,
        "perPage": page.per_page,
        "totalItems": len(history),
        "totalPages": math.ceil(len(history) / page.per_page),
        "items": [order_to_dict(order) for order in history[start : start + page.per_page]],
    }
    return api_json(answer, list_result=True)


@bp.get(f"/collections/{ORDERS}/records/<number>")
def order(number: str) -> Response:
    """One of the caller's orders (anyone else's: 404)."""
    found = order_for(api_record(), number)
    if found is None:
        raise _not_found()
    return api_json(order_to_dict(found))


# The web checkout form's fields, by the names the API uses.
_CONTACT_FIELDS = {
    "email": "email",
    "fullName": "full_name",
    "address": "address",
    "city": "city",
    "postalCode": "postal_code",
    "country": "country",
}
IDEMPOTENCY_KEY = "Idempotency-Key"


@bp.post("/checkout")
def checkout() -> Response:
    """Place the caller's cart as an order; the same ``Idempotency-Key`` gives the same order."""
    owner = api_record()
    body = json_body(set(_CONTACT_FIELDS))
    key = request.headers.get(IDEMPOTENCY_KEY, "").strip()
    contact = _contact(body, key)
    try:
        placed = place_order(owner, contact, key)
    except CheckoutError as error:
        raise ApiError(400, error.message) from None
    send_receipt(placed)  # after the order's commit: a failed mail never loses the order
    return api_json(order_to_dict(placed))


def _contact(body: dict[str, Any], key: str) -> ContactDetails:
    """The contact details, checked by the web checkout form's own rules (and the key with them)."""
    errors = FieldErrors("Failed to place the order.")
    values = {name: text(body, name, errors).strip() for name in _CONTACT_FIELDS}
    form_data = MultiDict({form_name: values[name] for name, form_name in _CONTACT_FIELDS.items()})
    form_data["checkout_key"] = key
    form = CheckoutForm(formdata=form_data, meta={"csrf": False})
    if not form.validate() or errors.data:
        for name, form_name in _CONTACT_FIELDS.items():
            messages = form.errors.get(form_name)
            if messages:
                errors.add(name, _contact_code(name, values[name], str(messages[0])))
        if form.errors.get("checkout_key"):
            raise ApiError(
                400,
                f"Send an {IDEMPOTENCY_KEY} header of 16 to 64 characters, the same for every retry "
                "of one checkout.",
                errors.data,
            )
        errors.raise_if_any()
    details = {form_name: values[name] for name, form_name in _CONTACT_FIELDS.items()}
    # The form took a country's name or its ISO code; the order keeps the name.
    details["country"] = country_name(form.country.data) or details["country"]
    return ContactDetails(**details)


def _contact_code(name: str, value: str, message: str) -> tuple[str, str]:
    if not value:
        return REQUIRED
    if name == "email" and "email" in message.lower():
        return INVALID_EMAIL
    if "characters long" in message or "between" in message:
        return ("validation_length_out_of_range", message)
    return (INVALID_VALUE[0], message)


# ---------------------------------------------------------------------------------------------------
# The account's order history (before the orders collection existed; kept for its clients).


@bp.get("/account/orders")
@full_account_required
def account_orders() -> Response:
    """The account's order history, newest first (anonymous records: 403)."""
    account = current_account()
    items = [order_to_dict(placed) for placed in order_history(account)]
    return api_json({"record": record_to_dict(account), "items": items, "totalItems": len(items)})
