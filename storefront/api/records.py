"""The records of the auth collections, with PocketBase's default rules, and the mailed flows.

* ``POST /api/collections/<c>/records`` creates a full account (``{email, password,
  passwordConfirm}``), rate-limited like the registration page; one address, one account across
  every collection.
* ``GET`` and ``PATCH /api/collections/<c>/records/<id>`` reach the caller's own record only: any
  other id, or no token, is a 404, as PocketBase's default ``id = @request.auth.id`` rule answers.
  A PATCH of a guest (anonymous) record with ``{email, password, passwordConfirm}`` upgrades it to a
  full account that keeps its id, cart and orders; a full account changes its password with
  ``{oldPassword, password, passwordConfirm}``. Either change rotates the token key, so the client
  signs in again with the new password, as after a password change in PocketBase.
* ``request-verification``, ``confirm-verification``, ``request-password-reset`` and
  ``confirm-password-reset`` answer 204, and the two requests answer the same whether or not the
  address has an account.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import Response

from ..account import services as account_services
from ..auth import api_record
from ..auth import AuthRecord
from ..auth import check_collection
from ..auth import clean_email
from ..auth import create_account
from ..auth import EmailTaken
from ..auth import FieldError
from ..auth import find_record
from ..auth import InvalidToken
from ..auth import record_to_dict
from ..auth import request_password_reset
from ..auth import reset_password
from ..auth import ResetFailed
from ..extensions import limiter
from . import bp
from .body import json_body
from .body import text
from .errors import ApiError
from .errors import field_error
from .errors import FieldErrors
from .errors import INVALID_EMAIL
from .errors import INVALID_TOKEN
from .errors import MISMATCH
from .errors import NOT_UNIQUE
from .errors import OLD_PASSWORD
from .fields import api_json
from .listing import page_args

_CREATE_FIELDS = {"email", "password", "passwordConfirm", "emailVisibility"}
_UPDATE_FIELDS = _CREATE_FIELDS | {"oldPassword"}


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _mail_limit() -> str:
    return str(current_app.config["VERIFICATION_EMAIL_RATE_LIMIT"])


def _field_code(error: FieldError) -> tuple[str, str]:
    """PocketBase's code for a service's ``FieldError``, with the service's message."""
    if error.field == "email":
        return (INVALID_EMAIL[0], error.message)
    return ("validation_length_out_of_range", error.message)


def _email_visibility(body: dict[str, Any], errors: FieldErrors) -> None:
    # Accepted for PocketBase's SDK forms, but only false: nobody but the record itself can read it.
    if body.get("emailVisibility", False) is not False:
        errors.add("emailVisibility", ("validation_values_mismatch", "Only false is supported."))


def _new_password(body: dict[str, Any], errors: FieldErrors) -> str:
    password = text(body, "password", errors)
    confirm = text(body, "passwordConfirm", errors)
    if password and confirm and password != confirm:
        errors.add("passwordConfirm", MISMATCH)
    return password


def _own_record(collection: str, record_id: str) -> AuthRecord:
    """The caller's record if it is ``record_id`` of ``collection``; 404 for anything else."""
    check_collection(collection)
    try:
        record = api_record(collection)
    except InvalidToken:
        record = None
    if record is None or record.id != record_id:
        raise ApiError(404, "The requested resource wasn't found.")
    return record


@bp.post("/collections/<collection>/records")
@limiter.limit(_login_limit)
def create_record(collection: str) -> Response:
    """Create a full account; the client then signs in with ``auth-with-password``."""
    check_collection(collection)
    body = json_body(_CREATE_FIELDS)
    errors = FieldErrors("Failed to create record.")
    email = text(body, "email", errors)
    password = _new_password(body, errors)
    _email_visibility(body, errors)
    errors.raise_if_any()
    try:
        record = create_account(email, password, collection)
    except FieldError as error:
        raise field_error(error.field, _field_code(error), "Failed to create record.") from None
    except EmailTaken:
        raise field_error("email", NOT_UNIQUE, "Failed to create record.") from None
    return api_json(record_to_dict(record))


@bp.get("/collections/<collection>/records")
def list_records(collection: str) -> Response:
    """The caller's own record, as PocketBase's default list rule gives it (no token: no items)."""
    check_collection(collection)
    try:
        items = [record_to_dict(api_record(collection))]
    except InvalidToken:
        items = []
    page = page_args()
    shown = items if page.number == 1 else []
    answer = {
        "page": page.number,
        "perPage": page.per_page,
        "totalItems": len(items),
        "totalPages": 1,
        "items": shown,
    }
    return api_json(answer, list_result=True)


