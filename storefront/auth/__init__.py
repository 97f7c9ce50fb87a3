"""The auth service: records of every auth collection, tokens, the auth cookie, and the JSON API.

This package is the bottom layer: it imports nothing from shop, account or admin. Other packages
use only what this module exports; the first six names are the public Python API.
"""

from flask import Flask

from .accounts import check_password_policy
from .accounts import clean_email
from .accounts import create_account
from .accounts import create_or_promote_admin
from .accounts import email_in_use
from .accounts import EMAIL_MAX_LENGTH
from .accounts import FieldError
from .accounts import PASSWORD_MAX_LENGTH
from .errors import AuthError
from .errors import EmailTaken
from .errors import InvalidCredentials
from .errors import InvalidToken
from .errors import StorageError
from .errors import TokenExpired
from .guards import api_record
from .guards import current_account
from .guards import full_account_required
from .guards import NO_TOKEN
from .identity import cancel_identity_change
from .identity import current_record
from .identity import Identity
from .identity import touch_activity
from .models import AuthRecord
from .models import collection_id
from .password_reset import check_reset_code
from .password_reset import request_password_reset
from .password_reset import reset_password
from .password_reset import ResetFailed
from .passwords import hash_password
from .passwords import verify_password
from .service import api_datetime
from .service import AuthData
from .service import check_collection
from .service import find_record
from .service import record_to_dict
from .service import sign_in_anonymously
from .service import sign_in_to_account
from .service import sign_in_with_password
from .service import sign_in_with_token
from .service import sign_out
from .tokens import issue_token
from .tokens import VERIFICATION_TYPE
from .tokens import verify_mailed_token
from .tokens import verify_token

__all__ = [
    "AuthData",
    "AuthError",
    "sign_in_anonymously",
    "sign_in_with_password",
    "sign_in_with_token",
    "sign_out",
    "api_datetime",
    "api_record",
    "AuthRecord",
    "cancel_identity_change",
    "check_collection",
    "check_password_policy",
    "check_reset_code",
    "clean_email",
    "collection_id",
    "create_account",
    "create_or_promote_admin",
    "current_account",
    "current_record",
    "email_in_use",
    "EMAIL_MAX_LENGTH",
    "EmailTaken",
    "FieldError",
    "find_record",
    "full_account_required",
    "hash_password",
    "Identity",
    "init_app",
    "InvalidCredentials",
    "InvalidToken",
    "issue_token",
    "NO_TOKEN",
    "PASSWORD_MAX_LENGTH",
    "record_to_dict",
    "request_password_reset",
    "reset_password",
    "ResetFailed",
    "sign_in_to_account",
    "StorageError",
    "TokenExpired",
    "touch_activity",
    "VERIFICATION_TYPE",
    "verify_password",
    "verify_mailed_token",
    "verify_token",
]


def init_app(app: Flask) -> None:
    """Check the auth settings and register the auth cookie's hook."""
    from . import identity

    collections = app.config["AUTH_COLLECTIONS"]
    if not collections or not all(isinstance(name, str) and name for name in collections):
        raise RuntimeError(f"AUTH_COLLECTIONS must be a list of collection names, not {collections!r}.")
    identity.init_app(app)
