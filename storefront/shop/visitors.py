"""Try before you buy: when a visitor gets an anonymous account without asking.

``TRY_BEFORE_YOU_BUY`` is one of:

* ``lazy`` (default): the first cart action creates the account, in the same request;
* ``eager``: every returning visitor gets one on arrival (as in the PocketPages example), except known
  crawlers and clients that do not send cookies back, which would otherwise mint an account per
  request;
* ``off``: no automatic accounts; the cart asks the shopper to continue as guest or sign in.
"""

from __future__ import annotations

import contextlib
import re

from flask import current_app
from flask import Flask
from flask import g
from flask import request
from flask import Response
from flask_login import current_user

from ..auth import AuthError
from ..auth import sign_in_anonymously

MODES = ("lazy", "eager", "off")
# A visitor in eager mode is only signed in once this cookie has come back: proof that the client
# keeps cookies, so the account it gets will be used again.
PROBE_COOKIE = "storefront_probe"
_CRAWLERS = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|embedly|preview|monitor|curl|wget|python-requests"
    r"|httpx|go-http-client|headless",
    re.IGNORECASE,
)


def mode() -> str:
    """The configured mode (validated when the app starts)."""
    return str(current_app.config["TRY_BEFORE_YOU_BUY"])


def is_crawler(user_agent: str | None) -> bool:
    """Known crawlers, link previewers and scripted clients (and clients that send no agent)."""
    return not user_agent or _CRAWLERS.search(user_agent) is not None


def ensure_cart_owner() -> bool:
    """Before a cart action: make sure the request has an identity that can own a cart.

    In ``lazy`` and ``eager`` mode a visitor without one is signed in anonymously now. Returns False
    when there is no identity and none may be made (``off`` mode). Raises ``AuthError`` when the
    account cannot be created (rate limit, storage).
    """
    if current_user.is_authenticated:
        return True
    if mode() == "off":
        return False
    sign_in_anonymously()
    return True


def _eager_sign_in() -> None:
    if mode() != "eager" or request.method != "GET" or request.blueprint == "api":
        return
    if request.endpoint in (None, "static") or current_user.is_authenticated:
        return
    if is_crawler(request.headers.get("User-Agent")):
        return
    if PROBE_COOKIE not in request.cookies:
        g.set_probe_cookie = True
        return
    # Rate limited or storage trouble: browse without an account; the first cart action tries again.
    with contextlib.suppress(AuthError):
        sign_in_anonymously()


def _set_probe_cookie(response: Response) -> Response:
    if g.pop("set_probe_cookie", False):
        response.set_cookie(
            PROBE_COOKIE,
            "1",
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["AUTH_COOKIE_SECURE"],
        )
    return response


def init_app(app: Flask) -> None:
    """Check the setting and register the eager-mode hooks."""
    app.config.setdefault("TRY_BEFORE_YOU_BUY", "lazy")
    if app.config["TRY_BEFORE_YOU_BUY"] not in MODES:
        raise RuntimeError(f"TRY_BEFORE_YOU_BUY must be one of {', '.join(MODES)}.")
    app.before_request(_eager_sign_in)
    app.after_request(_set_probe_cookie)
