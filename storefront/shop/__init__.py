"""The shop: catalogue, carts, checkout and orders, and the life of a guest (``guests.py``)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Check the shop's settings, register its blueprint and its template helpers."""
    from . import guests
    from . import models  # noqa: F401  (its tables, for Alembic)
    from . import order_pages
    from . import views

    guests.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(order_pages.bp)
    views.init_app(app)
