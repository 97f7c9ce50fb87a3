"""Reading a JSON request body: an object, only known fields, each of the expected type.

Unlike PocketBase, which drops fields it does not know, an unknown field is refused with a 400 that
names it: a misspelt ``quantty`` silently ignored would look like a change that was made.
"""

from __future__ import annotations

from typing import Any

from flask import request

from ..models import MAX_INTEGER_ID
from ..models import storable
from .errors import ApiError
from .errors import FieldErrors
from .errors import NOT_TEXT
from .errors import NOT_WHOLE_NUMBER
from .errors import REQUIRED
from .errors import UNKNOWN_FIELD

NOT_AN_OBJECT = "The request body must be a JSON object."


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object; 400 for anything else, and for fields outside ``allowed``."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the parser's stack
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, NOT_AN_OBJECT)
    errors = FieldErrors()
    for name in body:
        if name not in allowed:
            errors.add(str(name)[:100], UNKNOWN_FIELD)
    errors.raise_if_any()
    return body


def text(
    body: dict[str, Any], name: str, errors: FieldErrors, *, required: bool = True, any_text: bool = False
) -> str:
    """The text field ``name`` ('' when absent or wrong, with the error added to ``errors``).

    Text no database can hold (a NUL, a lone surrogate) is refused, unless ``any_text``: a password
    to check is never stored, and refusing it would answer differently from a wrong password.
    """
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors.add(name, REQUIRED)
        return ""
    if not isinstance(value, str) or not (any_text or storable(value)):
        errors.add(name, NOT_TEXT)
        return ""
    return value


def whole_number(body: dict[str, Any], name: str, errors: FieldErrors, *, default: int | None = None) -> int:
    """The integer field ``name``; JSON true/false, fractions, text and huge numbers are refused."""
    value = body.get(name, default)
    if value is None:
        errors.add(name, REQUIRED)
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INTEGER_ID:
        errors.add(name, NOT_WHOLE_NUMBER)
        return 0
    return value
