"""In the browser: an admin made by ``create-admin`` signs in and out; the cookies' flags."""

from __future__ import annotations

from playwright.sync_api import BrowserContext
from playwright.sync_api import expect
from playwright.sync_api import Page

from tests.factories import AUTH_COOKIE
from tests.factories import SECURE_AUTH_COOKIE

from .conftest import MakeLiveServer
from .conftest import NewContextAt
from .helpers import assert_accessible
from .helpers import cookie
from .live_server import LiveServer

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a long admin passphrase"


def csrf_token(page: Page) -> str:
    """The CSRF token of the first form on the page."""
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value
    return value


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def session_value(context: BrowserContext, name: str = "session") -> str:
    item = cookie(context, name)
    assert item is not None, f"no {name} cookie"
    return item["value"]


def test_admin_from_the_cli_signs_in_and_out(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    result = live_server.cli("create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert f"Created admin {ADMIN_EMAIL}" in result.output

    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Create account")).to_be_visible()
    assert_accessible(page)
    # The login form's CSRF token lives in the session, so the browser has a session cookie already.
    session_before, token_before = session_value(context), csrf_token(page)
    assert cookie(context, AUTH_COOKIE) is None

    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url("/")
    expect(page.get_by_role("status").filter(has_text="Welcome back, admin.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_have_count(0)
    # A full account is not a guest.
    expect(page.get_by_text("You're shopping as a guest")).to_have_count(0)

    auth = cookie(context, AUTH_COOKIE)
    assert auth is not None
    assert auth["httpOnly"] is True
    assert auth["sameSite"] == "Lax"
    assert auth["secure"] is False  # development settings: plain http
    assert auth["path"] == "/"
    assert auth["expires"] > 0, "the auth cookie outlives the browser session (it matches the token)"
    assert AUTH_COOKIE not in page.evaluate("document.cookie"), "HttpOnly: scripts cannot read it"
    # The session was renewed on sign-in: a new cookie and a new CSRF token (no session fixation).
    assert session_value(context) != session_before
    assert csrf_token(page) != token_before

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status").filter(has_text="You have been signed out.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert cookie(context, AUTH_COOKIE) is None


def test_wrong_password_keeps_the_visitor_signed_out(page: Page, context: BrowserContext) -> None:
    sign_in(page, "nobody@example.com", "not the password")

    # In the focused summary at the top, and at the field.
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="The email or password is not correct.")).to_be_visible()
    expect(page.locator("#password-error")).to_have_text("The email or password is not correct.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert cookie(context, AUTH_COOKIE) is None
    assert_accessible(page)


def test_secure_cookie_gets_the_host_prefix(
    make_live_server: MakeLiveServer, new_context_at: NewContextAt
) -> None:
    # Chromium treats http://localhost as a secure context, so it keeps Secure cookies there.
    server = make_live_server(host="localhost", AUTH_COOKIE_SECURE=True, SESSION_COOKIE_SECURE=True)
    server.cli("create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    context = new_context_at(server)
    page = context.new_page()

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    names = {item["name"] for item in context.cookies()}
    assert AUTH_COOKIE not in names
    auth = cookie(context, SECURE_AUTH_COOKIE)
    assert auth is not None
    assert auth["secure"] is True
    assert auth["httpOnly"] is True
    assert auth["sameSite"] == "Lax"
    # __Host- cookies are host-only and for the whole site.
    assert auth["path"] == "/"
    assert auth["domain"] == "localhost"
    session = cookie(context, "session")
    assert session is not None and session["secure"] is True

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    assert cookie(context, SECURE_AUTH_COOKIE) is None
