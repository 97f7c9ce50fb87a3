"""The production shape: gunicorn with two workers, the production settings, limits shared in Redis.

These start real servers, so they take a few seconds each. The Redis test is skipped, with the reason,
when no Redis server answers at STOREFRONT_TEST_REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import Session
from bench.server import app_env
from bench.server import gunicorn
from bench.server import prepare_database
from bench.server import Server

from .factories import CONTACT_FORM
from .factories import SECURE_AUTH_COOKIE

REDIS_URL = os.environ.get("STOREFRONT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = app_env(f"sqlite:///{tmp_path / 'prod.sqlite'}", STOREFRONT_ENV="production", **extra)
    prepare_database(env)
    return env


@pytest.fixture
def production_server(tmp_path: Path) -> Iterator[Server]:
    with gunicorn(_production_env(tmp_path), workers=2) as server:
        yield server


def test_a_guest_checks_out_on_two_gunicorn_workers(production_server: Server) -> None:
    shopper = Session(production_server.url)
    status, page = shopper.request("GET", "/")
    assert status == 200 and b"Add to cart" in page
    status, _ = shopper.request("POST", "/cart/add", {"csrf_token": shopper.csrf(page), "product_id": "1"})
    assert status == 302
    # Production: the auth cookie is Secure, so it carries the __Host- prefix.
    assert SECURE_AUTH_COOKIE in shopper.cookies
    status, page = shopper.request("GET", "/checkout")
    status, _ = shopper.request(
        "POST", "/checkout", {"csrf_token": shopper.csrf(page), "action": "guest-checkout"}
    )
    assert status == 302
    status, page = shopper.request("GET", "/checkout")
    key = re.search(rb'name="checkout_key" type="hidden" value="([^"]+)"', page)
    assert key is not None
    form = {
        "csrf_token": shopper.csrf(page),
        "checkout_key": key.group(1).decode(),
        **CONTACT_FORM,
    }
    status, _ = shopper.request("POST", "/checkout", form)
    assert status == 302
    # Each request may reach either worker: both see the emptied cart (the state is in the database).
    for _ in range(4):
        status, page = shopper.request("GET", "/cart")
        assert status == 200 and b"Your cart is empty" in page
    assert all(size < 150 for size in production_server.worker_rss_mib())


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    env.pop("STOREFRONT_SECRET_KEY")
    with pytest.raises(RuntimeError, match="gunicorn did not start"), gunicorn(env, workers=1):
        pass


@pytest.mark.redis
@pytest.mark.skipif(not _redis_available(), reason=f"no Redis server answers at {REDIS_URL}")
def test_the_anonymous_limit_holds_across_workers_sharing_redis(tmp_path: Path) -> None:
    env = _production_env(
        tmp_path,
        STOREFRONT_RATELIMIT_STORAGE_URI=REDIS_URL,
        STOREFRONT_RATELIMIT_KEY_PREFIX=f"storefront-test-{uuid.uuid4().hex}",
        STOREFRONT_ANONYMOUS_RATE_LIMIT="5 per hour",
    )
    with gunicorn(env, workers=2) as server:
        statuses = [
            Session(server.url).request("POST", "/api/collections/users/auth-anonymous")[0] for _ in range(12)
        ]
    # With per-worker memory storage two workers would allow up to 10.
    assert statuses.count(200) == 5
    assert statuses.count(429) == 7
