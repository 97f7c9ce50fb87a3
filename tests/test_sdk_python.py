"""The official PocketBase Python SDK (PyPI ``pocketbase`` 0.17), unmodified, against the shop under
gunicorn on SQLite and PostgreSQL: every feature of the JSON API and the whole headless journey,
with what is stored checked in the database after each bad request."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import version
from typing import Any

import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError
from pocketbase.models.record import Record
from pocketbase.utils import validate_token
from sqlalchemy import func
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import Product

from .factories import API_CONTACT
from .sdk_helpers import BACKENDS
from .sdk_helpers import running_shop
from .sdk_helpers import SCARCE_PRODUCT
from .sdk_helpers import SCARCE_STOCK
from .sdk_helpers import Shop

# One xdist worker runs the whole module, so its servers start once per backend.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sdk-python")]
PASSWORD = "a long enough passphrase"
_emails = iter(range(1, 10**6))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_emails)}@example.com"


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_shop(request.param, tmp_path_factory) as running:
        yield running


@pytest.fixture
def pb(shop: Shop) -> Iterator[PocketBase]:
    client = PocketBase(shop.url)
    yield client
    client.http_client.close()


def collection(pb: PocketBase, name: str) -> Any:
    """``pb.collection(name)``: its records carry their fields as attributes the SDK's types do not
    declare, so they are typed as Any here."""
    return pb.collection(name)


def sign_in_anonymously(pb: PocketBase, name: str = "users") -> Any:
    """Not a PocketBase endpoint: ``send``, then the SDK's own auth store keeps the answer."""
    auth = pb.send(f"/api/collections/{name}/auth-anonymous", {"method": "POST"})
    record = Record(auth["record"])
    pb.auth_store.save(auth["token"], record)
    return record


def fails(status: int, call: Callable[[], Any]) -> dict[str, Any]:
    """Call, expect ``status``; the error body, checked for PocketBase's shape."""
    with pytest.raises(ClientResponseError) as caught:
        call()
    error = caught.value
    assert error.status == status, error.data
    assert set(error.data) == {"status", "message", "data"} and error.data["status"] == status
    assert isinstance(error.data["data"], dict)
    return error.data


def code(body: dict[str, Any], field: str) -> str:
    value: str = body["data"][field]["code"]
    return value


def stored(shop: Shop) -> dict[str, int]:
    with shop.app.app_context():
        counts = {
            model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (AuthRecord, CartItem, Order)
        }
        counts["stock"] = db.session.execute(select(func.sum(Product.stock))).scalar_one()
        db.session.rollback()
    return counts


