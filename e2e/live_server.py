"""A real HTTP server for the browser: the app on a werkzeug server in a thread, on its own database.

Each server gets a fresh SQLite file, tables made by the migrations (``flask db upgrade``) and the demo
catalogue. CSRF protection stays on: the browser submits the forms exactly as a shopper's would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import TypeVar

import flask_migrate
from click.testing import Result
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import make_server
from werkzeug.serving import WSGIRequestHandler

from storefront import create_app
from storefront.extensions import db
from storefront.shop.models import Product
from storefront.shop.seed import seed_catalogue

T = TypeVar("T")

SECRET_KEY = "e2e-secret-key-that-is-long-enough-for-hs256"


def e2e_config(database_path: Path, **overrides: Any) -> dict[str, Any]:
    """Settings of a browser-test server.

    Unlike the unit tests' settings, CSRF stays on. Rate limits stay on too, but generous, so only a
    test that asks for a tight limit ever meets one (Flask-Limiter's ``enabled`` flag is per process,
    not per app: every server made here keeps it on).
    """
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ANONYMOUS_RATE_LIMIT": "10000 per hour",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        # argon2id at its cheapest: the journeys test the flow, not the hash's cost.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "ARGON2_PARALLELISM": 1,
        **overrides,
    }


class _QuietHandler(WSGIRequestHandler):
    """Keep one log line per request out of the test output; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LiveServer:
    """The app served over HTTP on a free port of 127.0.0.1."""

    def __init__(self, app: Flask, host: str = "127.0.0.1") -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        # ``localhost`` and ``127.0.0.1`` are different sites to the browser (separate cookie jars).
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"live-server-{self.port}")
        self._thread.daemon = True

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every database connection (no ResourceWarning)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def cli(self, *args: str) -> Result:
        """Run a ``flask`` command against this server's app and database."""
        # The ``flask`` script pushes an app context for every command; the test runner does not, and
        # commands added with ``app.cli.add_command`` without ``with_appcontext`` need one.
        with self.app.app_context():
            result = self.app.test_cli_runner().invoke(args=list(args))
            db.session.remove()
        assert result.exit_code == 0, f"flask {' '.join(args)} failed: {result.exception!r}\n{result.output}"
        return result

    def query(self, work: Callable[[], T]) -> T:
        """Run ``work()`` in an app context (e.g. to read or change rows), then release the session."""
        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()

    def count(self, column: InstrumentedAttribute[Any], *where: Any) -> int:
        """How many rows of ``column``'s table match ``where``."""
        return self.query(
            lambda: int(db.session.execute(select(func.count(column)).where(*where)).scalar_one())
        )

    def stock(self, product_name: str) -> int:
        """A product's stock as the database has it now."""
        return self.query(
            lambda: int(
                db.session.execute(select(Product.stock).where(Product.name == product_name)).scalar_one()
            )
        )

    def set_stock(self, product_name: str, stock: int) -> None:
        """Change a product's stock, as another buyer or the shop owner would."""

        def work() -> None:
            product = db.session.execute(select(Product).where(Product.name == product_name)).scalar_one()
            product.stock = stock
            db.session.commit()

        self.query(work)


def start_live_server(database_path: Path, host: str = "127.0.0.1", **overrides: Any) -> LiveServer:
    """Create the app with ``e2e_config`` plus ``overrides``, migrate and seed its database, serve it."""
    app = create_app(e2e_config(database_path, **overrides))
    with app.app_context():
        flask_migrate.upgrade()
        seed_catalogue()
        db.session.remove()
    return LiveServer(app, host=host).start()
