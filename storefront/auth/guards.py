"""View guards: the rule "this needs a full account" as one decorator line.

The same decorator protects browser pages and JSON API views:

* a page (cookie identity): a visitor with no identity is sent to sign in with ``?next=`` set to the
  page; an anonymous record is sent to the upgrade page with a message, since creating an account
  keeps its cart and orders;
* an API view (any path under ``/api/``): the identity comes from ``Authorization: Bearer`` only;
  a missing, invalid or revoked token is a 401, an anonymous record's token a 403, both raised as
  :class:`AuthError` so the API's JSON error handlers answer.

Inside a guarded view, :func:`current_account` is the full account either way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec
from typing import TypeVar

from flask import flash
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from .errors import AuthError
from .errors import InvalidToken
from .identity import current_record
from .identity import Identity
from .models import AuthRecord
from .tokens import verify_token

P = ParamSpec("P")
R = TypeVar("R")

ANONYMOUS_REFUSED = (
    "Create an account to use that page. Your cart and orders come with you, and it takes a minute."
)


class FullAccountRequired(AuthError):
    status = 403
    default_message = "This needs a full account; a guest (anonymous) account can't use it."


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str:
    """The token of ``Authorization: Bearer <token>``, or :class:`InvalidToken`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("The request needs a valid Authorization: Bearer token.")
    return token.strip()


def _this_page() -> str:
    """The path (and query) of the request, for ``?next=``: never a full URL."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def full_account_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Let only full (non-anonymous) accounts through; see the module docstring for the rest."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if _is_api_request():
            verified, _claims = verify_token(bearer_token())
            if verified.record.is_anonymous:
                raise FullAccountRequired()
            g.guarded_account = verified.record
            return view(*args, **kwargs)
        record = current_record()
        state = Identity.of(record)
        if state is Identity.NOBODY:
            return redirect(url_for("auth.login", next=_this_page()))
        if state is Identity.GUEST:
            flash(ANONYMOUS_REFUSED, "info")
            return redirect(url_for("account.upgrade", next=_this_page()))
        g.guarded_account = record
        return view(*args, **kwargs)

    return guarded


def current_account() -> AuthRecord:
    """The full account a :func:`full_account_required` view runs for."""
    account: AuthRecord = g.guarded_account
    return account