@bp.get("/collections/<collection>/records/<record_id>")
def view_record(collection: str, record_id: str) -> Response:
    """The caller's own record."""
    return api_json(record_to_dict(_own_record(collection, record_id)))


@bp.patch("/collections/<collection>/records/<record_id>")
@limiter.limit(_login_limit)
def update_record(collection: str, record_id: str) -> Response:
    """Upgrade the caller's guest record, or change the caller's password (see the module docstring)."""
    record = _own_record(collection, record_id)
    body = json_body(_UPDATE_FIELDS)
    errors = FieldErrors("Failed to update record.")
    _email_visibility(body, errors)
    if record.is_anonymous:
        if "oldPassword" in body:
            errors.add("oldPassword", ("validation_unknown_field", "A guest record has no old password."))
        email = text(body, "email", errors)
        password = _new_password(body, errors)
        errors.raise_if_any()
        _upgrade(record, email, password)
    else:
        if "email" in body and body["email"] != record.email:
            # PocketBase lets only managers change an address directly; the owner asks by mail.
            errors.add("email", MISMATCH)
        if {"password", "passwordConfirm", "oldPassword"} & set(body):
            old = text(body, "oldPassword", errors, any_text=True)
            password = _new_password(body, errors)
            errors.raise_if_any()
            _change_password(record, old, password)
        errors.raise_if_any()
    return api_json(record_to_dict(record))


def _upgrade(record: AuthRecord, email: str, password: str) -> None:
    try:
        account_services.upgrade_to_account(record, email, password, set_cookie=False)
    except FieldError as error:
        raise field_error(error.field, _field_code(error), "Failed to update record.") from None
    except EmailTaken:
        raise field_error("email", NOT_UNIQUE, "Failed to update record.") from None


def _change_password(record: AuthRecord, old: str, password: str) -> None:
    try:
        account_services.change_password(record, old, password, set_cookie=False)
    except FieldError as error:
        if error.field == "current_password":
            raise field_error("oldPassword", OLD_PASSWORD, "Failed to update record.") from None
        raise field_error(error.field, _field_code(error), "Failed to update record.") from None


def _email_body() -> str:
    body = json_body({"email"})
    errors = FieldErrors()
    email = text(body, "email", errors)
    errors.raise_if_any()
    try:
        return clean_email(email)
    except FieldError:
        raise field_error("email", INVALID_EMAIL) from None


@bp.post("/collections/<collection>/request-verification")
@limiter.limit(_mail_limit)
def request_verification(collection: str) -> Response:
    """Mail a verification link to the unverified full account with that address, if any."""
    check_collection(collection)
    record = find_record(collection, _email_body())
    if record is not None and not record.is_anonymous and not record.verified:
        account_services.send_verification(record)
    return Response(status=204)


@bp.post("/collections/<collection>/confirm-verification")
def confirm_verification(collection: str) -> Response:
    """Mark the record a verification token names as verified."""
    check_collection(collection)
    body = json_body({"token"})
    errors = FieldErrors()
    token = text(body, "token", errors)
    errors.raise_if_any()
    try:
        record = account_services.check_verification_token(token)
    except account_services.VerificationFailed:
        raise field_error("token", INVALID_TOKEN, "Invalid or expired verification token.") from None
    if record.collection != collection:
        raise field_error(
            "token",
            ("validation_token_collection_mismatch", "The provided token is for different auth collection."),
        )
    account_services.confirm_verification(token)
    return Response(status=204)


@bp.post("/collections/<collection>/request-password-reset")
@limiter.limit(_mail_limit)
def request_reset(collection: str) -> Response:
    """Mail a single-use reset code to the full account with that address, if any."""
    check_collection(collection)
    request_password_reset(collection, _email_body())
    return Response(status=204)


@bp.post("/collections/<collection>/confirm-password-reset")
@limiter.limit(_login_limit)
def confirm_reset(collection: str) -> Response:
    """Set a new password with a mailed reset code; every older token of the record dies."""
    check_collection(collection)
    body = json_body({"token", "password", "passwordConfirm"})
    errors = FieldErrors()
    token = text(body, "token", errors)
    password = _new_password(body, errors)
    errors.raise_if_any()
    try:
        reset_password(token, password, collection)
    except ResetFailed:
        raise field_error("token", INVALID_TOKEN, "Invalid or expired password reset token.") from None
    except FieldError as error:
        raise field_error(error.field, _field_code(error)) from None
    return Response(status=204)
