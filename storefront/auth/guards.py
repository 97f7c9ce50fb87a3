"""View guards: the rule "this needs a full account" as one decorator line.

The same decorator protects browser pages and JSON API views:

* a page (cookie identity): a visitor with no identity is sent to sign in with ``?next=`` set to the
  page; an anonymous record is sent to the upgrade page with a message, since creating an account
  keeps its cart and orders;
* an API view (any path under ``/api/``): the identity comes from the ``Authorization`` header only
  (see :func:`api_token`); a missing, invalid or revoked token is a 401, an anonymous record's token
  a 403, both raised as :class:`AuthError` so the API's JSON error handlers answer.

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


NO_TOKEN = "The request requires valid record authorization token."


def is_api_request() -> bool:
    """Whether the request is for the JSON API, which never reads cookies and answers in JSON."""
    return request.path.startswith("/api/")


def api_token() -> str | None:
    """The token of the ``Authorization`` header, or None when there is none.

    PocketBase's SDKs send the bare token (``Authorization: <token>``) and other HTTP clients send
    ``Authorization: Bearer <token>``; PocketBase accepts both, and so does every API view here.
    The API never falls back to the auth cookie: a request another site makes the browser send
    carries the cookie but never this header, which is why the API needs no CSRF token.
    """
    value = request.headers.get("Authorization", "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def api_record(collection: str | None = None) -> AuthRecord:
    """The record the request's token names (in ``collection`` when given), or :class:`InvalidToken`."""
    token = api_token()
    if token is None:
        raise InvalidToken(NO_TOKEN)
    verified, _claims = verify_token(token, collection=collection)
    return verified.record


def _this_page() -> str:
    """The path (and query) of the request, for ``?next=``: never a full URL."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def full_account_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Let only full (non-anonymous) accounts through; see the module docstring for the rest."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if is_api_request():
            record = api_record()
            if record.is_anonymous:
                raise FullAccountRequired()
            g.guarded_account = record
            return view(*args, **kwargs)
        visitor = current_record()
        state = Identity.of(visitor)
        if state is Identity.NOBODY:
            return redirect(url_for("auth.login", next=_this_page()))
        if state is Identity.GUEST:
            flash(ANONYMOUS_REFUSED, "info")
            return redirect(url_for("account.upgrade", next=_this_page()))
        g.guarded_account = visitor
        return view(*args, **kwargs)

    return guarded


def current_account() -> AuthRecord:
    """The full account a :func:`full_account_required` view runs for."""
    account: AuthRecord = g.guarded_account
    return account
