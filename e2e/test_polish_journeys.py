"""A shopper's checkout without JavaScript, Back after an order, and an account's saved delivery
details: every page checked at 320, 390 and 1280 px (no sideways scroll, no axe-core violation)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser
from playwright.sync_api import expect
from playwright.sync_api import Page

from storefront.auth.accounts import create_account
from storefront.shop.models import Order

from .conftest import NewContextAt
from .helpers import add_to_cart
from .helpers import assert_accessible
from .helpers import cart_link
from .helpers import expect_guest_notice
from .helpers import fill_delivery
from .helpers import screenshot
from .live_server import LiveServer
from .test_accounts_journeys import guest_checkout

DELIVERY = {
    "Email": "mary@example.com",
    "Full name": "Mary Somerville",
    "Address": "5 Hanover Square",
    "City": "Burntisland",
    "Postal code": "KY3 9AA",
    "Country": "United Kingdom",
}
PASSWORD = "a long journey passphrase"


def test_without_javascript_a_guest_checks_out_with_the_typed_quantity(
    browser: Browser, live_server: LiveServer, new_context_at: NewContextAt
) -> None:
    context = new_context_at(live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    assert_accessible(page, javascript=False)
    page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Wool Beanie", exact=True)
    ).get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status").filter(has_text="Added Wool Beanie to your cart.")).to_be_visible()
    expect_guest_notice(page)
    assert_accessible(page, javascript=False)

    # A quantity typed and not updated counts when the shopper goes to checkout.
    cart_link(page).click()
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Checkout").click()
    expect(page).to_have_url("/cart")
    expect(page.locator(".line-error")).to_have_text("Quantity must be a whole number from 1 to 99.")
    expect(page.locator(".error-summary")).to_be_focused()  # autofocus: no script needed
    assert_accessible(page, javascript=False)
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Checkout").click()

    expect(page.get_by_role("button", name="Continue as Guest")).to_be_visible()
    assert_accessible(page, javascript=False)
    page.get_by_role("button", name="Continue as Guest").click()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("Enter an email for the receipt.")
    assert_accessible(page, javascript=False)
    # (Back to a page that answered a POST asks the shopper to send it again, which leads to the order
    # once it is placed: tests/test_shop_polish.py. Here the shopper goes via the cart, as one does.)
    page.get_by_role("link", name="Change your cart").click()
    expect(page.get_by_label("Quantity")).to_have_value("2")
    page.get_by_role("button", name="Checkout").click()
    fill_delivery(page, DELIVERY)
    expect(page.locator(".pay-total")).to_contain_text("$64.00")  # 2 x $32.00, above Place order
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    number = page.locator(".order-number").inner_text()
    expect(page.get_by_role("main").get_by_role("row").filter(has_text="Wool Beanie")).to_contain_text("2")
    expect(cart_link(page)).to_have_text("Cart")
    assert_accessible(page, javascript=False)

    # Back: the order again, never the form flagged as failed or a cart badge of before.
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/orders/{number}$"))
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(cart_link(page)).to_have_text("Cart")
    assert live_server.count(Order.id, Order.number == number) == 1


def test_back_after_the_order_shows_the_order(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    guest_checkout(page, "Brass Pen")
    order_url = page.url

    page.go_back()
    expect(page).to_have_url(order_url)
    expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    expect(cart_link(page)).to_have_text("Cart")
    assert_accessible(page)


def test_an_account_keeps_its_delivery_details_for_the_next_checkout(
    page: Page, live_server: LiveServer
) -> None:
    email = "a-rather-long-address.for-wrapping-on-phones@example-shop-domain.com"
    live_server.query(lambda: create_account(email, PASSWORD))
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    add_to_cart(page, "Canvas Tote")
    cart_link(page).click()
    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    fill_delivery(page, {k: v for k, v in DELIVERY.items() if k != "Email"})
    expect(page.get_by_label("Save these delivery details for next time")).to_be_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    delivery = page.get_by_role("region", name="Delivery details")
    expect(delivery).to_contain_text("Mary Somerville")
    expect(delivery).to_contain_text("United Kingdom")
    assert_accessible(page)  # the long email wraps: no sideways scroll at 320 px
    screenshot(page, "account")

    delivery.get_by_role("link", name="Change delivery details").click()
    page.get_by_label("Country", exact=True).select_option(label="Ireland")
    page.get_by_label("City", exact=True).fill("Dublin")
    assert_accessible(page)
    page.get_by_role("button", name="Save delivery details").click()
    expect(page.get_by_role("status")).to_contain_text("Your delivery details are saved.")

    add_to_cart(page, "Steel Bottle")
    cart_link(page).click()
    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_label("Full name", exact=True)).to_have_value("Mary Somerville")
    expect(page.get_by_label("City", exact=True)).to_have_value("Dublin")
    expect(page.get_by_label("Country", exact=True)).to_have_value("IE")
