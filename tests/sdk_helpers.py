"""A shop under gunicorn for the PocketBase SDK tests, on SQLite and on PostgreSQL.

Both databases run in one go, whatever the database of the run; the PostgreSQL pass of the suite
(STOREFRONT_TEST_DATABASE_URL naming PostgreSQL) skips these modules, which have run on it already.
The PostgreSQL server gets a database of its own (``proof_helpers.postgres_database``) and is skipped,
with the reason, when none answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import update

from bench.server import app_env
from bench.server import gunicorn
from bench.server import prepare_database
from storefront import create_app
from storefront.extensions import db
from storefront.mail import OutboxMessage
from storefront.shop.models import Product

from .conftest import make_test_config
from .proof_helpers import postgres_pass
from .proof_helpers import server_database_url

SECRET_KEY = "sdk-test-secret-key-long-enough-for-hs256"
SITE_URL = "https://shop.example"
SCARCE_PRODUCT = "desk-plant"  # its stock is set low, for the out-of-stock cases
SCARCE_STOCK = 3
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Shop:
    """A running server and an app of the test's own on the same database (for setup and checks)."""

    backend: str
    url: str
    app: Flask

    def mailed_token(self, recipient: str, subject: str) -> str:
        """The token of the newest message to ``recipient`` with ``subject``: the last word of the
        link (verification) or the code on a line of its own (password reset)."""
        with self.app.app_context():
            message = db.session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == recipient, OutboxMessage.subject == subject)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            ).scalar_one()
            body = message.body
            db.session.rollback()
        for line in body.splitlines():
            line = line.strip()
            if line.startswith(f"{SITE_URL}/account/verify/"):
                return line.rsplit("/", 1)[1]
            if line.count(".") == 2 and " " not in line and len(line) > 100:
                return line
        raise AssertionError(f"no token in the message to {recipient}: {body}")


@contextmanager
def running_shop(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """Migrate and seed a database for ``backend``, serve it with gunicorn (two workers, as in
    production) until the block ends."""
    if postgres_pass():
        pytest.skip("the SDK tests run on SQLite and PostgreSQL in the SQLite pass")
    with ExitStack() as stack:
        url = server_database_url(backend, stack, tmp_path_factory, "sdk")
        env = app_env(url, STOREFRONT_SECRET_KEY=SECRET_KEY, STOREFRONT_SITE_URL=SITE_URL)
        prepare_database(env)
        app = create_app(make_test_config(url, SECRET_KEY=SECRET_KEY))
        with app.app_context():
            db.session.execute(
                update(Product).where(Product.slug == SCARCE_PRODUCT).values(stock=SCARCE_STOCK)
            )
            db.session.commit()
        server_process = stack.enter_context(gunicorn(env, workers=2))
        try:
            yield Shop(backend, server_process.url, app)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
