"""In the browser: a guest keeps everything by creating an account, or by signing in.

Every page of these journeys passes the axe-core check.
"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext
from playwright.sync_api import expect
from playwright.sync_api import Locator
from playwright.sync_api import Page
from sqlalchemy import select

from storefront.auth.accounts import create_account
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.shop.models import CartItem
from storefront.shop.models import Product
from tests.factories import AUTH_COOKIE

from .helpers import add_to_cart
from .helpers import assert_accessible
from .helpers import cart_link
from .helpers import cookie
from .helpers import expect_guest_notice
from .helpers import fill_delivery
from .live_server import LiveServer

ORDER_NUMBER = re.compile(r"SF-[2-9A-Z]{4}-[2-9A-Z]{4}")
PASSWORD = "a long journey passphrase"
DELIVERY = {
    "Email": "grace@example.com",
    "Full name": "Grace Hopper",
    "Address": "1 Compiler Lane",
    "City": "Arlington",
    "Postal code": "22201",
    "Country": "United States",
}


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def status(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def guest_checkout(page: Page, product_name: str) -> str:
    """Add one product, check out as a guest and return the order number."""
    add_to_cart(page, product_name)
    cart_link(page).click()
    page.get_by_role("button", name="Checkout").click()
    page.get_by_role("button", name="Continue as Guest").click()
    fill_delivery(page, DELIVERY)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    number = page.locator(".order-number").inner_text()
    assert ORDER_NUMBER.fullmatch(number), number
    return number


def test_guest_checkout_upgrade_sign_out_and_find_the_order(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    email = "grace.journey@example.com"
    page.goto("/")
    number = guest_checkout(page, "Field Notebook")
    expect_guest_notice(page)
    guest_token = cookie(context, AUTH_COOKIE)
    assert guest_token is not None

    # The confirmation page offers the upgrade.
    page.get_by_role("main").get_by_role("link", name="Create account").click()
    expect(page).to_have_url("/account/upgrade")
    expect(page.get_by_role("heading", name="Create account")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url("/account")
    status(page, "Your account is ready. Your cart and orders are saved in it.")
    status(page, f"We sent a link to {email}.")
    expect_guest_notice(page, visible=False)
    expect(page.get_by_role("link", name=number)).to_be_visible()
    expect(page.get_by_text("(not confirmed yet)")).to_be_visible()
    assert_accessible(page)
    upgraded_token = cookie(context, AUTH_COOKIE)
    assert upgraded_token is not None and upgraded_token["value"] != guest_token["value"]

    # The verification link, read from the development outbox.
    page.goto("/dev/outbox")
    message = page.get_by_role("listitem").filter(has_text=f"To {email}")
    expect(message.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    message.get_by_role("link", name=re.compile("account.verify")).click()
    expect(page.get_by_text(f"Confirm that {email} is your address.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm email").click()
    expect(page).to_have_url("/account")
    status(page, f"Thank you: {email} is confirmed.")

    # A full account signs out at once.
    nav(page).get_by_role("button", name="Sign out").click()
    status(page, "You have been signed out.")
    assert cookie(context, AUTH_COOKIE) is None

    # Signing in again finds the order in the account.
    nav(page).get_by_role("link", name="Sign in").click()
    sign_in(page, email)
    status(page, "Welcome back, grace.journey.")
    nav(page).get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Order history")).to_be_visible()
    page.get_by_role("link", name=number).click()
    expect(page).to_have_url(f"/orders/{number}")
    expect(page.get_by_role("main")).to_contain_text("Field Notebook")
    expect(page.get_by_role("main").get_by_role("link", name="Create account")).to_have_count(0)


def test_guest_cart_is_merged_into_an_existing_account(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    email = "merge.journey@example.com"

    def make_account_with_a_cart() -> str:
        account = create_account(email, PASSWORD)
        tote = db.session.execute(select(Product).where(Product.name == "Canvas Tote")).scalar_one()
        db.session.add(CartItem(owner_id=account.id, product_id=tote.id, quantity=1))
        db.session.commit()
        return account.id

    account_id = live_server.query(make_account_with_a_cart)

    page.goto("/")
    add_to_cart(page, "Canvas Tote")
    add_to_cart(page, "Wool Beanie")
    guest = cookie(context, AUTH_COOKIE)
    assert guest is not None

    # Creating an account with the taken email says so, and offers Sign In instead.
    page.get_by_role("banner").get_by_role("link", name="Create account").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("An account with this email already exists.").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Sign In", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login\?next=/cart$"))
    expect(page.get_by_text("the items in your guest cart will come with you")).to_be_visible()
    sign_in(page, email)

    expect(page).to_have_url("/cart")
    status(page, "We added 2 items from your guest cart to your account's cart, which now has 3 items.")
    expect_guest_notice(page, visible=False)
    expect(page.get_by_role("heading", name="Canvas Tote")).to_be_visible()
    expect(page.get_by_role("heading", name="Wool Beanie")).to_be_visible()
    expect(page.get_by_label("Quantity").first).to_have_value("2")  # the tote: 1 in the account + 1
    assert_accessible(page)

    def guest_is_gone() -> bool:
        record_id = db.session.execute(
            select(AuthRecord.id).where(
                AuthRecord.is_anonymous.is_(True), AuthRecord.merged_into_id == account_id
            )
        ).first()
        return record_id is None

    assert live_server.query(guest_is_gone)


def test_guest_is_warned_before_signing_out(page: Page, context: BrowserContext) -> None:
    page.goto("/")
    add_to_cart(page, "Brass Pen")
    nav(page).get_by_role("button", name="Sign out").click()

    # The button belongs to a GET form: it only opens the page (hence the empty query string).
    expect(page).to_have_url(re.compile(r"/logout\??$"))
    expect(page.get_by_text("Your guest cart can't be reached again without an account")).to_be_visible()
    assert_accessible(page)
    assert cookie(context, AUTH_COOKIE) is not None  # only a warning so far

    # The shopper may create an account instead ...
    expect(page.get_by_role("main").get_by_role("link", name="Create account")).to_have_attribute(
        "href", "/account/upgrade"
    )
    # ... or sign out for good.
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    status(page, "You have been signed out. Your guest cart has been cleared.")
    assert cookie(context, AUTH_COOKIE) is None
    expect(cart_link(page)).to_have_text("Cart")
