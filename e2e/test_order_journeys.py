"""Guest orders that outlive the cookie, in the browser: the receipt and its link opened with no
cookie, the order look-up, and the forgotten password. Each journey runs on a desktop and a phone;
mail is read from the development outbox, whose links lead back to the server (SITE_URL)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext
from playwright.sync_api import expect
from playwright.sync_api import Locator
from playwright.sync_api import Page
from sqlalchemy import select

from storefront.auth.accounts import create_account
from storefront.extensions import db
from storefront.mail import OutboxMessage
from tests.factories import AUTH_COOKIE

from .conftest import NewContextAt
from .helpers import add_to_cart
from .helpers import assert_accessible
from .helpers import cart_link
from .helpers import cookie
from .helpers import fill_delivery
from .helpers import screenshot
from .helpers import VIEWPORTS
from .live_server import LiveServer

ORDER_NUMBER = re.compile(r"SF-[2-9A-Z]{4}-[2-9A-Z]{4}")
PASSWORD = "a long journey passphrase"
NEW_PASSWORD = "another journey passphrase"
SCREENS = list(VIEWPORTS)


def delivery(email: str) -> dict[str, str]:
    return {
        "Email": email,
        "Full name": "Ada Lovelace",
        "Address": "12 St James's Square",
        "City": "London",
        "Postal code": "SW1Y 4JH",
        "Country": "United Kingdom",
    }


def mails_to(server: LiveServer, recipient: str, subject: str) -> int:
    return server.query(
        lambda: len(
            db.session.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.recipient == recipient, OutboxMessage.subject == subject
                )
            ).all()
        )
    )


def outbox_message(page: Page, subject: str) -> Locator:
    """The newest message with ``subject`` on the development outbox page."""
    page.goto("/dev/outbox")
    heading = page.get_by_role("heading", name=subject, exact=True)
    return page.get_by_role("listitem").filter(has=heading).first


def mailed_link(page: Page, subject: str, path: str) -> str:
    """The address of the first link to ``path`` in the newest message with ``subject``."""
    message = outbox_message(page, subject)
    expect(message.get_by_role("heading", name="Text part")).to_be_visible()
    expect(message.get_by_role("heading", name="HTML part")).to_be_visible()
    link = message.get_by_role("link", name=path).first  # a substring of the address
    href = link.get_attribute("href")
    assert href is not None and href.startswith(page.url.split("/dev/", 1)[0] + path), href
    return href


def open_html_part(page: Page, subject: str) -> None:
    outbox_message(page, subject).get_by_role("link", name=f"Open the HTML part of “{subject}”").click()


def guest_order(page: Page, email: str) -> str:
    """A guest buys a mug; returns the order number from the confirmation page."""
    page.goto("/")
    add_to_cart(page, "Ceramic Mug")
    cart_link(page).click()
    page.get_by_role("button", name="Checkout").click()
    page.get_by_role("button", name="Continue as Guest").click()
    fill_delivery(page, delivery(email))
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    number = ORDER_NUMBER.search(page.get_by_role("main").inner_text())
    assert number
    return number.group(0)


@pytest.fixture(params=SCREENS)
def screen(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def shopper(new_context_at: NewContextAt, live_server: LiveServer, screen: str) -> Page:
    return new_context_at(live_server, viewport=VIEWPORTS[screen]).new_page()


def test_receipt_link_opens_the_order_in_a_fresh_browser(
    shopper: Page, new_context_at: NewContextAt, live_server: LiveServer, screen: str
) -> None:
    email = f"receipt.{screen}@example.com"
    number = guest_order(shopper, email)
    expect(shopper.get_by_text(f"A receipt goes to {email}.")).to_be_visible()
    expect(shopper.get_by_text("We couldn't send the receipt")).to_have_count(0)

    subject = f"Your Storefront receipt for order {number}"
    assert mails_to(live_server, email, subject) == 1
    link = mailed_link(shopper, subject, "/orders/view/")
    message = outbox_message(shopper, subject)
    expect(message.get_by_role("heading", name="Text part")).to_be_visible()
    expect(message.locator("pre")).to_contain_text(number)
    expect(message.locator("pre")).to_contain_text("1 x Ceramic Mug at $18.00: $18.00")
    frame = message.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    expect(frame.get_by_text("Ceramic Mug")).to_be_visible()
    assert_accessible(shopper)
    if screen == "desktop":
        screenshot(shopper, "outbox-receipt")
        open_html_part(shopper, subject)
        expect(shopper.get_by_role("link", name="View your order")).to_be_visible()
        screenshot(shopper, "mail-receipt")

    # Another screen: no cookie at all, and the link alone shows the order.
    stranger: BrowserContext = new_context_at(live_server, viewport=VIEWPORTS[screen])
    page = stranger.new_page()
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    main = page.get_by_role("main")
    expect(main).to_contain_text("Placed")
    expect(main).to_contain_text("Ceramic Mug")
    expect(main).to_contain_text("12 St James's Square")
    create = main.get_by_role("link", name="Create account")
    expect(create).to_have_attribute("href", f"/register?email={email}")
    assert cookie(stranger, AUTH_COOKIE) is None
    assert_accessible(page)
    if screen == "desktop":  # screenshot() takes both sizes itself
        screenshot(page, "order-status")

    # A link altered by one character opens nothing, with a clear page.
    response = page.goto(link[:-2] + ("xx" if not link.endswith("xx") else "yy"))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="We can't open this order")).to_be_visible()
    expect(page.get_by_role("link", name="Find your order").first).to_be_visible()
    assert_accessible(page)


def test_order_lookup_mails_only_the_right_email(
    shopper: Page, new_context_at: NewContextAt, live_server: LiveServer, screen: str
) -> None:
    email = f"lookup.{screen}@example.com"
    number = guest_order(shopper, email)
    subject = f"Your Storefront order {number}"

    page = new_context_at(live_server, viewport=VIEWPORTS[screen]).new_page()
    page.goto("/login")
    page.get_by_role("main").get_by_role("link", name="Find your order").click()
    expect(page).to_have_url("/orders/lookup")
    expect(page.get_by_role("heading", name="Find your order")).to_be_visible()
    assert_accessible(page)
    if screen == "desktop":  # screenshot() takes both sizes itself
        screenshot(page, "order-lookup")

    answer = page.get_by_role("status").filter(has_text="If that order exists, we sent a link to its email.")
    page.get_by_label("Order number").fill(number.lower())
    page.get_by_label("Email").fill("mallory@example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(answer).to_be_visible()
    wrong_page = page.get_by_role("main").inner_text().replace("mallory@example.com", "")
    assert mails_to(live_server, email, subject) == 0
    assert mails_to(live_server, "mallory@example.com", subject) == 0

    page.get_by_label("Order number").fill(number)
    page.get_by_label("Email").fill(email.upper())
    page.get_by_role("button", name="Send me a link").click()
    expect(answer).to_be_visible()
    assert page.get_by_role("main").inner_text().replace(email.upper(), "") == wrong_page
    assert mails_to(live_server, email, subject) == 1
    assert_accessible(page)

    # The footer offers the look-up on every page, and the mailed link opens the order.
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Find your order").click()
    expect(page).to_have_url("/orders/lookup")
    link = mailed_link(page, subject, "/orders/view/")
    page.goto(link)
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()


def test_forgot_password_end_to_end(
    shopper: Page, new_context_at: NewContextAt, live_server: LiveServer, screen: str
) -> None:
    email = f"forgot.{screen}@example.com"
    live_server.query(lambda: create_account(email, PASSWORD).id)

    # Signed in on another screen: that session ends with the reset.
    other = new_context_at(live_server, viewport=VIEWPORTS[screen]).new_page()
    other.goto("/login")
    other.get_by_label("Email", exact=True).fill(email)
    other.get_by_label("Password", exact=True).fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    other.goto("/account")
    expect(other).to_have_url("/account")

    page = shopper
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url("/account/reset")
    expect(page.get_by_role("heading", name="Forgot password?")).to_be_visible()
    assert_accessible(page)
    if screen == "desktop":  # screenshot() takes both sizes itself
        screenshot(page, "password-reset-request")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status").filter(has_text="If an account uses that email")).to_be_visible()
    assert mails_to(live_server, email, "Reset your password") == 1

    link = mailed_link(page, "Reset your password", "/account/reset/")
    if screen == "desktop":
        open_html_part(page, "Reset your password")
        expect(page.get_by_role("link", name="Choose a new password")).to_be_visible()
        screenshot(page, "mail-password-reset")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_accessible(page)
    if screen == "desktop":  # screenshot() takes both sizes itself
        screenshot(page, "password-reset-new")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url("/account")
    expect(page.get_by_role("status").filter(has_text="Your password is changed.")).to_be_visible()

    # The other screen is signed out; the old password stops working, the new one works.
    other.goto("/account")
    expect(other).to_have_url(re.compile(r"/login"))
    fresh = new_context_at(live_server, viewport=VIEWPORTS[screen]).new_page()
    fresh.goto("/login")
    fresh.get_by_label("Email", exact=True).fill(email)
    fresh.get_by_label("Password", exact=True).fill(PASSWORD)
    fresh.get_by_role("button", name="Sign in").click()
    expect(fresh.get_by_label("Password", exact=True)).to_have_accessible_description(
        "The email or password is not correct."
    )
    fresh.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    fresh.get_by_role("button", name="Sign in").click()
    expect(fresh.get_by_role("navigation", name="Main").get_by_role("link", name="Account")).to_be_visible()

    # The link worked once.
    response = fresh.goto(link)
    assert response is not None and response.status == 400
    expect(fresh.get_by_role("heading", name="We can't use this link")).to_be_visible()
    assert_accessible(fresh)
