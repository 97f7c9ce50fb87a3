"""The JSON API: works with PocketBase's official SDKs, unchanged, and carries a whole headless shop.

* ``auth.py``: health, anonymous and password sign-in, token refresh;
* ``records.py``: the records of the auth collections (create an account, read and change one's
  own, upgrade a guest) and the mailed flows (verification, password reset);
* ``shop.py``: the catalogue, the caller's cart lines and orders, and checkout.

The API reads the identity from the ``Authorization`` header only, never from a cookie, so it
needs no CSRF token and may answer browser pages of any origin (CORS, ``API_CORS_ORIGINS``).
Every answer other than 2xx is JSON of one shape (``errors.py``); every 2xx JSON answer honours
``?fields=`` (``fields.py``).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import request
from flask import Response
from flask_cors import CORS

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)


def cors_origins(value: object) -> str | list[str]:
    """``API_CORS_ORIGINS`` as Flask-CORS takes it: ``*``, or a list of origins (a comma list in
    the environment works too)."""
    if isinstance(value, str):
        origins = [origin.strip() for origin in value.split(",") if origin.strip()]
        return "*" if origins == ["*"] else origins
    if isinstance(value, list | tuple) and all(isinstance(origin, str) for origin in value):
        return list(value)
    raise RuntimeError('API_CORS_ORIGINS must be "*" or a list of origins such as ["https://app.example"].')


# Answers the same for everyone: a shared cache may keep them. Every other answer names a shopper.
_PUBLIC_ENDPOINTS = frozenset({"api.health", "api.products", "api.product"})


@bp.after_request
def _no_store(response: Response) -> Response:
    """``Cache-Control: no-store`` on every answer that depends on who asks (ASVS 14.3.2)."""
    if request.endpoint not in _PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the API's views and its CORS answers (for ``/api/`` only, never with credentials)."""
    from . import auth  # noqa: F401  (the views register themselves on bp)
    from . import records  # noqa: F401
    from . import shop  # noqa: F401

    app.register_blueprint(bp)
    origins = cors_origins(app.config["API_CORS_ORIGINS"])
    CORS(
        app,
        resources={r"/api/*": {"origins": origins}},
        supports_credentials=False,
        send_wildcard=origins == "*",
        # PocketBase's SDKs and this API's own headers; a preflight asking for others is refused.
        allow_headers=["Authorization", "Content-Type", "Accept-Language", "Idempotency-Key"],
        max_age=86400,
    )
