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
from .errors import InvalidToken
from .errors import StorageError
from .errors import TokenExpired
from .guards import current_account
from .guards import full_account_required
from .identity import cancel_identity_change
from .identity import current_record
from .identity import Identity
from .models import AuthRecord
from .passwords import hash_password
from .passwords import verify_password
from .service import AuthData
from .service import record_to_dict
from .service import sign_in_anonymously
from .service import sign_in_to_account
from .service import sign_in_with_password
from .service import sign_in_with_token
from .service import sign_out
from .tokens import issue_token
from .tokens import VERIFICATION_TYPE
from .tokens import verify_token

__all__ = [
    "AuthData",
    "AuthError",
    "sign_in_anonymously",
    "sign_in_with_password",
    "sign_in_with_token",
    "sign_out",
    "AuthRecord",
    "EMAIL_MAX_LENGTH",
    "EmailTaken",
    "FieldError",
    "Identity",
    "InvalidToken",
    "PASSWORD_MAX_LENGTH",
    "StorageError",
    "TokenExpired",
    "VERIFICATION_TYPE",
    "cancel_identity_change",
    "check_password_policy",
    "clean_email",
    "create_account",
    "create_or_promote_admin",
    "current_account",
    "current_record",
    "email_in_use",
    "full_account_required",
    "hash_password",
    "init_app",
    "issue_token",
    "record_to_dict",
    "sign_in_to_account",
    "verify_password",
    "verify_token",
]


def init_app(app: Flask) -> None:
    """Check the auth settings, register the auth cookie's hook and the JSON API's blueprint."""
    from . import api
    from . import identity

    collections = app.config["AUTH_COLLECTIONS"]
    if not collections or not all(isinstance(name, str) and name for name in collections):
        raise RuntimeError(f"AUTH_COLLECTIONS must be a list of collection names, not {collections!r}.")
    identity.init_app(app)
    app.register_blueprint(api.bp)
