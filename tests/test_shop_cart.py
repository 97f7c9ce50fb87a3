"""Cart rules, tested through the service functions."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from storefront.auth import sign_in_anonymously
from storefront.extensions import db
from storefront.shop import cart
from storefront.shop.cart import add_item
from storefront.shop.cart import cart_count
from storefront.shop.cart import CartError
from storefront.shop.cart import load_cart
from storefront.shop.cart import MergePolicy
from storefront.shop.cart import move_cart
from storefront.shop.cart import remove_item
from storefront.shop.cart import set_quantity
from storefront.shop.models import CartItem
from storefront.shop.models import Product
from storefront.shop.views import format_money

pytestmark = pytest.mark.usefixtures("app_ctx")


def _anonymous_id() -> str:
    return sign_in_anonymously(set_cookie=False).record.id


def test_an_anonymous_record_owns_a_cart(products: list[int]) -> None:
    owner = _anonymous_id()
    add_item(owner, products[0], 2)
    add_item(owner, products[1])
    cart = load_cart(owner)
    assert [line.product.name for line in cart.lines] == ["Mug", "Tote"]
    assert cart.count == 3
    assert cart.subtotal_cents == 2 * 1800 + 2450
    assert cart_count(owner) == 3


def test_adding_again_adds_to_the_same_line(products: list[int]) -> None:
    owner = _anonymous_id()
    add_item(owner, products[0], 2)
    add_item(owner, products[0], 3)
    assert [(line.product_id, line.quantity) for line in load_cart(owner).lines] == [(products[0], 5)]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [(0, "at least 1"), (-3, "at least 1"), (6, "Only 5 of Tote left")],
)
def test_quantities_are_checked(products: list[int], quantity: int, message: str) -> None:
    owner = _anonymous_id()
    with pytest.raises(CartError, match=message):
        add_item(owner, products[1], quantity)
    assert load_cart(owner).lines == []


def test_the_line_total_must_stay_within_stock(products: list[int]) -> None:
    owner = _anonymous_id()
    add_item(owner, products[1], 4)
    with pytest.raises(CartError, match="Only 5 of Tote left"):
        add_item(owner, products[1], 2)
    assert cart_count(owner) == 4


def test_a_sold_out_product_cannot_be_added(products: list[int]) -> None:
    db.session.get_one(Product, products[2]).stock = 0
    db.session.commit()
    with pytest.raises(CartError, match="Pen is sold out"):
        add_item(_anonymous_id(), products[2])


def test_unknown_products_are_refused(products: list[int]) -> None:
    with pytest.raises(CartError, match="no longer available"):
        add_item(_anonymous_id(), 999_999)


def test_set_quantity_and_remove(products: list[int]) -> None:
    owner = _anonymous_id()
    add_item(owner, products[0])
    set_quantity(owner, products[0], 7)
    assert cart_count(owner) == 7
    with pytest.raises(CartError, match="Only 10 of Mug"):
        set_quantity(owner, products[0], 11)
    with pytest.raises(CartError, match="not in your cart"):
        set_quantity(owner, products[1], 1)
    remove_item(owner, products[0])
    remove_item(owner, products[0])  # removing twice is not an error
    assert cart_count(owner) == 0


def _removed_by_another_tab(owner: str, product_id: int) -> None:
    """Delete the line on a connection of its own, as a request in another tab would."""
    with db.engine.begin() as other:
        other.execute(delete(CartItem).where(CartItem.owner_id == owner, CartItem.product_id == product_id))


def test_changing_a_line_another_tab_just_removed(
    products: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line is read, then removed elsewhere before the UPDATE: a clear message, not a 500
    (SQLAlchemy's StaleDataError for an UPDATE that matched no row)."""
    owner = _anonymous_id()
    add_item(owner, products[0])
    real_check = cart.check_quantity

    def check_then_lose_the_line(quantity: int, product: Product) -> None:
        real_check(quantity, product)
        _removed_by_another_tab(owner, products[0])

    monkeypatch.setattr(cart, "check_quantity", check_then_lose_the_line)
    with pytest.raises(CartError, match="not in your cart any more"):
        set_quantity(owner, products[0], 3)
    monkeypatch.undo()
    assert cart_count(owner) == 0
    assert add_item(owner, products[0], 2).quantity == 2  # the cart still works


def test_adding_to_a_line_another_tab_removes_at_once(
    products: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The add raised the line, and the line went before it was read back: the add is not lost."""
    owner = _anonymous_id()
    add_item(owner, products[0])
    real_commit = db.session.commit
    calls = 0

    def commit_then_lose_the_line() -> None:
        nonlocal calls
        real_commit()
        calls += 1
        if calls == 1:
            _removed_by_another_tab(owner, products[0])

    monkeypatch.setattr(db.session, "commit", commit_then_lose_the_line)
    line = add_item(owner, products[0], 2)
    monkeypatch.undo()
    assert line.quantity == 2
    assert cart_count(owner) == 2


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (MergePolicy.SUM, {"Mug": 5, "Tote": 1, "Pen": 1}),
        (MergePolicy.MAX, {"Mug": 3, "Tote": 1, "Pen": 1}),
        (MergePolicy.REPLACE, {"Mug": 2, "Pen": 1}),
    ],
)
def test_move_cart_policies(products: list[int], policy: MergePolicy, expected: dict[str, int]) -> None:
    source, target = _anonymous_id(), _anonymous_id()
    add_item(source, products[0], 2)
    add_item(source, products[2], 1)
    add_item(target, products[0], 3)
    add_item(target, products[1], 1)
    lowered = move_cart(source, target, policy)
    db.session.commit()
    assert lowered is False  # every product has the stock for it
    assert {line.product.name: line.quantity for line in load_cart(target).lines} == expected
    assert load_cart(source).lines == []


def test_move_cart_caps_by_stock(products: list[int]) -> None:
    source, target = _anonymous_id(), _anonymous_id()
    add_item(source, products[1], 4)
    add_item(target, products[1], 3)
    assert move_cart(source, target, MergePolicy.SUM) is True
    db.session.commit()
    assert cart_count(target) == 5  # Tote has 5 in stock
    assert db.session.execute(select(func.count()).select_from(CartItem)).scalar_one() == 1


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (1800, "$18.00"), (123456, "$1,234.56"), (-250, "-$2.50")],
)
def test_money_is_formatted(cents: int, text: str, app: Flask) -> None:
    assert format_money(cents) == text
