"""Error pages: every failure a shopper can cause gets a clear page and a 4xx, never a 500."""

from __future__ import annotations

from flask import Flask
from flask import render_template
from flask import Response
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .api.errors import ApiError
from .api.errors import response_for
from .auth.errors import AuthError
from .auth.guards import is_api_request
from .extensions import db

_TITLES = {
    400: "That request could not be processed",
    403: "You don't have access to this page",
    404: "Page not found",
    405: "That action isn't allowed here",
    413: "That request is too large",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Please try again in a moment",
}


def render_error(status: int, message: str) -> tuple[str, int]:
    """The HTML error page."""
    title = _TITLES.get(status, "Something went wrong")
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the error handlers: HTML pages, and for every path under ``/api/`` (a route of the
    API, or none: an unknown path, a wrong method) the API's one JSON error answer."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "This form has expired or was sent from another site. Please go back and try again.",
        )

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return response_for(error)

    @app.errorhandler(AuthError)
    def auth_error(error: AuthError) -> tuple[str, int] | Response:
        if is_api_request():
            return response_for(error)
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response | HTTPException:
        status = error.code or 500
        if status < 400:
            return error
        if is_api_request():
            return response_for(error)
        if status >= 500:
            # A view that died on a database error left the request's transaction broken (PostgreSQL
            # refuses every later statement, SQLAlchemy wants a rollback first), and the page reads
            # the visitor's cart: without this the error page itself failed, a bare 500.
            db.session.rollback()
        messages = {
            404: "We couldn't find that page. It may have moved, or the address may be mistyped.",
            413: "The form you sent is larger than this shop accepts.",
            429: "You've done that too many times in a short while. Please wait and try again.",
        }
        return render_error(status, messages.get(status, error.description or ""))
