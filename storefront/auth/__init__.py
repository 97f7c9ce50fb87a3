"""The auth service and its pages: see CONTRACT section 1."""

from .errors import AuthError
from .service import AuthData
from .service import sign_in_anonymously
from .service import sign_in_with_password
from .service import sign_in_with_token
from .service import sign_out

__all__ = [
    "AuthData",
    "AuthError",
    "sign_in_anonymously",
    "sign_in_with_password",
    "sign_in_with_token",
    "sign_out",
]
