"""Lighthouse audit of the shopper's pages: the four category scores, mobile and desktop.

    python -m bench.audit [--pages catalogue,product,...] [--presets mobile,desktop] [--keep-reports DIR]

Starts storefront under gunicorn on a fresh SQLite database (as the benchmarks do), makes a full
account with an order and a cart over HTTP, and runs Lighthouse (npm ``lighthouse``, pinned in
``bench/lighthouse/package-lock.json``; ``npm ci`` runs there when needed) with Debian's Chromium
against the catalogue, a product, the cart, the checkout form, the order confirmation and
``/account``. The catalogue and the product are audited as a first-time visitor, the rest with the
account's cookies. Any audit that costs a point is listed under the table.

Performance varies from run to run, most on a busy machine (the simulated blocking time scales what
the main thread did, and a loaded CPU makes that longer): as Lighthouse's own guidance on variability
advises, each page is audited ``--runs`` times (3) and the run with the median performance score is
reported.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .server import app_env
from .server import gunicorn
from .server import prepare_database

LIGHTHOUSE_DIR = Path(__file__).resolve().parent / "lighthouse"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
# What headless Chromium needs on a build machine: no sandbox (containers), no GPU, and none of the
# background traffic (updates, sync, first-run pages) that would land in the measurements.
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PRESETS = ["mobile", "desktop"]
PASSWORD = "an audit passphrase that is long"
DELIVERY = {
    "full_name": "Ada Lovelace",
    "address": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


@dataclass
class Page:
    name: str
    path: str
    signed_in: bool


class Shopper:
    """A browser-like HTTP client: keeps cookies, reads the CSRF token of each form it fills."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def post(self, path: str, form: dict[str, str], token_from: str | None = None) -> tuple[str, str]:
        _, page = self.get(token_from or path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        fields = dict(form)
        if token:
            fields["csrf_token"] = token.group(1)
        if "checkout_key" in fields and fields["checkout_key"] == "":
            key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', page)
            assert key, "the checkout form has a key"
            fields["checkout_key"] = key.group(1)
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base_url + path, data=data, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


def make_account_with_an_order(base_url: str) -> tuple[Shopper, str]:
    """A full account that has placed one order and has one product in its cart again."""
    shopper = Shopper(base_url)
    email = "audit@example.com"
    shopper.post("/register", {"email": email, "password": PASSWORD, "confirm": PASSWORD})
    shopper.post("/cart/add", {"product_id": "1", "quantity": "2"}, token_from="/")
    url, _ = shopper.post(
        "/checkout",
        {"email": email, **DELIVERY, "save_details": "y", "action": "place-order", "checkout_key": ""},
    )
    number = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
    assert re.fullmatch(r"SF-[0-9A-Z]{4}-[0-9A-Z]{4}", number), f"no order was placed: {url}"
    shopper.post("/cart/add", {"product_id": "2", "quantity": "1"}, token_from="/")
    return shopper, number


def ensure_lighthouse() -> Path:
    """``npm ci`` in bench/lighthouse when its node_modules is missing or older than the lock file."""
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    lock = LIGHTHOUSE_DIR / "package-lock.json"
    marker = LIGHTHOUSE_DIR / "node_modules" / ".package-lock.json"
    if not cli.exists() or not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install Lighthouse (Node 20 or later).")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LIGHTHOUSE_DIR, check=True)
    return cli


def lighthouse(cli: Path, url: str, preset: str, cookie: str | None, report: Path) -> dict[str, object]:
    """Run Lighthouse once; return its JSON result (also kept at ``report``)."""
    command = [
        shutil.which("node") or "node",
        str(cli),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    for attempt in (1, 2):  # a busy machine now and then keeps Chromium from starting in time
        run = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError(f"Lighthouse failed on {url} ({preset}):\n{run.stderr[-3000:]}")
    result: dict[str, object] = json.loads(report.read_text())
    return result


def scores(result: dict[str, object]) -> dict[str, int | None]:
    categories = result["categories"]
    assert isinstance(categories, dict)
    return {
        name: None if categories[name]["score"] is None else round(categories[name]["score"] * 100)
        for name in CATEGORIES
    }


def lost_points(result: dict[str, object]) -> list[str]:
    """The weighted audits below a full score, as ``category: audit id (score)``."""
    categories, audits = result["categories"], result["audits"]
    assert isinstance(categories, dict) and isinstance(audits, dict)
    lost = []
    for name in CATEGORIES:
        for ref in categories[name]["auditRefs"]:
            audit = audits[ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                lost.append(
                    f"{name}: {ref['id']} ({audit['score']}) {audit.get('displayValue', '')}".rstrip()
                )
    return lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", default="catalogue,product,cart,checkout,confirmation,account")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument(
        "--runs", type=int, default=3, help="audits per page and preset (the median is shown)"
    )
    parser.add_argument("--keep-reports", type=Path, help="keep the JSON reports in this directory")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH).")
    cli = ensure_lighthouse()

    with tempfile.TemporaryDirectory(prefix="storefront-audit-") as workdir:
        reports = args.keep_reports or Path(workdir)
        reports.mkdir(parents=True, exist_ok=True)
        env = app_env(f"sqlite:///{Path(workdir) / 'audit.sqlite'}")
        prepare_database(env)
        with gunicorn(env, workers=2) as server:
            shopper, number = make_account_with_an_order(server.url)
            pages = [
                Page("catalogue", "/", signed_in=False),
                Page("product", "/products/1", signed_in=False),
                Page("cart", "/cart", signed_in=True),
                Page("checkout", "/checkout", signed_in=True),
                Page("confirmation", f"/orders/{number}", signed_in=True),
                Page("account", "/account", signed_in=True),
            ]
            wanted = set(args.pages.split(","))
            rows, notes = [], []
            for preset in args.presets.split(","):
                for page in pages:
                    if page.name not in wanted:
                        continue
                    cookie = shopper.cookie_header() if page.signed_in else None
                    results = [
                        lighthouse(
                            cli,
                            server.url + page.path,
                            preset,
                            cookie,
                            reports / f"{page.name}-{preset}-{run}.json",
                        )
                        for run in range(1, args.runs + 1)
                    ]
                    results.sort(key=lambda result: scores(result)["performance"] or 0)
                    result = results[len(results) // 2]
                    rows.append((page.name, preset, scores(result)))
                    notes += [f"{page.name} ({preset}) {item}" for item in lost_points(result)]
                    print(f"  {page.name} ({preset}) done", file=sys.stderr, flush=True)

    header = f"| Page | Preset | {' | '.join(CATEGORIES)} |"
    print(header)
    print("|" + "---|" * (2 + len(CATEGORIES)))
    for name, preset, values in rows:
        cells = " | ".join("–" if values[c] is None else str(values[c]) for c in CATEGORIES)
        print(f"| {name} | {preset} | {cells} |")
    if notes:
        print("\nAudits that cost points:")
        for note in notes:
            print(f"- {note}")
    perfect = all(all(value == 100 for value in values.values()) for _, _, values in rows)
    return 0 if perfect else 1


if __name__ == "__main__":
    sys.exit(main())
