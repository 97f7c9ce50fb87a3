"""What the journeys do again and again: add to cart, read cookies, screenshots, the axe-core check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext
from playwright.sync_api import Cookie
from playwright.sync_api import expect
from playwright.sync_api import Locator
from playwright.sync_api import Page
from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parent.parent
# A test run writes its screenshots under test-results/ (ignored by git), so running the suite never
# changes tracked files; STOREFRONT_SCREENSHOT_DIR=docs/screenshots refreshes the README's gallery.
SCREENSHOT_DIR = Path(os.environ.get("STOREFRONT_SCREENSHOT_DIR") or ROOT / "test-results" / "screenshots")
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 800},
}
# Every page is checked at these widths: the narrowest phones, a common phone, a laptop.
CHECK_WIDTHS: list[ViewportSize] = [
    {"width": 320, "height": 640},
    {"width": 390, "height": 844},
    {"width": 1280, "height": 800},
]
GUEST_NOTICE = "You're shopping as a guest"
# A desktop Chrome user agent: the default one of headless Chromium says "HeadlessChrome", which the
# shop rightly counts as an automated client (no account in eager mode).
DESKTOP_CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)
CRAWLER_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

_axe = Axe()


def product_card(page: Page, product_name: str) -> Locator:
    """The catalogue's card of one product."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=product_name, exact=True))


def add_to_cart(page: Page, product_name: str, *, expect_added: bool = True) -> None:
    """Press the product's Add to cart button on the catalogue (going there first if need be)."""
    if urlsplit(page.url).path != "/":
        page.goto("/")
    product_card(page, product_name).get_by_role("button", name="Add to cart").click()
    if expect_added:
        expect(
            page.get_by_role("status").filter(has_text=f"Added {product_name} to your cart.")
        ).to_be_visible()


def fill_delivery(page: Page, details: dict[str, str]) -> None:
    """Fill the checkout form: text fields by label, the Country list by the country's name."""
    for label, value in details.items():
        field = page.get_by_label(label, exact=True)
        if label == "Country":
            field.select_option(label=value)
        else:
            field.fill(value)


def cart_link(page: Page) -> Locator:
    """The navigation's Cart link (its name carries the item count when the cart has items)."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name="Cart")


def cookie(context: BrowserContext, name: str) -> Cookie | None:
    """The browser's cookie ``name`` for the pages visited, if it has one."""
    return next((item for item in context.cookies() if item["name"] == name), None)


def expect_guest_notice(page: Page, *, visible: bool = True) -> None:
    """The guest banner of every page while signed in anonymously."""
    notice = page.get_by_text(GUEST_NOTICE)
    if visible:
        expect(notice).to_be_visible()
        expect(page.get_by_role("banner").get_by_role("link", name="Create account")).to_be_visible()
    else:
        expect(notice).to_have_count(0)


def _visible_images_loaded(page: Page) -> None:
    # Lazy images load once the viewport reaches them: wait for those in view before the picture.
    page.wait_for_function(
        """() => Array.from(document.images)
            .filter((img) => {
              const box = img.getBoundingClientRect();
              return box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
            })
            .every((img) => img.complete && img.naturalWidth > 0)"""
    )


def screenshot(page: Page, name: str) -> list[Path]:
    """Save ``<name>-phone.png`` (390x844) and ``<name>-desktop.png`` (1280x800) in ``SCREENSHOT_DIR``.

    The page keeps its own viewport afterwards.
    """
    original = page.viewport_size
    saved = []
    try:
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            page.evaluate("window.scrollTo(0, 0)")
            _visible_images_loaded(page)
            path = SCREENSHOT_DIR / f"{name}-{label}.png"
            page.screenshot(path=path, animations="disabled", caret="hide")
            saved.append(path)
    finally:
        if original is not None:
            page.set_viewport_size(original)
    return saved


def _describe(violation: dict[str, Any]) -> str:
    targets = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
    return (
        f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
        f"  {violation['helpUrl']}\n  at {targets}"
    )


def assert_one_identity_state(page: Page) -> None:
    """The header never offers Sign in and Sign out at once."""
    header = page.get_by_role("banner")
    sign_in = header.get_by_role("link", name="Sign in", exact=True).count()
    sign_out = header.get_by_role("button", name="Sign out", exact=True).count()
    assert not (sign_in and sign_out), f"{page.url}: the header offers both Sign in and Sign out"


def assert_accessible(page: Page, *, javascript: bool = True) -> None:
    """The page as it is now, at 320, 390 and 1280 px wide: no horizontal scroll, no axe-core
    violation of any impact (minor included), and one identity state in the header.

    axe-core is injected as a script, so a page of a context without JavaScript (``javascript=False``)
    is checked on a copy of its HTML in a page that runs it (the same markup and styles, the same
    address for relative URLs).
    """
    original = page.viewport_size
    target = page if javascript else _scriptable_copy(page)
    try:
        assert_one_identity_state(target)
        for size in CHECK_WIDTHS:
            target.set_viewport_size(size)
            width = target.evaluate("document.documentElement.scrollWidth")
            assert width <= size["width"], (
                f"{page.url} scrolls sideways at {size['width']} px ({width} px wide)"
            )
            violations: list[dict[str, Any]] = _axe.run(target).response["violations"]
            assert not violations, f"axe-core on {page.url} at {size['width']} px:\n" + "\n".join(
                map(_describe, violations)
            )
    finally:
        if target is not page:
            target.context.close()
        elif original is not None:
            page.set_viewport_size(original)


def _scriptable_copy(page: Page) -> Page:
    browser = page.context.browser
    assert browser is not None
    html = page.content()
    copy = browser.new_context(viewport=page.viewport_size, base_url=page.url).new_page()
    # The copy's requests (stylesheet, images) go to the same server; its forms are never sent.
    copy.route(page.url, lambda route: route.fulfill(body=html, content_type="text/html"))
    copy.goto(page.url)
    return copy
