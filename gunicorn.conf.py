"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py``.

Environment variables override the defaults here; storefront's own settings are read by the app
(``STOREFRONT_*``, see docs/settings.md).
"""

import multiprocessing
import os

wsgi_app = "storefront:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: every request is short and CPU-bound; (2 x cores) + 1 is gunicorn's rule of thumb.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Recycle a worker now and then so slow memory growth never accumulates.
max_requests = 10_000
max_requests_jitter = 1_000
# The app is created in each worker, after the fork: no database connection is shared between them.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client address is taken from X-Forwarded-For by werkzeug's ProxyFix inside the app
# (STOREFRONT_PROXY_FIX_X_FOR), so gunicorn itself trusts no forwarding headers.
forwarded_allow_ips = ""


def post_worker_init(worker: object) -> None:
    """Exempt what the app made at start-up from garbage collection.

    A worker starts with about 97,000 objects (Flask, SQLAlchemy, the app), and every full collection
    of Python's cyclic garbage collector would walk all of them while the request being served waits.
    Frozen, they are never scanned again; objects made by requests still are.
    """
    import gc

    gc.freeze()
