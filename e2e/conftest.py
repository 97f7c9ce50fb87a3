"""Fixtures of the browser journeys.

pytest-playwright drives Debian's Chromium (``CHROMIUM_PATH`` or ``/usr/lib/chromium/chromium``; when
neither exists, a browser installed by ``playwright install``). The app runs on a real HTTP server in a
thread, on its own SQLite file, with CSRF on:

- ``live_server`` (session): the default settings (try-before-you-buy ``lazy``); ``base_url`` points
  the ``page`` fixture at it, so ``page.goto("/")`` works;
- ``make_live_server(**settings)``: another server with other settings (eager mode, a rate limit of
  one ...), stopped after the test; open it with ``new_context_at(server)``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import playwright
import pytest
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext

from .live_server import LiveServer
from .live_server import start_live_server

SYSTEM_CHROMIUM = "/usr/lib/chromium/chromium"
LAUNCH_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

MakeLiveServer = Callable[..., LiveServer]
NewContextAt = Callable[..., BrowserContext]


def chromium_path() -> str | None:
    """The system Chromium to drive, or None to let Playwright use its own browser."""
    path = os.environ.get("CHROMIUM_PATH") or SYSTEM_CHROMIUM
    return path if os.path.exists(path) else None


def _playwright_chromium() -> str:
    """The Chromium build this Playwright release was made for."""
    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    try:
        entries = json.loads(browsers.read_text())["browsers"]
    except (OSError, ValueError, KeyError):
        return "unknown"
    return next((item["browserVersion"] for item in entries if item["name"] == "chromium"), "unknown")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which browser the journeys run in: a Chromium major far from Playwright's is the first
    suspect when they fail after a system update."""
    path = chromium_path()
    if path is None:
        browser = "Playwright's own Chromium (no system Chromium found)"
    else:
        try:
            run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
            browser = f"{run.stdout.strip() or run.stderr.strip()} ({path})"
        except (OSError, subprocess.TimeoutExpired) as error:
            browser = f"{path} does not start: {error}"
    return [f"browser: {browser}; playwright built for Chromium {_playwright_chromium()}"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system Chromium, quiet: no update checks or first-run pages during the tests."""
    args = {**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *LAUNCH_ARGS]}
    path = chromium_path()
    return {**args, "executable_path": path} if path else args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Desktop size by default; a fixed locale and time zone, so pages look the same everywhere."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-US",
        "timezone_id": "UTC",
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shop with its default settings, shared by the journeys that leave its data usable."""
    server = start_live_server(tmp_path_factory.mktemp("live") / "e2e.sqlite")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture
def make_live_server(tmp_path: Path) -> Iterator[MakeLiveServer]:
    """``make_live_server(TRY_BEFORE_YOU_BUY="eager", host="localhost")``: a server of its own, with
    its own database, for this test."""
    servers: list[LiveServer] = []

    def make(host: str = "127.0.0.1", **settings: Any) -> LiveServer:
        server = start_live_server(tmp_path / f"e2e-{len(servers)}.sqlite", host=host, **settings)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def new_context_at(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[NewContextAt]:
    """``new_context_at(server, user_agent=...)``: a fresh browser profile whose relative URLs go to
    ``server``."""
    contexts: list[BrowserContext] = []

    def new_context(server: LiveServer, **options: Any) -> BrowserContext:
        context = browser.new_context(**{**browser_context_args, "base_url": server.url, **options})
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()
