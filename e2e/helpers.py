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
SCREENSHOT_DIR = Path(os.environ.get("STOREFRONT_SCREENSHOT_DIR") or ROOT / "docs" / "screenshots")
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 800},
}
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
    """Save ``docs/screenshots/<name>-phone.png`` (390x844) and ``<name>-desktop.png`` (1280x800).

    The page keeps its own viewport afterwards. ``STOREFRONT_SCREENSHOT_DIR`` sends them elsewhere.
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


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    violations: list[dict[str, Any]] = _axe.run(page).response["violations"]
    blocking = [item for item in violations if item["impact"] in ("serious", "critical")]
    assert not blocking, f"axe-core on {page.url}:\n" + "\n".join(map(_describe, blocking))