def checkout(pb: PocketBase, key: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    order: dict[str, Any] = pb.send(
        "/api/checkout",
        {
            "method": "POST",
            "body": API_CONTACT if body is None else body,
            "headers": {"Idempotency-Key": key},
        },
    )
    return order


def products(pb: PocketBase) -> list[Any]:
    items: list[Any] = collection(pb, "products").get_full_list(query_params={"sort": "name"})
    return items


def test_sdk_version() -> None:
    assert version("pocketbase").startswith("0.17.")


def test_health(pb: PocketBase) -> None:
    health = pb.health.check()
    assert (health.message, health.code, health.data) == ("API is healthy.", 200, {})


def test_anonymous_sign_in_refresh_and_records(pb: PocketBase) -> None:
    guest = sign_in_anonymously(pb, "customers")
    assert validate_token(pb.auth_store.token)  # the SDK's own check: a JWT whose exp is ahead
    claims = json.loads(base64.urlsafe_b64decode(pb.auth_store.token.split(".")[1] + "=="))
    assert {"id", "collectionId", "type", "refreshable", "exp"} <= set(claims)
    assert claims["id"] == guest.id and claims["type"] == "auth" and claims["refreshable"] is True
    # PocketBase's date format: the SDK parses it into datetimes.
    assert isinstance(guest.created, datetime) and isinstance(guest.updated, datetime)

    refreshed = collection(pb, "customers").auth_refresh()
    assert refreshed.record.id == guest.id and pb.auth_store.token == refreshed.token
    assert refreshed.record.collection_id == claims["collectionId"]
    assert refreshed.record.email_visibility is False and refreshed.record.is_anonymous is True
    assert collection(pb, "customers").get_one(guest.id).id == guest.id

    other = fails(403, lambda: collection(pb, "users").auth_refresh())
    assert other["message"] == "The request requires auth record from users collection."


def test_the_catalogue(pb: PocketBase) -> None:
    page = collection(pb, "products").get_list(1, 3, {"sort": "-priceCents"})
    assert (page.page, page.per_page, len(page.items)) == (1, 3, 3)
    assert page.total_pages == -(-page.total_items // 3)
    assert [item.price_cents for item in page.items] == sorted(
        (i.price_cents for i in page.items), reverse=True
    )
    cheap = collection(pb, "products").get_list(
        1, 50, {"filter": pb.filter("priceCents < {:max}", {"max": 2000})}
    )
    assert cheap.items and all(item.price_cents < 2000 for item in cheap.items)
    assert len(products(pb)) == page.total_items
    scarce = collection(pb, "products").get_first_list_item(f"slug = '{SCARCE_PRODUCT}'")
    assert scarce.stock == SCARCE_STOCK
    assert collection(pb, "products").get_one(scarce.id).name == scarce.name
    fails(404, lambda: collection(pb, "products").get_one("not-a-product"))
    fails(400, lambda: collection(pb, "products").get_list(1, 5, {"sort": "secret"}))


def test_the_headless_journey(shop: Shop, pb: PocketBase) -> None:
    """Anonymous sign-in, a cart, guest checkout, upgrade and sign-in again: nothing but the SDK."""
    guest = sign_in_anonymously(pb, "customers")
    first, second = products(pb)[:2]
    cart = collection(pb, "cart_items")
    line = cart.create({"product": first.id, "quantity": 2})
    assert (line.product, line.quantity, line.owner) == (first.id, 2, guest.id)
    other_line = cart.create({"product": second.id})
    assert cart.update(line.id, {"quantity": 3}).quantity == 3
    assert cart.delete(other_line.id)
    lines = cart.get_full_list(query_params={"expand": "product"})
    assert [item.id for item in lines] == [line.id]
    assert lines[0].expand["product"].name == first.name

    key = f"python-sdk-{guest.id}"
    order = checkout(pb, key)
    assert order["totalCents"] == 3 * first.price_cents and order["lines"][0]["quantity"] == 3
    assert checkout(pb, key)["id"] == order["id"]  # the same key: the same order, nothing more
    assert cart.get_full_list() == []
    assert [item.id for item in collection(pb, "orders").get_full_list()] == [order["id"]]
    assert collection(pb, "orders").get_one(order["id"]).number == order["number"]

    email = unique("python-upgrade")
    upgraded = collection(pb, "customers").update(
        guest.id, {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}
    )
    assert upgraded.is_anonymous is False and upgraded.email == email
    fails(401, lambda: collection(pb, "customers").auth_refresh())  # the guest's token died
    auth = collection(pb, "customers").auth_with_password(email, PASSWORD)
    assert auth.record.id == guest.id
    assert [item.id for item in collection(pb, "orders").get_full_list()] == [order["id"]]
    with shop.app.app_context():
        record = db.session.get_one(AuthRecord, guest.id)
        assert record.is_anonymous is False and record.password_hash.startswith("$argon2id$")


def test_bad_input_is_a_4xx_with_data_and_stores_nothing(shop: Shop, pb: PocketBase) -> None:
    sign_in_anonymously(pb)
    catalogue = products(pb)
    scarce = next(item for item in catalogue if item.slug == SCARCE_PRODUCT)
    line = collection(pb, "cart_items").create({"product": catalogue[0].id})
    stranger = PocketBase(shop.url)
    sign_in_anonymously(stranger)
    before = stored(shop)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"product": catalogue[0].id, "quantity": "2"}, "quantity", "validation_only_int_constraint"),
        ({"product": catalogue[0].id, "quantity": None}, "quantity", "validation_required"),
        ({"product": catalogue[0].id, "quantity": 0}, "quantity", "validation_invalid_value"),
        ({"product": catalogue[0].id, "quantity": 99}, "quantity", "validation_invalid_value"),
        ({"product": scarce.id, "quantity": SCARCE_STOCK + 1}, "quantity", "validation_invalid_value"),
        ({"product": catalogue[0].id, "quantity": 10**12}, "quantity", "validation_only_int_constraint"),
        ({"product": "2147483648"}, "product", "validation_missing_rel_records"),
        ({"product": {"id": "1"}}, "product", "validation_missing_rel_records"),
        ({"product": catalogue[0].id, "owner": "someone-else"}, "owner", "validation_unknown_field"),
    ]
    for body, field, expected in cases:
        answer = fails(400, lambda body=body: collection(pb, "cart_items").create(body))  # type: ignore[misc]
        assert code(answer, field) == expected
    assert code(
        fails(400, lambda: collection(pb, "cart_items").update(line.id, {"quantity": -1})), "quantity"
    )
    bad_contact = fails(
        400, lambda: checkout(pb, "a-long-enough-key-1", {**API_CONTACT, "email": "nope", "city": ""})
    )
    assert (
        code(bad_contact, "email") == "validation_is_email"
        and code(bad_contact, "city") == "validation_required"
    )
    fails(400, lambda: checkout(pb, "short"))
    fails(400, lambda: checkout(pb, "a-long-enough-key-2", {**API_CONTACT, "coupon": "FREE"}))
    assert stored(shop) == before

    fails(404, lambda: collection(stranger, "cart_items").get_one(line.id))
    fails(404, lambda: collection(stranger, "cart_items").update(line.id, {"quantity": 2}))
    fails(404, lambda: collection(stranger, "cart_items").delete(line.id))
    own_id = pb.auth_store.model.id if pb.auth_store.model is not None else ""
    fails(404, lambda: collection(stranger, "users").get_one(own_id))
    stranger.http_client.close()
    assert stored(shop) == before


