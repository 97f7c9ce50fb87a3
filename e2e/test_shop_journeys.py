"""In the browser: try before you buy in its three modes, guest checkout, and what goes wrong.

Every page of the journeys passes the axe-core check; the lazy journey saves the README's screenshots.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import expect
from playwright.sync_api import Page

from storefront.auth.models import AuthRecord
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from tests.factories import AUTH_COOKIE

from .conftest import MakeLiveServer
from .conftest import NewContextAt
from .helpers import add_to_cart
from .helpers import assert_accessible
from .helpers import cart_link
from .helpers import cookie
from .helpers import CRAWLER_UA
from .helpers import DESKTOP_CHROME_UA
from .helpers import expect_guest_notice
from .helpers import fill_delivery as fill_delivery_with
from .helpers import product_card
from .helpers import screenshot
from .live_server import LiveServer

ORDER_NUMBER = re.compile(r"SF-[2-9A-Z]{4}-[2-9A-Z]{4}")
DELIVERY = {
    "Email": "ada@example.com",
    "Full name": "Ada Lovelace",
    "Address": "12 St James's Square",
    "City": "London",
    "Postal code": "SW1Y 4JH",
    "Country": "United Kingdom",
}


def auth_token(context: BrowserContext) -> str | None:
    item = cookie(context, AUTH_COOKIE)
    return item["value"] if item else None


def open_checkout_from_cart(page: Page) -> None:
    cart_link(page).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    page.get_by_role("button", name="Checkout").click()


def expect_checkout_options(page: Page) -> None:
    expect(page).to_have_url("/checkout")
    expect(page.get_by_role("button", name="Continue as Guest")).to_be_visible()
    expect(page.get_by_text("or", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Sign In", exact=True)).to_be_visible()


def fill_delivery(page: Page) -> None:
    fill_delivery_with(page, DELIVERY)


def test_lazy_mode_from_first_visit_to_confirmation(
    page: Page, context: BrowserContext, browser: Browser, live_server: LiveServer
) -> None:
    stock_before = live_server.stock("Ceramic Mug")

    # First visit: browsing makes no account.
    page.goto("/")
    expect(page.get_by_role("heading", name="Shop", exact=True)).to_be_visible()
    expect(product_card(page, "Ceramic Mug").get_by_role("button", name="Add to cart")).to_be_visible()
    expect_guest_notice(page, visible=False)
    assert auth_token(context) is None
    assert_accessible(page)
    screenshot(page, "catalogue")

    # The first cart action signs the visitor in anonymously, and the item is in the cart.
    add_to_cart(page, "Ceramic Mug")
    shopper_token = auth_token(context)
    assert shopper_token is not None
    expect_guest_notice(page)
    expect(cart_link(page)).to_contain_text("1")
    assert_accessible(page)

    cart_link(page).click()
    expect(page).to_have_url("/cart")
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.get_by_role("heading", name="Ceramic Mug")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_value("1")
    expect(page.get_by_role("button", name="Update")).to_be_visible()
    expect(page.get_by_role("button", name="Remove")).to_be_visible()
    expect(page.get_by_role("complementary", name="Order summary")).to_contain_text("$18.00")
    expect_guest_notice(page)
    assert_accessible(page)
    screenshot(page, "cart")

    # An anonymous "users" record has no full account: it chooses how to check out.
    page.get_by_role("button", name="Checkout").click()
    expect_checkout_options(page)
    expect_guest_notice(page)
    assert_accessible(page)
    screenshot(page, "checkout-options")

    page.get_by_role("button", name="Continue as Guest").click()
    expect(page).to_have_url("/checkout")
    expect(page.get_by_text("You're checking out as a guest: no account needed.")).to_be_visible()
    expect(page.get_by_role("button", name="Place order")).to_be_visible()
    # The form's own lead says it: the header's guest notice stays off the checkout form.
    expect_guest_notice(page, visible=False)
    # A new guest customer record, holding the cart the shopper had.
    assert auth_token(context) not in (None, shopper_token)
    expect(page.get_by_role("complementary", name="Order summary")).to_contain_text("Ceramic Mug")
    assert_accessible(page)

    # Nothing filled in: every field says what is missing, and the page stays accessible.
    page.get_by_role("button", name="Place order").click()
    summary = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="There are 6 problems"))
    expect(summary).to_be_focused()
    expect(page.get_by_label("Full name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#full_name-error")).to_have_text("Enter the name to deliver to.")
    # Each message in the summary leads to its field.
    summary.get_by_role("link", name="Enter the town or city.").click()
    expect(page).to_have_url(re.compile(r"/checkout#city$"))
    assert_accessible(page)
    screenshot(page, "checkout-errors")

    # A fresh form, filled in, for the README.
    page.goto("/checkout")
    expect(page.get_by_label("Email", exact=True)).to_have_value("")
    fill_delivery(page)
    screenshot(page, "checkout-form")
    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url(re.compile(r"/orders/SF-"))
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    number = page.locator(".order-number").inner_text()
    assert ORDER_NUMBER.fullmatch(number), number
    assert page.url.endswith(f"/orders/{number}")
    main = page.get_by_role("main")
    expect(main).to_contain_text(f"Your order number is {number}")
    expect(main).to_contain_text("Ceramic Mug")
    expect(main).to_contain_text(DELIVERY["Full name"])
    expect_guest_notice(page)
    create_account = main.get_by_role("link", name="Create account")
    expect(create_account).to_be_visible()
    assert_accessible(page)
    screenshot(page, "confirmation")

    assert live_server.stock("Ceramic Mug") == stock_before - 1
    assert live_server.count(Order.id, Order.number == number) == 1
    # The cart became the order.
    expect(cart_link(page)).to_have_text("Cart")

    # The order is private: another browser gets "not found".
    stranger = browser.new_context(base_url=live_server.url)
    try:
        other = stranger.new_page()
        response = other.goto(f"/orders/{number}")
        assert response is not None and response.status == 404
        expect(other.get_by_role("heading", name="Page not found")).to_be_visible()
    finally:
        stranger.close()

    # Create account leads to a form that turns the guest into a full account.
    create_account.click()
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Create account")).to_be_visible()


def test_product_page_and_cart_changes(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    product_card(page, "Field Notebook").get_by_role("link", name="Field Notebook").click()
    expect(page.get_by_role("heading", name="Field Notebook", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status").filter(has_text="Added Field Notebook to your cart.")).to_be_visible()

    cart_link(page).click()
    expect(page.get_by_label("Quantity")).to_have_value("3")
    expect(page.get_by_role("complementary", name="Order summary")).to_contain_text("$36.00")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_role("status").filter(has_text="Updated Field Notebook to 2.")).to_be_visible()
    expect(page.get_by_role("complementary", name="Order summary")).to_contain_text("$24.00")
    assert_accessible(page)

    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("button", name="Checkout")).to_have_count(0)
    assert_accessible(page)


def test_eager_mode_signs_in_returning_browsers_but_never_crawlers(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    server = make_live_server(TRY_BEFORE_YOU_BUY="eager")
    anonymous = (AuthRecord.id, AuthRecord.is_anonymous.is_(True))

    # A crawler never gets an account, however often it comes.
    crawler = new_context_at(server, user_agent=CRAWLER_UA)
    bot = crawler.new_page()
    for _ in range(3):
        bot.goto("/")
        expect(bot.get_by_role("heading", name="Shop", exact=True)).to_be_visible()
    assert auth_token(crawler) is None
    assert server.count(*anonymous) == 0

    shopper = new_context_at(server, user_agent=DESKTOP_CHROME_UA)
    page = shopper.new_page()
    # First page view: only a probe cookie, to see whether the browser keeps cookies.
    page.goto("/")
    expect_guest_notice(page, visible=False)
    assert auth_token(shopper) is None
    assert cookie(shopper, "storefront_probe") is not None
    assert server.count(*anonymous) == 0

    # Second page view: the probe came back, so the visitor gets an anonymous account.
    page.goto("/cart")
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect_guest_notice(page)
    token = auth_token(shopper)
    assert token is not None
    assert server.count(*anonymous) == 1
    assert_accessible(page)

    # The same account from then on, and the cart works as in lazy mode.
    add_to_cart(page, "Wool Beanie")
    page.goto("/")
    assert auth_token(shopper) == token
    assert server.count(*anonymous) == 1
    assert server.count(CartItem.id) == 1


def test_off_mode_asks_to_continue_as_guest_or_sign_in(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    server = make_live_server(TRY_BEFORE_YOU_BUY="off")
    context = new_context_at(server)
    page = context.new_page()

    page.goto("/cart")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("link", name="continue as a guest")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="sign in")).to_be_visible()
    assert_accessible(page)

    # Add to cart makes no account: the shopper is asked to choose.
    add_to_cart(page, "Steel Bottle", expect_added=False)
    expect_checkout_options(page)
    expect(
        page.get_by_role("status").filter(has_text="To start a cart, continue as a guest or sign in.")
    ).to_be_visible()
    assert auth_token(context) is None
    assert server.count(AuthRecord.id) == 0
    assert_accessible(page)

    page.get_by_role("button", name="Continue as Guest").click()
    assert auth_token(context) is not None
    expect_guest_notice(page)
    add_to_cart(page, "Steel Bottle")
    open_checkout_from_cart(page)
    # A guest customer goes straight to the checkout form.
    expect(page.get_by_role("button", name="Place order")).to_be_visible()
    fill_delivery(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    assert server.count(AuthRecord.id, AuthRecord.collection == "customers") == 1
    assert server.count(AuthRecord.id, AuthRecord.collection == "users") == 0


def test_out_of_stock_is_refused_with_a_message_and_no_order(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    server = make_live_server()
    context = new_context_at(server)
    page = context.new_page()
    server.set_stock("Linen Apron", 1)

    # Adding more than the shop has.
    add_to_cart(page, "Linen Apron")
    expect(product_card(page, "Linen Apron")).to_contain_text("Only 1 left")
    add_to_cart(page, "Linen Apron", expect_added=False)
    expect(page.get_by_role("alert")).to_have_text("Only 1 of Linen Apron left in stock.")
    assert_accessible(page)

    # The last one sells while the shopper fills in the checkout form.
    open_checkout_from_cart(page)
    page.get_by_role("button", name="Continue as Guest").click()
    fill_delivery(page)
    server.set_stock("Linen Apron", 0)
    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url("/cart")
    expect(page.get_by_role("alert")).to_have_text("Sorry, Linen Apron is sold out.")
    expect(page.get_by_role("heading", name="Linen Apron")).to_be_visible()
    assert_accessible(page)
    assert server.count(Order.id) == 0
    assert server.stock("Linen Apron") == 0


def test_failed_guest_account_keeps_the_cart(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    # One new anonymous record per hour: the first cart action uses it up.
    server = make_live_server(ANONYMOUS_RATE_LIMIT="1 per hour")
    context = new_context_at(server)
    page = context.new_page()
    add_to_cart(page, "Brass Pen")
    shopper_token = auth_token(context)

    open_checkout_from_cart(page)
    expect_checkout_options(page)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Continue as Guest").click()
    assert posted.value.status == 429

    expect(page.get_by_role("alert")).to_have_text(
        "Failed to create guest account: Too many new accounts from your network. Please try again later."
    )
    # Still the same anonymous shopper, and the options are still offered.
    expect_checkout_options(page)
    assert auth_token(context) == shopper_token
    assert server.count(AuthRecord.id, AuthRecord.collection == "customers") == 0
    assert_accessible(page)

    cart_link(page).click()
    expect(page.get_by_role("heading", name="Brass Pen")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_value("1")
