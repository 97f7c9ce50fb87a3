"""Health, sign-in and token refresh, as PocketBase answers them."""

from __future__ import annotations

from flask import current_app
from flask import Response

from ..auth import api_record
from ..auth import AuthData
from ..auth import check_collection
from ..auth import InvalidCredentials
from ..auth import InvalidToken
from ..auth import issue_token
from ..auth import NO_TOKEN
from ..auth import sign_in_anonymously
from ..auth import sign_in_with_password
from ..auth import touch_activity
from ..extensions import limiter
from . import bp
from .body import json_body
from .body import text
from .errors import ApiError
from .errors import FieldErrors
from .errors import REQUIRED
from .fields import api_json

# PocketBase's words: the same for an unknown address and a wrong password (no account enumeration).
FAILED_TO_AUTHENTICATE = "Failed to authenticate."


@bp.get("/health")
def health() -> Response:
    """Liveness probe: answers without touching the database."""
    return api_json({"message": "API is healthy.", "code": 200, "data": {}})


@bp.post("/collections/<collection>/auth-anonymous")
def auth_anonymous(collection: str) -> Response:
    """Create an anonymous record in ``collection`` and return its token and record.

    Not a PocketBase endpoint: SDK clients call it with ``pb.send(...)`` and keep the answer with
    ``pb.authStore.save(token, record)``. Any body is ignored.
    """
    return api_json(sign_in_anonymously(collection, set_cookie=False).to_dict())


@bp.post("/collections/<collection>/auth-with-password")
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]))
def auth_with_password(collection: str) -> Response:
    """Sign in with ``{"identity": email, "password": ...}``."""
    check_collection(collection)
    body = json_body({"identity", "password", "identityField"})
    errors = FieldErrors()
    identity = text(body, "identity", errors).strip()
    if not identity and "identity" not in errors.data:
        errors.add("identity", REQUIRED)
    password = text(body, "password", errors, any_text=True)
    errors.raise_if_any()
    try:
        auth = sign_in_with_password(identity, password, collection, set_cookie=False)
    except InvalidCredentials:
        raise ApiError(400, FAILED_TO_AUTHENTICATE) from None
    return api_json(auth.to_dict())


@bp.post("/collections/<collection>/auth-refresh")
def auth_refresh(collection: str) -> Response:
    """Exchange a valid token for a new one with a fresh expiry (403 for another collection's).

    A refresh is how an API client says it is still here, so it counts as activity: otherwise a guest
    that only uses the API would look inactive to the cleanup however often it came back.
    """
    check_collection(collection)
    record = api_record()
    if record.collection != collection:
        raise ApiError(403, f"The request requires auth record from {collection} collection.")
    if not touch_activity(record):
        raise InvalidToken(NO_TOKEN)  # deleted by a cleanup since the token was checked
    return api_json(AuthData(issue_token(record), record).to_dict())
