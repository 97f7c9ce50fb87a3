"""Start storefront under gunicorn on loopback, on a database of its own, for a benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each gunicorn worker (children of the master), in MiB."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = []
        for pid in children.read_text().split():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """Settings for a benchmark server: the anonymous-creation limit is lifted so that it measures
    the work, not the limiter's refusals (the limiter still runs on every creation)."""
    env = dict(os.environ)
    env.update(
        {
            "STOREFRONT_SQLALCHEMY_DATABASE_URI": database_url,
            "STOREFRONT_SECRET_KEY": "benchmark-secret-key-not-for-production-use",
            "STOREFRONT_ANONYMOUS_RATE_LIMIT": "100000000 per hour",
            "STOREFRONT_LOGIN_RATE_LIMIT": "100000000 per hour",
            **extra,
        }
    )
    return env


def prepare_database(env: dict[str, str]) -> None:
    """Apply the migrations, load the catalogue and give it stock for a long run."""
    flask = [str(BIN / "flask"), "--app", "storefront"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed"], env=env, check=True, capture_output=True)
    script = (
        "from storefront import create_app\n"
        "from storefront.extensions import db\n"
        "from sqlalchemy import text\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.session.execute(text('UPDATE products SET stock = 100000000'))\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    """Poll ``url``/api/health until it answers; fail if ``process`` exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.1)


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[Server]:
    """Run ``gunicorn -w workers`` with the checked-in config until the block ends."""
    # The listening socket is made here and handed down (``fd://``): between choosing a free port and
    # gunicorn binding it, another process (a parallel test worker's server) could take the port, and
    # the health check would then ask the wrong server.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"),
                "--access-logfile",
                "/dev/null",
                "--workers",
                str(workers),
                "--bind",
                f"fd://{listener.fileno()}",
                "--log-level",
                "warning",
            ],
            env=env,
            pass_fds=(listener.fileno(),),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, "gunicorn")
        yield Server(url, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
