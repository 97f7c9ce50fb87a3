"""Cleanup benchmark: delete N inactive anonymous records, each with a two-line cart, on SQLite.

    python -m bench.cleanup [--sizes 10000,100000,1000000] [--batch-size 500] [--kept-fraction 0.01]
    python bench/cleanup.py ...

For each size, a fresh SQLite file (WAL, foreign keys on, as the app runs it) gets N idle guests with
two cart lines each, plus ``--kept-fraction`` x N idle guests who placed an order (kept) and as many
active guests (untouched), all with random ids and spread-out activity times. The rows go in with
``executemany`` in chunks, not as ORM objects. The cleanup then runs in a fresh process, through the
same service as the admin page and the CLI (``storefront.admin.cleanup.run_cleanup``), so its peak
memory is its own, not the loader's.

Figures per size: total cleanup time (preview count, batches and final count) and its CPU time, time
per deleted record, the median, 99th percentile and longest single write transaction (one batch:
DELETE with its cascades, the run's counter UPDATE, COMMIT), the number of batches, and the cleanup
process's peak resident memory (VmHWM). The targets are checked for the largest size:
at most 60 s, 100 ms and 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``python bench/cleanup.py`` from anywhere
    sys.path.insert(0, str(ROOT))

from storefront import create_app  # noqa: E402
from storefront.admin.cleanup import BatchResult  # noqa: E402
from storefront.admin.cleanup import make_criteria  # noqa: E402
from storefront.admin.cleanup import run_cleanup  # noqa: E402
from storefront.extensions import db  # noqa: E402
from storefront.models import new_id  # noqa: E402
from storefront.models import utcnow  # noqa: E402

INACTIVE_DAYS = 30
CHUNK = 20_000
TARGETS = {"total_s": 60.0, "longest_ms": 100.0, "peak_mb": 300.0}
_RECORD_COLUMNS = (
    "id, collection, email, username, verified, is_anonymous, is_admin, password_hash, token_key, "
    "created, updated, last_active_at"
)


def _config(database: Path) -> dict[str, Any]:
    return {
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-hs256",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "RATELIMIT_ENABLED": False,
    }


def _stamp(value: datetime) -> str:
    """A time as SQLAlchemy stores a DateTime on SQLite (naive UTC, microseconds): the cleanup's
    comparisons are on these strings, so the loader must write them exactly so."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _records(count: int, start: datetime, step: timedelta) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        made = start + step * i
        record_id = new_id(at=made)  # the app's ids: the minute the record was made, then random
        when = _stamp(made)
        yield (
            record_id,
            "users",
            f"anonymous-{record_id}@anonymous.invalid",
            f"guest-{record_id}",
            0,
            1,
            0,
            "!bench",
            "bench-token-key",
            when,
            when,
            when,
        )


def build(database: Path, size: int, kept_fraction: float) -> dict[str, Any]:
    """Create the schema and load the records; returns what was loaded and how long it took."""
    began = time.perf_counter()
    for leftover in database.parent.glob(f"{database.name}*"):  # a previous run's file, WAL and index
        leftover.unlink()
    app = create_app(_config(database))
    now = utcnow().replace(tzinfo=None)
    extra = int(size * kept_fraction)
    with app.app_context():
        db.create_all()
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.executemany(
                "INSERT INTO products (id, slug, name, description, price_cents, stock, image, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(n, f"p{n}", f"Product {n}", "-", 100 * n, 1000, "p.svg", _stamp(now)) for n in (1, 2)],
            )
            # Idle guests, last active between 400 and 31 days ago, oldest first.
            oldest = now - timedelta(days=400)
            idle_step = (timedelta(days=369) / max(size, 1)) or timedelta(microseconds=1)
            batches = [
                ("idle", size, oldest, idle_step, True, False),
                # Buyers: idle as long, interleaved with the others, each owns an order.
                ("kept", extra, oldest + idle_step / 2, idle_step * (size / max(extra, 1)), False, True),
                # Active guests: last seen in the past day.
                ("active", extra, now - timedelta(days=1), timedelta(seconds=1), True, False),
            ]
            order_number = 0
            for _group, count, start, step, with_cart, with_order in batches:
                rows = _records(count, start, step)
                while True:
                    chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
                    if not chunk:
                        break
                    cursor.executemany(
                        f"INSERT INTO auth_records ({_RECORD_COLUMNS}) VALUES ({', '.join('?' * 12)})", chunk
                    )
                    if with_cart:
                        cursor.executemany(
                            "INSERT INTO cart_items (owner_id, product_id, quantity, added_at) "
                            "VALUES (?, ?, 1, ?)",
                            [(row[0], product, row[9]) for row in chunk for product in (1, 2)],
                        )
                    if with_order:
                        orders = []
                        for row in chunk:
                            order_number += 1
                            orders.append((f"BENCH-{order_number}", row[0], f"key-{order_number}", row[9]))
                        cursor.executemany(
                            "INSERT INTO orders (number, owner_id, checkout_key, email, full_name, address, "
                            "city, postal_code, country, total_cents, placed_by_anonymous, created) "
                            "VALUES (?, ?, ?, 'b@example.com', 'B', 'A', 'C', 'P', 'X', 100, 1, ?)",
                            orders,
                        )
                    connection.commit()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            connection.close()
        db.engine.dispose()
    return {"size": size, "kept": extra, "active": extra, "build_s": time.perf_counter() - began}


