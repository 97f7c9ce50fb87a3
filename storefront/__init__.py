"""storefront: a Flask shop that is a reference implementation of anonymous authentication."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .paths import resource_dir


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: ``flask --app storefront ...`` and WSGI servers call it."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=resource_dir("templates"),
        static_folder=resource_dir("static"),
    )
    load_config(app, test_config)

    hops = int(app.config["PROXY_FIX_X_FOR"])
    if hops:
        # Trust exactly this many proxies for the client address and scheme (see the README).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from . import account
    from . import admin
    from . import api
    from . import assets
    from . import auth
    from . import cli
    from . import database  # noqa: F401  (registers the SQLite pragmas)
    from . import errors
    from . import mail
    from . import security
    from . import shop
    from .extensions import csrf
    from .extensions import db
    from .extensions import limiter
    from .extensions import login_manager
    from .extensions import migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=resource_dir("migrations"))
    login_manager.init_app(app)
    # The identity lives in the signed auth cookie, not in Flask's session: nothing to protect there.
    login_manager.session_protection = None
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)

    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    mail.init_app(app)
    # Each feature package checks its settings and registers its blueprints, bottom layer first.
    for package in (auth, shop, account, admin, api):
        package.init_app(app)
    return app
