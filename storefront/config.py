"""Every setting the app reads, in one place.

Settings are layered, each layer overriding the one before:

1. ``DEFAULTS`` below: safe for a local demo (SQLite in the instance folder, in-memory rate limits);
2. ``PRODUCTION`` when ``STOREFRONT_ENV=production``: secure cookies, one proxy hop, and a secret key
   that must be given;
3. ``instance/config.py`` if it exists;
4. environment variables prefixed ``STOREFRONT_`` (``STOREFRONT_SECRET_KEY``,
   ``STOREFRONT_SQLALCHEMY_DATABASE_URI`` ...); values are parsed as JSON when they can be, so
   ``STOREFRONT_AUTH_COOKIE_SECURE=true`` is a boolean;
5. the mapping passed to ``create_app(test_config)``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Collection
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "STOREFRONT"

DEFAULTS: dict[str, Any] = {
    # Flask and extensions
    "SECRET_KEY": None,  # None: a random key kept in instance/secret_key (development only)
    "SQLALCHEMY_DATABASE_URI": "sqlite:///storefront.sqlite",  # relative: in the instance folder
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # no form or JSON body of this shop is near 1 MiB
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session cookie
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",  # redis://host:6379 when several workers share limits
    "RATELIMIT_KEY_PREFIX": "",  # apps sharing one Redis give each a prefix, so budgets stay apart
    "RATELIMIT_SWALLOW_ERRORS": False,  # True: let requests through while the limit storage is down
    "RATELIMIT_HEADERS_ENABLED": False,
    "PROXY_FIX_X_FOR": 0,  # number of trusted proxies in front of the app
    # Strict-Transport-Security on HTTPS responses (ASVS 3.4.1); off for a local demo over HTTP.
    "HSTS": None,
    # Auth collections: each record belongs to exactly one of these.
    "AUTH_COLLECTIONS": ["users", "customers"],
    # The collection of the guest made by "Continue as Guest" at checkout. A guest of this collection
    # sees the checkout form; any other visitor without a full account chooses first.
    "GUEST_CHECKOUT_COLLECTION": "customers",
    # When a visitor gets a guest account without asking: "lazy" (the first cart action), "eager"
    # (on arrival, once the browser has shown it keeps cookies; never for crawlers) or "off".
    "TRY_BEFORE_YOU_BUY": "lazy",
    "AUTH_COOKIE_NAME": "storefront_auth",  # gets the __Host- prefix when the cookie is Secure
    "AUTH_COOKIE_SECURE": False,
    "AUTH_TOKEN_LIFETIME": timedelta(days=14),
    # A token older than this is replaced on the next request, so a returning shopper never loses
    # the identity while one who stays away for AUTH_TOKEN_LIFETIME is signed out.
    "AUTH_TOKEN_REFRESH_AFTER": timedelta(hours=12),
    "ANONYMOUS_EMAIL_DOMAIN": "anonymous.invalid",  # RFC 2606: can never be delivered
    "ANONYMOUS_RATE_LIMIT": "100 per hour",  # new anonymous records per client address
    "LOGIN_RATE_LIMIT": "10 per minute",  # password sign-in attempts per client address
    # How often a record's last-activity time is written (at most once per interval).
    "ACTIVITY_UPDATE_INTERVAL": timedelta(minutes=5),
    # Cleanup of inactive anonymous records (admin page and ``flask anonymous cleanup``).
    "CLEANUP_INACTIVE_DAYS": 30,  # default age, by last activity, of the records a cleanup deletes
    "CLEANUP_BATCH_SIZE": 500,  # records deleted per short transaction
    "CLEANUP_TIME_BUDGET": 2.0,  # seconds of deleting per admin request before it shows progress
    # argon2id for passwords people choose: the OWASP minimum profile (19 MiB, t=2, p=1).
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19 * 1024,
    "ARGON2_PARALLELISM": 1,
    # Accounts: what happens to a guest cart when its shopper signs in to an existing account:
    # "sum" (quantities added, capped by stock), "max" (the larger quantity) or "replace".
    "CART_MERGE_POLICY": "sum",
    # Email verification links are signed per record and expire after this long.
    "VERIFICATION_TOKEN_LIFETIME": timedelta(hours=24),
    "VERIFICATION_EMAIL_RATE_LIMIT": "5 per hour",  # "send a new link" requests per client address
    # The shop's public address: links in mail start with it, never with the Host a request names.
    "SITE_URL": "http://localhost:5000",
    # A password-reset link or code (web page and JSON API) is single-use and expires after this long.
    "PASSWORD_RESET_LIFETIME": timedelta(hours=1),
    "PASSWORD_RESET_RATE_LIMIT": "5 per hour",  # reset requests per client address, and per email
    # The link in a receipt opens the order without any cookie, for this long.
    "ORDER_LINK_LIFETIME": timedelta(days=90),
    # Order look-ups per client address, per order number and per email (each counted on its own).
    "ORDER_LOOKUP_RATE_LIMIT": "10 per hour",
    # Origins whose pages may call the JSON API from a browser (CORS): "*" (any, as PocketBase) or a
    # list. Safe as "*" because the API reads only the Authorization header, never cookies.
    "API_CORS_ORIGINS": "*",
    # Outgoing mail: "outbox" keeps messages in the database and the log (read them at /dev/outbox in
    # debug or testing); "smtp" sends them through MAIL_SERVER (the production default).
    "MAIL_BACKEND": "outbox",
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,  # STARTTLS after connecting (port 587 usually wants it)
    "MAIL_TIMEOUT": 10,  # seconds to wait for the SMTP server
    "MAIL_FROM": "Storefront <no-reply@storefront.localhost>",
}

PRODUCTION: dict[str, Any] = {
    "SESSION_COOKIE_SECURE": True,
    "AUTH_COOKIE_SECURE": True,
    "PREFERRED_URL_SCHEME": "https",
    "PROXY_FIX_X_FOR": 1,
    "HSTS": "max-age=31536000; includeSubDomains",
    "MAIL_BACKEND": "smtp",
}

# Settings given as a number of seconds in the environment or instance config.
_DURATIONS = (
    "AUTH_TOKEN_LIFETIME",
    "AUTH_TOKEN_REFRESH_AFTER",
    "ACTIVITY_UPDATE_INTERVAL",
    "VERIFICATION_TOKEN_LIFETIME",
    "PASSWORD_RESET_LIFETIME",
    "ORDER_LINK_LIFETIME",
)


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` from the layers described in the module docstring."""
    app.config.from_mapping(DEFAULTS)
    production = os.environ.get(f"{ENV_PREFIX}_ENV", "development") == "production"
    if production:
        app.config.from_mapping(PRODUCTION)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env(ENV_PREFIX)
    else:
        app.config.from_mapping(test_config)
    app.config["PRODUCTION"] = production

    for key in _DURATIONS:
        value = app.config[key]
        if isinstance(value, int | float):
            app.config[key] = timedelta(seconds=value)

    if not app.config["SECRET_KEY"]:
        if production:
            raise RuntimeError("STOREFRONT_SECRET_KEY must be set in production.")
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))


def check_choice(app: Flask, key: str, choices: Collection[object]) -> None:
    """Refuse to start when setting ``key`` is not one of ``choices``: a mistake fails at start, not
    on a shopper's first click."""
    value = app.config[key]
    if value not in choices:
        raise RuntimeError(f"{key} must be one of {', '.join(map(str, choices))}, not {value!r}.")


def check_whole_number(app: Flask, key: str, low: int, high: int) -> None:
    """Refuse to start when setting ``key`` is not a whole number from ``low`` to ``high``."""
    value = app.config[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuntimeError(f"{key} must be a whole number from {low} to {high}, not {value!r}.")


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so a demo's cookies survive a restart."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        # Written to a private temporary file (mode 0600 from the start) and linked into place, so the
        # key is never readable by others nor seen half-written, and when several workers start at
        # once they all end up with the key of the first one instead of one key each.
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
