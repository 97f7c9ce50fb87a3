"""Full accounts: sign-in and registration pages, upgrade from a guest, verification, profile."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sign-in and account blueprints."""
    from . import sign_in_views
    from . import views

    app.register_blueprint(sign_in_views.bp)
    app.register_blueprint(views.bp)
