"""The authentication cookie: the one source of truth for who is signed in.

The cookie holds a signed token (see ``tokens.py``). Flask-Login's ``current_user`` is loaded from it
on each request by :func:`load_user_from_cookie`; nothing about the identity is kept in Flask's session.
Service functions never touch a response directly: they record what the cookie should become in
``g`` and :func:`apply_auth_cookie`, an ``after_request`` hook, writes it once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import Enum

from flask import current_app
from flask import Flask
from flask import g
from flask import has_request_context
from flask import Request
from flask import request
from flask import Response
from flask import session
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..extensions import login_manager
from ..models import as_utc
from ..models import utcnow
from .errors import InvalidToken
from .models import AuthRecord
from .tokens import issue_token
from .tokens import verify_token

_UNSET = object()
logger = logging.getLogger(__name__)


class Identity(Enum):
    """Who a request, or a service call, is for: the three states of this shop."""

    NOBODY = "nobody"  # no auth cookie, or one that is no longer valid
    GUEST = "guest"  # an anonymous record: it owns a cart, nobody knows its email or password
    ACCOUNT = "account"  # a full account: an email and a password its owner chose

    @classmethod
    def of(cls, record: AuthRecord | None) -> Identity:
        """The state of ``record`` (``None``: nobody)."""
        if record is None:
            return cls.NOBODY
        return cls.GUEST if record.is_anonymous else cls.ACCOUNT


def current_record() -> AuthRecord | None:
    """The request's record, or ``None`` for nobody. Views call this; services take the record as
    an argument."""
    if not current_user.is_authenticated:
        return None
    record: AuthRecord = current_user._get_current_object()
    return record


def auth_cookie_name() -> str:
    """The cookie name; a Secure cookie gets the ``__Host-`` prefix (ASVS 3.3.1)."""
    name: str = current_app.config["AUTH_COOKIE_NAME"]
    return f"__Host-{name}" if current_app.config["AUTH_COOKIE_SECURE"] else name


def set_request_identity(record: AuthRecord | None) -> None:
    """Make ``record`` the request's identity (``current_user``) and renew the session.

    Clearing Flask's session on every change of identity means nothing planted before sign-in
    (a CSRF token, a flash, a value an attacker fixed) survives it: no session fixation.
    """
    session.clear()
    # Flask-Login keeps the request's user here; None gives its anonymous (no identity) user.
    login_manager._update_request_context_with_user(record)


def schedule_auth_cookie(token: str | None) -> None:
    """Set (``token``) or clear (``None``) the auth cookie on this request's response."""
    if has_request_context():
        g._auth_cookie = token


def cancel_identity_change() -> None:
    """Forget a sign-in made earlier in this request (used when it rolls back): no cookie is
    written and ``current_user`` is loaded again from the request's own cookie."""
    if has_request_context():
        g.pop("_auth_cookie", None)
        g.pop("_login_user", None)


def apply_auth_cookie(response: Response) -> Response:
    """``after_request``: write the scheduled cookie change, if any."""
    token = g.pop("_auth_cookie", _UNSET)
    if token is _UNSET:
        return response
    config = current_app.config
    if token is None:
        response.delete_cookie(
            auth_cookie_name(),
            path="/",
            secure=config["AUTH_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    else:
        response.set_cookie(
            auth_cookie_name(),
            str(token),
            max_age=int(config["AUTH_TOKEN_LIFETIME"].total_seconds()),
            path="/",
            secure=config["AUTH_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    # A response that changes who is signed in must never be cached and served to someone else.
    response.headers["Cache-Control"] = "no-store"
    return response


@login_manager.request_loader
def load_user_from_cookie(request: Request) -> AuthRecord | None:
    """Flask-Login hook: the record named by a valid auth cookie, or ``None``.

    An invalid, expired or revoked token means signed out, and the cookie is cleared. A valid token
    older than ``AUTH_TOKEN_REFRESH_AFTER`` is replaced, so a shopper who keeps coming back keeps the
    identity (sliding expiry) while one who stays away longer than the token's lifetime loses it.
    """
    token = request.cookies.get(auth_cookie_name())
    if not token:
        return None
    try:
        verified, _claims = verify_token(token)
    except InvalidToken:
        schedule_auth_cookie(None)
        return None
    now = utcnow()
    if now - verified.issued_at >= current_app.config["AUTH_TOKEN_REFRESH_AFTER"]:
        schedule_auth_cookie(issue_token(verified.record))
    if not touch_activity(verified.record, now):
        # Deleted since the token was checked (a cleanup batch ran in between): signed out, as if the
        # token had been refused. Carrying on as it would fail the request's first write for it.
        schedule_auth_cookie(None)
        return None
    return verified.record


def _load_user_from_the_auth_cookie_only() -> None:
    """Stands in for ``LoginManager._load_user``: ``current_user`` comes from the auth cookie alone.

    Flask-Login's own loader first looks for ``_user_id`` in the session and for its remember-me
    cookie (``remember_token``), and never calls the request loader while a cookie of that name is
    present, whatever its value. Any such cookie (left by another Flask app on the same host, or set
    by a sibling subdomain) then hid a valid auth cookie: the shopper looked signed out on every
    request, and every cart action made a new anonymous record.
    """
    login_manager._update_request_context_with_user(load_user_from_cookie(request))


login_manager._load_user = _load_user_from_the_auth_cookie_only


def touch_activity(record: AuthRecord, now: datetime | None = None) -> bool:
    """Record that ``record`` was used, at most once per ``ACTIVITY_UPDATE_INTERVAL``.

    The write is a single UPDATE committed on its own, so a busy shop writes once per shopper per
    interval rather than on every request; the cleanup reads this column. Returns False when the
    write finds the record gone: only a record idle for longer than the interval is written, and only
    such a record can be deleted by a cleanup while the request runs.
    """
    now = now or utcnow()
    if now - as_utc(record.last_active_at) < current_app.config["ACTIVITY_UPDATE_INTERVAL"]:
        return True
    try:
        written = db.session.execute(  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
            update(AuthRecord)
            .where(AuthRecord.id == record.id)
            # Naming ``updated`` keeps its onupdate default from firing: activity is not an edit.
            .values(last_active_at=now, updated=AuthRecord.updated)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    except SQLAlchemyError:
        # Bookkeeping only: a busy database ("database is locked") must not turn a page view into a
        # server error. The next request past the interval tries again.
        db.session.rollback()
        logger.warning("Could not record last activity of %s", record.id, exc_info=True)
        return True
    return bool(written)


def init_app(app: Flask) -> None:
    """Register the cookie hook."""
    app.after_request(apply_auth_cookie)