def test_accounts_verification_and_password_reset(shop: Shop, pb: PocketBase) -> None:
    email = unique("python-account")
    created = collection(pb, "users").create(
        {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}
    )
    assert created.email == email and created.is_anonymous is False
    duplicate = fails(
        400,
        lambda: collection(pb, "customers").create(
            {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}
        ),
    )
    assert code(duplicate, "email") == "validation_not_unique"
    wrong = fails(400, lambda: collection(pb, "users").auth_with_password(email, "wrong password"))
    unknown = fails(
        400, lambda: collection(pb, "users").auth_with_password(unique("nobody"), "wrong password")
    )
    assert wrong == unknown == {"status": 400, "message": "Failed to authenticate.", "data": {}}

    collection(pb, "users").auth_with_password(email, PASSWORD)
    assert collection(pb, "users").request_verification(email)
    assert collection(pb, "users").request_verification(unique("nobody"))
    assert collection(pb, "users").confirm_verification(
        shop.mailed_token(email, "Confirm your email address")
    )
    assert collection(pb, "users").auth_refresh().record.verified is True

    assert collection(pb, "users").request_password_reset(email)
    assert collection(pb, "users").request_password_reset(unique("nobody"))
    code_ = shop.mailed_token(email, "Reset your password")
    assert collection(pb, "users").confirm_password_reset(code_, "a new passphrase", "a new passphrase")
    fails(401, lambda: collection(pb, "users").auth_refresh())  # every older token died
    reused = fails(
        400, lambda: collection(pb, "users").confirm_password_reset(code_, "another one!", "another one!")
    )
    assert code(reused, "token") == "validation_invalid_token"
    fails(400, lambda: collection(pb, "users").auth_with_password(email, PASSWORD))
    assert collection(pb, "users").auth_with_password(email, "a new passphrase").record.email == email


def test_fields_cors_and_tokens_in_both_forms(shop: Shop, pb: PocketBase) -> None:
    guest = sign_in_anonymously(pb)
    trimmed = pb.send(
        "/api/collections/users/auth-refresh", {"method": "POST", "params": {"fields": "token,record.id"}}
    )
    assert set(trimmed) == {"token", "record"} and trimmed["record"] == {"id": guest.id}
    bearer = pb.send(
        "/api/collections/users/auth-refresh",
        {"method": "POST", "headers": {"Authorization": f"Bearer {trimmed['token']}"}},
    )
    assert bearer["record"]["id"] == guest.id

    preflight = urllib.request.Request(
        f"{shop.url}/api/collections/cart_items/records",
        method="OPTIONS",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    with urllib.request.urlopen(preflight) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
        assert response.headers.get("Access-Control-Allow-Credentials") is None
