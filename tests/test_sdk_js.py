"""The official PocketBase JavaScript SDK (npm ``pocketbase``, pinned in tests/sdk_js/package-lock.json),
unmodified, against the shop under gunicorn on SQLite and PostgreSQL.

tests/sdk_js/journey.mjs runs every scenario with node and reports each; this module starts the
server, answers the script's requests for mailed tokens from the shop's outbox, and turns each
scenario into a test. Skipped, with the reason, when node or npm is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .sdk_helpers import BACKENDS
from .sdk_helpers import running_shop
from .sdk_helpers import Shop

SDK_DIR = Path(__file__).parent / "sdk_js"
SCENARIOS = [
    "health",
    "anonymous sign-in, token claims and auth-refresh with the bare token",
    "auth-refresh with a token of another collection is 403",
    "products: page, perPage, sort, filter, fields, getOne, getFirstListItem, getFullList",
    "the whole headless journey: guest cart, checkout, upgrade, sign in again",
    "bad input: wrong types, unknown fields, out-of-range quantities, someone else's ids",
    "create an account, then sign in; errors name the field with PocketBase's codes",
    "verification by mail",
    "password reset by mail: single use, older sessions end",
    "fields and expand on every answer",
]
# One xdist worker runs the whole module: its servers start once per backend, and `npm ci`
# never runs twice at once in tests/sdk_js.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sdk-js")]


def _installed_sdk() -> Path:
    """node_modules as package-lock.json pins it: ``npm ci`` when missing or older than the lockfile."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (./scripts/test installs them with apt)")
    marker = SDK_DIR / "node_modules" / ".package-lock.json"
    lockfile = SDK_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lockfile.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SDK_DIR, check=True, capture_output=True)
    return Path(node)


def run_journey(node: Path, shop: Shop) -> dict[str, dict[str, object]]:
    """Run journey.mjs against ``shop``; the result of each scenario, by name."""
    results: dict[str, dict[str, object]] = {}
    with subprocess.Popen(
        [str(node), "journey.mjs", shop.url],
        cwd=SDK_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        for line in process.stdout:
            kind, _, payload = line.rstrip("\n").partition(" ")
            if kind == "MAIL":
                request = json.loads(payload)
                process.stdin.write(shop.mailed_token(request["to"], request["subject"]) + "\n")
                process.stdin.flush()
            elif kind == "RESULT":
                result = json.loads(payload)
                results[result["name"]] = result
            elif kind == "DONE":
                break
    return results


@pytest.fixture(scope="module", params=BACKENDS)
def journey(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, dict[str, object]]]:
    node = _installed_sdk()
    with running_shop(request.param, tmp_path_factory) as shop:
        yield run_journey(node, shop)


def test_the_pinned_sdk_is_the_one_installed() -> None:
    _installed_sdk()
    lock = json.loads((SDK_DIR / "package-lock.json").read_text())
    installed = json.loads((SDK_DIR / "node_modules" / "pocketbase" / "package.json").read_text())
    assert installed["version"] == lock["packages"]["node_modules/pocketbase"]["version"]
    assert installed["version"].startswith("0.28.")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(journey: dict[str, dict[str, object]], scenario: str) -> None:
    assert set(journey) == set(SCENARIOS), "journey.mjs and this module list the same scenarios"
    result = journey[scenario]
    assert result["ok"] is True, result.get("detail")