def _percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, round(share * len(ranked)) - 1))]


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: Linux's VmHWM, which starts again at exec, unlike
    ru_maxrss (kept across fork and exec, so a child started by the loader would report the
    loader's peak); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cleanup_in_this_process(database: Path, batch_size: int) -> dict[str, Any]:
    """Run the cleanup (the child process of :func:`measure`) and return its figures."""
    app = create_app(_config(database))
    durations: list[float] = []

    def on_batch(batch: BatchResult) -> None:
        durations.append(batch.seconds)

    with app.app_context():
        baseline_mb = peak_rss_mb()
        before = resource.getrusage(resource.RUSAGE_SELF)
        began = time.perf_counter()
        run = run_cleanup(make_criteria(INACTIVE_DAYS), "bench", batch_size, on_batch=on_batch)
        total = time.perf_counter() - began
        peak_mb = peak_rss_mb()  # before the checks below read the whole database
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        connection = db.session.connection()
        left = {
            "anonymous": connection.exec_driver_sql(
                "SELECT count(*) FROM auth_records WHERE is_anonymous"
            ).scalar_one(),
            "cart_items": connection.exec_driver_sql("SELECT count(*) FROM cart_items").scalar_one(),
            "orphan_cart_items": connection.exec_driver_sql(
                "SELECT count(*) FROM cart_items WHERE owner_id NOT IN (SELECT id FROM auth_records)"
            ).scalar_one(),
        }
        figures = {
            "deleted": run.deleted,
            "kept": run.kept,
            "total_s": total,
            "cpu_s": cpu,
            "longest_ms": max(durations, default=0) * 1000,
            "median_ms": statistics.median(durations) * 1000 if durations else 0,
            "p99_ms": _percentile(durations, 0.99) * 1000,
            "batches": len(durations),
            "baseline_mb": baseline_mb,
            "peak_mb": peak_mb,
            "left": left,
        }
        db.session.remove()
        db.engine.dispose()
    return figures


def measure(database: Path, batch_size: int) -> dict[str, Any]:
    """Run the cleanup in a fresh interpreter, so its peak memory is its own."""
    # The loader left hundreds of megabytes for the kernel to write back; flushed during the cleanup,
    # they would stall its commits and checkpoints for the loader's sake.
    os.sync()
    child = subprocess.run(
        [sys.executable, "-m", "bench.cleanup", "--child", str(database), "--batch-size", str(batch_size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"cleanup process failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated record counts")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--kept-fraction", type=float, default=0.01, help="extra buyers (kept) and active guests"
    )
    parser.add_argument(
        "--workdir", type=Path, help="build the databases here and keep them (default: a temporary folder)"
    )
    parser.add_argument("--child", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(cleanup_in_this_process(Path(args.child), args.batch_size)))
        return 0

    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    print(
        f"Cleanup of inactive anonymous records on SQLite {__import__('sqlite3').sqlite_version} "
        f"(batches of {args.batch_size}; {os.cpu_count()} CPUs)"
    )
    columns = {
        "records": 10,
        "build": 8,
        "cleanup": 9,
        "CPU": 8,
        "per record": 11,
        "txn median": 11,
        "p99": 9,
        "longest txn": 12,
        "batches": 8,
        "peak RSS": 9,
        "kept": 7,
        "check": 6,
        "load": 5,
    }
    widths = list(columns.values())
    header = list(columns)
    print(_row(header, widths))
    results = []
    with contextlib.ExitStack() as stack:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            folder = str(args.workdir)
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="storefront-cleanup-bench-"))
        for size in sizes:
            database = Path(folder) / f"cleanup-{size}.sqlite"
            built = build(database, size, args.kept_fraction)
            figures = measure(database, args.batch_size)
            left = figures["left"]
            ok = (
                figures["deleted"] == size
                and figures["kept"] == built["kept"]
                and left["anonymous"] == built["kept"] + built["active"]
                and left["orphan_cart_items"] == 0
                and left["cart_items"] == 2 * built["active"]
            )
            results.append({**built, **figures, "correct": ok})
            print(
                _row(
                    [
                        f"{size:,}",
                        f"{built['build_s']:.1f} s",
                        f"{figures['total_s']:.2f} s",
                        f"{figures['cpu_s']:.1f} s",
                        f"{figures['total_s'] / max(figures['deleted'], 1) * 1e6:.1f} µs",
                        f"{figures['median_ms']:.1f} ms",
                        f"{figures['p99_ms']:.1f} ms",
                        f"{figures['longest_ms']:.1f} ms",
                        f"{figures['batches']:,}",
                        f"{figures['peak_mb']:.0f} MB",
                        f"{figures['kept']:,}",
                        "ok" if ok else "WRONG",
                        f"{os.getloadavg()[0]:.1f}",
                    ],
                    widths,
                ),
                flush=True,
            )
            if not args.workdir:
                database.unlink()

    largest = max(results, key=lambda item: item["size"])
    print(
        f"\nPeak RSS includes Python, Flask and SQLAlchemy ({largest['baseline_mb']:.0f} MB before the "
        "cleanup started); per record = cleanup time / deleted records; CPU = the cleanup process's "
        "user + system time; load = the machine's 1-minute load average after the cleanup (other "
        "processes compete for the CPUs and the disk)."
    )
    verdicts = [
        ("total", largest["total_s"], TARGETS["total_s"], "s"),
        ("longest transaction", largest["longest_ms"], TARGETS["longest_ms"], "ms"),
        ("peak memory", largest["peak_mb"], TARGETS["peak_mb"], "MB"),
    ]
    print(f"Targets for {largest['size']:,} records:")
    failed = False
    for name, value, limit, unit in verdicts:
        met = value <= limit
        failed |= not met
        print(f"  {name}: {value:.1f} {unit} (target at most {limit:g} {unit}): {'met' if met else 'MISSED'}")
    if not all(item["correct"] for item in results):
        print("Some run deleted the wrong records: see the check column.")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
