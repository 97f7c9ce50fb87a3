"""The PocketBase-shaped JSON API.

It authenticates with ``Authorization: Bearer <token>`` only, never with cookies, so it needs no CSRF
token and never sets one. Every error is JSON ``{"status": ..., "message": ...}``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask import Response
from werkzeug.exceptions import HTTPException

from ..extensions import csrf
from ..extensions import limiter
from .errors import AuthError
from .errors import InvalidToken
from .identity import touch_activity
from .service import AuthData
from .service import check_collection
from .service import sign_in_anonymously
from .service import sign_in_with_password
from .tokens import issue_token
from .tokens import verify_token

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)


class _BadRequest(AuthError):
    """A request the API cannot read; the message names the field."""

    status = 400


def json_error(status: int, message: str) -> tuple[Response, int]:
    """The API's one error shape."""
    return jsonify(status=status, message=message), status


@bp.errorhandler(AuthError)
def _auth_error(error: AuthError) -> tuple[Response, int]:
    return json_error(error.status, error.message)


@bp.errorhandler(HTTPException)
def json_http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    message = {
        404: "The requested resource wasn't found.",
        405: "This method is not allowed here.",
        413: "The request body is too large.",
        429: "Too many requests. Please try again later.",
    }.get(status, error.description or "The request could not be processed.")
    return json_error(status, message)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("The request needs a valid Authorization: Bearer token.")
    return token.strip()


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _BadRequest("The request body must be a JSON object.")
    return body


@bp.get("/health")
def health() -> Response:
    """Liveness probe: answers without touching the database."""
    return jsonify(status="ok")


@bp.post("/collections/<collection>/auth-anonymous")
def auth_anonymous(collection: str) -> Response:
    """Create an anonymous record in ``collection`` and return its AuthData."""
    return jsonify(sign_in_anonymously(collection, set_cookie=False).to_dict())


@bp.post("/collections/<collection>/auth-with-password")
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]))
def auth_with_password(collection: str) -> Response:
    """Sign in with ``{"identity": email, "password": ...}``."""
    check_collection(collection)
    body = _json_body()
    identity, password = body.get("identity"), body.get("password")
    if not isinstance(identity, str) or not identity.strip():
        raise _BadRequest("identity: an email address is required.")
    if not isinstance(password, str) or not password:
        raise _BadRequest("password: a password is required.")
    auth = sign_in_with_password(identity, password, collection, set_cookie=False)
    return jsonify(auth.to_dict())


@bp.post("/collections/<collection>/auth-refresh")
def auth_refresh(collection: str) -> Response:
    """Exchange a valid Bearer token for a new one with a fresh expiry.

    A refresh is how an API client says it is still here, so it counts as activity: otherwise a guest
    that only uses the API would look inactive to the cleanup however often it came back.
    """
    check_collection(collection)
    verified, _claims = verify_token(_bearer_token(), collection=collection)
    if not touch_activity(verified.record):
        raise InvalidToken()  # deleted by a cleanup since the token was checked
    return jsonify(AuthData(issue_token(verified.record), verified.record).to_dict())
