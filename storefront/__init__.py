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

    from . import database  # noqa: F401  (registers the SQLite pragmas)
    from . import mail  # its table too, for Alembic
    from .admin import models as _admin_models  # noqa: F401  (every table, for Alembic)
    from .auth import models as _auth_models  # noqa: F401
    from .extensions import csrf
    from .extensions import db
    from .extensions import limiter
    from .extensions import login_manager
    from .extensions import migrate
    from .shop import models as _shop_models  # noqa: F401

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

    from . import assets
    from . import cli
    from . import errors
    from . import security
    from .auth import identity
    from .auth import views as auth_views

    identity.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(auth_views.bp)
    from .auth import reset_pages

    app.register_blueprint(reset_pages.bp)

    from .shop import views as shop_views

    app.register_blueprint(shop_views.bp)
    from .shop import order_pages

    app.register_blueprint(order_pages.bp)
    shop_views.init_app(app)

    from .admin import views as admin_views

    admin_views.init_app(app)

    from .account import views as account_views

    account_views.init_app(app)
    mail.init_app(app)

    from . import api

    api.init_app(app)
    return app
