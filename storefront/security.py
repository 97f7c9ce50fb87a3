"""Response headers and redirect checks that every page shares."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask import Flask
from flask import request
from flask import Response
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map

from .models import MAX_INTEGER_ID

# Everything this shop serves comes from its own origin; no inline script or style is used.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    """``after_request``: CSP, no framing, no MIME sniffing, no cross-site referrers, and HSTS over
    HTTPS when the ``HSTS`` setting gives one (production does)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # Browsers ignore HSTS received over plain HTTP (RFC 6797), so it is only sent over HTTPS.
    hsts = current_app.config["HSTS"]
    if hsts and request.is_secure:
        headers.setdefault("Strict-Transport-Security", str(hsts))
    return response


def personal_page(page: str, status: int = 200) -> Response:
    """An HTML page no browser or proxy may keep a copy of: an order, a reset link (ASVS 14.3.2)."""
    response = Response(page, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: object) -> str | None:
    """Return ``target`` if it is a path on this site, else ``None`` (no open redirects).

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host`` as
    ``//host``), any scheme (``javascript:``), and control characters.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def refuse_oversized_body() -> None:
    """``before_request``: answer 413 to a body larger than ``MAX_CONTENT_LENGTH`` before anything runs.

    Werkzeug enforces the limit only when a view reads the body, so a route that never reads one (the
    anonymous sign-in of the API, a page that redirects a signed-in visitor, sign-out) accepted a body
    of any size. A body sent without a length (chunked) is still cut off by werkzeug when it is read.
    """
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise RequestEntityTooLarge()


class IntegerIdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number larger than any id is no match (404), instead of a value the
    database cannot take (SQLite: OverflowError; PostgreSQL: integer out of range)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INTEGER_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Register the header hook and the size check (first of all the checks, CSRF included), and the
    ``int`` converter of the routes (before any route is added)."""
    app.url_map.converters["int"] = IntegerIdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_body)
    app.after_request(set_security_headers)
