"""Full accounts: sign-in and registration pages, password reset, upgrade from a guest, verification,
profile."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sign-in and account blueprints."""
    from . import reset_pages
    from . import sign_in_views
    from . import views

    app.register_blueprint(sign_in_views.bp)
    app.register_blueprint(reset_pages.bp)
    app.register_blueprint(views.bp)
