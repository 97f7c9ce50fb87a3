"""The JSON API's one error shape, PocketBase's: ``{"status", "message", "data"}``.

``data`` is always an object; for input a client can correct it names each field,
``{"email": {"code": "validation_is_email", "message": "Must be a valid email address."}}``, with
PocketBase's codes, so SDK code written against PocketBase (``err.response.data.email.code``) works.
Every error under ``/api/`` (raised by a view, by a guard, by Flask for an unknown path or method)
is answered by :func:`error_response`, which also rolls the request's transaction back so that
nothing half-done is kept.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import Response
from werkzeug.exceptions import HTTPException

from ..auth import AuthError
from ..extensions import db

# PocketBase's codes and messages for the checks this API makes.
REQUIRED = ("validation_required", "Cannot be blank.")
INVALID_EMAIL = ("validation_is_email", "Must be a valid email address.")
NOT_UNIQUE = ("validation_not_unique", "Value must be unique.")
MISMATCH = ("validation_values_mismatch", "Values don't match.")
UNKNOWN_FIELD = ("validation_unknown_field", "Unknown or invalid field.")
INVALID_VALUE = ("validation_invalid_value", "Invalid value.")
INVALID_TOKEN = ("validation_invalid_token", "Invalid or expired token.")
OLD_PASSWORD = ("validation_invalid_old_password", "Missing or invalid old password.")
NOT_TEXT = ("validation_invalid_value", "Must be text.")
NOT_WHOLE_NUMBER = ("validation_only_int_constraint", "Must be a whole number.")

VALIDATION_FAILED = "An error occurred while validating the submitted data."

_HTTP_MESSAGES = {
    400: "Something went wrong while processing your request.",
    401: "Missing or invalid authentication.",
    403: "You are not allowed to perform this request.",
    404: "The requested resource wasn't found.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    429: "Too many requests. Please try again later.",
    500: "Something went wrong while processing your request.",
}


class ApiError(Exception):
    """An answer other than 2xx, with PocketBase's fields."""

    def __init__(self, status: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.data = data or {}


class FieldErrors(ApiError):
    """400 naming each field that is wrong; built up with :meth:`add` and raised if not empty."""

    def __init__(self, message: str = VALIDATION_FAILED) -> None:
        super().__init__(400, message)

    def add(self, field: str, code_and_message: tuple[str, str]) -> None:
        code, message = code_and_message
        self.data.setdefault(field, {"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.data:
            raise self


def field_error(field: str, code_and_message: tuple[str, str], message: str = VALIDATION_FAILED) -> ApiError:
    """A 400 about one field."""
    errors = FieldErrors(message)
    errors.add(field, code_and_message)
    return errors


def error_response(status: int, message: str, data: dict[str, Any] | None = None) -> Response:
    """The JSON answer of every API error. Rolls back whatever the request left uncommitted."""
    db.session.rollback()
    response = jsonify(status=status, message=message, data=data or {})
    response.status_code = status
    return response


def response_for(error: Exception) -> Response:
    """The JSON answer for any exception that ends an API request."""
    if isinstance(error, ApiError):
        return error_response(error.status, error.message, error.data)
    if isinstance(error, AuthError):
        return error_response(error.status, error.message)
    if isinstance(error, HTTPException) and error.code is not None:
        return error_response(error.code, _HTTP_MESSAGES.get(error.code, error.description or ""))
    return error_response(500, _HTTP_MESSAGES[500])
