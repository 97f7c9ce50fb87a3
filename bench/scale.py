"""Scale benchmark: does anonymous sign-in stay as fast with a million records as with a thousand?

    python -m bench.scale [--sizes 1000,1000000] [--duration 5] [--runs 3] [--clients 4] [--workers 2]

For each size a fresh SQLite file gets that many idle anonymous records (each with a two-line cart),
loaded in bulk by ``bench.cleanup.build``; gunicorn then serves it and the client processes of
``bench.load`` drive the JSON anonymous sign-in (with ``GET /api/health`` in the same run, to show how
busy the machine was). The figure to read is the ratio of the median p50 latencies, largest size to
smallest: the creation (INSERT), the sign-in by email (the unique index on collection + email) and
the token check (primary key) must not slow down as the table grows. The query plan of the email
look-up is printed to show the index in use.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
from pathlib import Path

from .cleanup import build
from .load import drive
from .load import health
from .load import json_anonymous_sign_in
from .server import app_env
from .server import gunicorn


def _plan(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM auth_records WHERE collection = ? AND email = ?",
            ("users", "anonymous-x@anonymous.invalid"),
        ).fetchall()
    return "; ".join(str(row[-1]) for row in rows)


def measure(size: int, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "scale.sqlite"
        loaded = build(database, size, kept_fraction=0.0)
        print(f"  {size:>9,} records loaded in {loaded['build_s']:.1f} s; email look-up: {_plan(database)}")
        p50s, rates, health_rates = [], [], []
        with gunicorn(app_env(f"sqlite:///{database}"), workers=args.workers) as server:
            for _ in range(args.runs):
                health_rates.append(drive(server.url, health, args.duration, args.clients).rate)
                result = drive(server.url, json_anonymous_sign_in, args.duration, args.clients)
                p50s.append(result.percentile(0.50))
                rates.append(result.rate)
            rss = max(server.worker_rss_mib())
    return {
        "p50_ms": statistics.median(p50s),
        "rate": statistics.median(rates),
        "health": statistics.median(health_rates),
        "rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,1000000", help="comma-separated record counts")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    figures = {size: measure(size, args) for size in sizes}
    print(f"\n{'records':>10}{'sign-ins/s':>12}{'p50 ms':>9}{'health/s':>10}{'worker RSS MiB':>16}")
    for size, f in figures.items():
        print(f"{size:>10,}{f['rate']:>12.1f}{f['p50_ms']:>9.2f}{f['health']:>10.1f}{f['rss_mib']:>16.0f}")
    smallest, largest = figures[min(sizes)], figures[max(sizes)]
    print(
        f"p50 latency at {max(sizes):,} records is {largest['p50_ms'] / smallest['p50_ms']:.2f}x "
        f"that at {min(sizes):,} (target: at most 1.2x)"
    )


if __name__ == "__main__":
    main()
