"""In the browser: an admin previews a cleanup of idle guests, deletes them, and sees the
dashboard's numbers change; a large backlog goes on by itself, or with Continue without JavaScript.

Each journey has a server of its own: deleting idle guests must not reach other journeys' data.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import BrowserContext
from playwright.sync_api import expect
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy import update

from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop.models import CartItem
from storefront.shop.models import Product
from tests.factories import AUTH_COOKIE
from tests.factories import make_guest
from tests.factories import make_order

from .conftest import MakeLiveServer
from .conftest import NewContextAt
from .helpers import add_to_cart
from .helpers import assert_accessible
from .helpers import cart_link
from .helpers import cookie
from .helpers import DESKTOP_CHROME_UA
from .helpers import screenshot
from .live_server import LiveServer

ADMIN_EMAIL = "owner@example.com"
ADMIN_PASSWORD = "the shop owner's passphrase"


def add_idle_guests(server: LiveServer, count: int, *, days: int = 45, with_order: bool = False) -> list[str]:
    """Anonymous records last active ``days`` ago, each with a two-line cart (one also ordered)."""

    def work() -> list[str]:
        when = utcnow() - timedelta(days=days)
        products = list(db.session.execute(select(Product.id).order_by(Product.id).limit(2)).scalars())
        guests = [make_guest(last_active=when, cart=products) for _ in range(count)]
        if with_order:
            for guest in guests:
                make_order(guest)
        return [guest.id for guest in guests]

    return server.query(work)


def sign_in_as_admin(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin dashboard")).to_be_visible()


def summary(page: Page, text: str) -> None:
    expect(
        page.get_by_role("list", name="Summary").get_by_role("listitem").filter(has_text=text)
    ).to_be_visible()


def test_admin_previews_deletes_and_sees_the_dashboard_change(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    server = make_live_server()
    server.cli("create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)

    # A real shopper fills a cart as a guest, then stays away for 40 days.
    shopper_context: BrowserContext = new_context_at(server, user_agent=DESKTOP_CHROME_UA)
    shopper = shopper_context.new_page()
    shopper.goto("/")
    add_to_cart(shopper, "Canvas Tote")
    shopper_cookie = cookie(shopper_context, AUTH_COOKIE)
    assert shopper_cookie is not None

    def stay_away() -> None:
        db.session.execute(
            update(AuthRecord)
            .where(AuthRecord.is_anonymous.is_(True))
            .values(last_active_at=utcnow() - timedelta(days=40))
        )
        db.session.commit()

    server.query(stay_away)
    # 24 more idle guests with carts, and one idle guest who placed an order.
    add_idle_guests(server, 24)
    [buyer] = add_idle_guests(server, 1, days=90, with_order=True)

    page = new_context_at(server).new_page()
    sign_in_as_admin(page)
    summary(page, "26 guest (anonymous) accounts")
    summary(page, "26 guest accounts inactive for more than 30 days")
    expect(page.get_by_text("No cleanup has run yet.")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("Anonymous records per day, last 30 days"))
    expect(chart).to_be_visible()
    page.get_by_text("Anonymous records per day: the numbers").click()
    expect(page.get_by_role("table").filter(has_text="Cleaned up").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "admin-dashboard")

    page.get_by_role("link", name="Clean up inactive guest accounts").click()
    expect(page.get_by_role("heading", name="Clean up inactive guest accounts")).to_be_visible()
    days = page.get_by_label("Inactive for at least (days)")
    expect(days).to_have_value("30")
    days.fill("30")
    page.get_by_label("Collection").select_option("All collections")
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("list", name="Preview counts")
    expect(preview).to_contain_text("25 would be deleted")
    expect(preview).to_contain_text("1 would be kept because they have orders")
    expect(page.get_by_role("table")).to_contain_text("Matching guest accounts 1–20 of 26")
    expect(page.get_by_role("row").filter(has_text=buyer)).to_contain_text("Would be kept: has orders")
    assert_accessible(page)
    screenshot(page, "admin-cleanup-preview")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    assert server.count(AuthRecord.id, AuthRecord.is_anonymous.is_(True)) == 26  # a preview deletes nothing

    # Delete is offered in the preview only, and goes ahead once the count is confirmed.
    page.get_by_role("button", name="Delete inactive guest accounts").click()
    expect(page.get_by_role("alert")).to_have_text("Tick the box to confirm that 25 should be deleted.")
    assert server.count(AuthRecord.id, AuthRecord.is_anonymous.is_(True)) == 26
    assert_accessible(page)
    page.get_by_label("Yes, delete the 25 guest accounts that would be deleted").check()
    page.get_by_role("button", name="Delete inactive guest accounts").click()
    expect(page.get_by_role("heading", name="Cleanup finished")).to_be_visible()
    result = page.get_by_role("status").filter(has_text="Deleted")
    expect(result).to_contain_text("Deleted 25 inactive guest accounts.")
    expect(result).to_contain_text("Kept 1 account because it has orders.")
    assert_accessible(page)

    page.get_by_role("link", name="Back to the dashboard").click()
    summary(page, "1 guest (anonymous) accounts")
    summary(page, "1 guest accounts inactive for more than 30 days")
    runs = page.get_by_role("region", name="Recent cleanup runs")
    expect(runs.get_by_role("row").nth(1)).to_contain_text(f"admin:{ADMIN_EMAIL}")
    expect(runs.get_by_role("row").nth(1)).to_contain_text("25")
    expect(runs.get_by_role("link", name=re.compile("Finished"))).to_be_visible()
    assert server.count(CartItem.id) == 2  # only the buyer's lines are left

    # The shopper comes back to an empty cart, not an error.
    shopper.goto("/cart")
    expect(shopper.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(cart_link(shopper)).to_have_text("Cart")


def start_deleting_in_batches(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt, *, guests: int, **context_options: Any
) -> tuple[LiveServer, Page]:
    """A server that deletes one batch of four per request (a zero time budget), with ``guests`` idle
    guests; the admin opens the cleanup page and presses Delete. Returns the server and the admin's
    page."""
    server = make_live_server(CLEANUP_TIME_BUDGET=0, CLEANUP_BATCH_SIZE=4)
    server.cli("create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    add_idle_guests(server, guests)
    page = new_context_at(server, **context_options).new_page()
    sign_in_as_admin(page)
    page.get_by_role("link", name="Clean up inactive guest accounts").click()
    expect(page.get_by_role("button", name="Delete inactive guest accounts")).to_have_count(0)
    page.get_by_role("button", name="Preview").click()
    page.get_by_label(f"Yes, delete the {guests} guest accounts that would be deleted").check()
    page.get_by_role("button", name="Delete inactive guest accounts").click()
    return server, page


def test_a_large_backlog_goes_on_by_itself(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    """Each request deletes one batch (a zero time budget); the page's script presses Continue."""
    server, page = start_deleting_in_batches(make_live_server, new_context_at, guests=18)

    expect(page.get_by_role("heading", name="Cleanup finished")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_contain_text(
        "Deleted 18 inactive guest accounts."
    )
    assert server.count(AuthRecord.id, AuthRecord.is_anonymous.is_(True)) == 0


def test_without_javascript_the_admin_presses_continue(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    server, page = start_deleting_in_batches(
        make_live_server, new_context_at, guests=10, java_script_enabled=False
    )

    expect(page.get_by_role("heading", name="Cleanup in progress")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Deleted 4 accounts so far, of about 10.")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()  # the script's button
    check_progress_page(server, new_context_at, page.url)
    page.reload()  # a reload neither repeats nor loses work
    expect(page.get_by_role("status")).to_contain_text("Deleted 4 accounts so far")

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 8 accounts so far")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Cleanup finished")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_contain_text(
        "Deleted 10 inactive guest accounts."
    )


def check_progress_page(server: LiveServer, new_context_at: NewContextAt, url: str) -> None:
    """axe-core and the screenshots need JavaScript: look at the progress page in a browser that runs
    it, with the auto-continue script blocked so the page stays as it is."""
    context = new_context_at(server)
    context.route("**/static/admin.js?*", lambda route: route.abort())  # fingerprinted URL
    checker = context.new_page()
    sign_in_as_admin(checker)
    checker.goto(url)
    expect(checker.get_by_role("heading", name="Cleanup in progress")).to_be_visible()
    assert_accessible(checker)
    screenshot(checker, "admin-cleanup-progress")
    context.close()
