"""Cleanup of inactive anonymous records: the one service behind the admin page and the CLI.

The rules, in one place:

* A record is a *candidate* when it is anonymous, belongs to the chosen collection (or to any auth
  collection) and its **last activity** (not its creation) is before the cutoff, ``now - inactive_days``.
* A candidate that owns an order is **kept**, always: orders are what shoppers paid for.
* Deleting happens in batches, each one short transaction: this statement and the run's counters::

      DELETE FROM auth_records WHERE id IN (
          SELECT id FROM auth_records
          WHERE is_anonymous AND collection = :c AND last_active_at < :cutoff AND last_active_at >= :from
            AND NOT EXISTS (SELECT 1 FROM orders WHERE owner_id = auth_records.id)
          ORDER BY last_active_at LIMIT :n)

  The criteria are checked again by every batch, so a shopper who comes back (a newer last activity)
  or places an order while a run is going keeps the account. Carts go with the record through the
  database's ``ON DELETE CASCADE``; nothing is loaded into Python.
* The subquery walks ``ix_auth_records_cleanup`` (is_anonymous, collection, last_active_at) in order;
  ``:from`` is the last activity of the newest record the previous batch deleted, so records kept for
  their orders are stepped over once per request instead of once per batch.
* A :class:`~storefront.admin.models.CleanupRun` fixes the cutoff when it starts and keeps its counters
  in the database, updated in the same transaction as each batch: a run resumed after a reload, or by
  two requests at once, neither repeats nor loses work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import case
from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.sql.dml import ReturningDelete

from ..auth import AuthRecord
from ..auth import FieldError
from ..database import bulk_delete_connection
from ..database import checkpoint
from ..database import no_collector_pause
from ..extensions import db
from ..models import as_utc
from ..models import utcnow
from ..shop.guests import idle_guests
from ..shop.guests import owns_an_order
from ..shop.models import CartItem
from .models import CleanupRun

RUNNING = "running"
FINISHED = "finished"

MIN_INACTIVE_DAYS = 1  # 0 would take guests who are shopping right now
MAX_INACTIVE_DAYS = 3650
MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 10_000
SAMPLE_PAGE_SIZE = 20
# SQLite: checkpoint the WAL after this many deleted records (a few hundred pages of WAL: records
# made at about the same time sit in neighbouring pages of every index, see ``new_id``).
CHECKPOINT_RECORDS = 2000


class CleanupError(FieldError):
    """Criteria the cleanup refuses, with a message for the admin; ``field`` names the input."""


@dataclass(frozen=True)
class Criteria:
    """What a cleanup deletes: anonymous records of ``collections`` last active before ``cutoff``."""

    inactive_days: int
    collection: str | None  # None: every auth collection
    collections: tuple[str, ...]  # the collections this resolves to
    cutoff: datetime

    def describe(self) -> str:
        """The criteria in words, for the audit, the CLI and the result page."""
        where = self.collection or "all collections"
        day_word = "day" if self.inactive_days == 1 else "days"
        return (
            f"anonymous records in {where} inactive for at least {self.inactive_days} {day_word} "
            f"(last activity before {self.cutoff:%Y-%m-%d %H:%M} UTC)"
        )


def default_inactive_days() -> int:
    """The configured cleanup age (``CLEANUP_INACTIVE_DAYS``)."""
    return int(current_app.config["CLEANUP_INACTIVE_DAYS"])


def default_batch_size() -> int:
    """The configured batch size (``CLEANUP_BATCH_SIZE``)."""
    return int(current_app.config["CLEANUP_BATCH_SIZE"])


def auth_collections() -> list[str]:
    """The auth collections a cleanup can be limited to."""
    return list(current_app.config["AUTH_COLLECTIONS"])


def make_criteria(
    inactive_days: int, collection: str | None = None, *, now: datetime | None = None
) -> Criteria:
    """Check the admin's input and fix the cutoff. ``collection`` ``None`` (or ``"all"``) means every
    auth collection. Raises :class:`CleanupError` for input out of range."""
    if isinstance(inactive_days, bool) or not isinstance(inactive_days, int):
        raise CleanupError("inactive_days", "Enter the number of days as a whole number.")
    if not MIN_INACTIVE_DAYS <= inactive_days <= MAX_INACTIVE_DAYS:
        raise CleanupError(
            "inactive_days",
            f"Enter a number of days from {MIN_INACTIVE_DAYS} to {MAX_INACTIVE_DAYS}.",
        )
    known = auth_collections()
    if collection in (None, "", "all"):
        collection = None
    elif collection not in known:
        raise CleanupError("collection", f"Choose one of: all, {', '.join(known)}.")
    collections = tuple(known) if collection is None else (collection,)
    cutoff = as_utc(now or utcnow()) - timedelta(days=inactive_days)
    return Criteria(inactive_days, collection, collections, cutoff)


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` if it is in range, else :class:`CleanupError`."""
    if isinstance(batch_size, bool) or not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
        raise CleanupError("batch_size", f"Choose a batch size from {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE:,}.")
    return batch_size


# ---------------------------------------------------------------------------------------------------
# Preview


@dataclass(frozen=True)
class Preview:
    """How many records match now: those to delete and those kept because they own orders."""

    criteria: Criteria
    to_delete: int
    to_keep: int

    @property
    def matched(self) -> int:
        return self.to_delete + self.to_keep


def preview_statement(criteria: Criteria) -> Select[int, int]:
    """Candidates, and those among them that own orders, counted in one pass over the index."""
    return select(func.count(), func.coalesce(func.sum(case((owns_an_order(), 1), else_=0)), 0)).where(
        *idle_guests(criteria.collections, criteria.cutoff)
    )


def preview(criteria: Criteria) -> Preview:
    """Count the candidates without changing anything (the admin's Preview, the CLI's dry run)."""
    matched, with_orders = db.session.execute(preview_statement(criteria)).one()
    return Preview(criteria, to_delete=int(matched) - int(with_orders), to_keep=int(with_orders))


@dataclass(frozen=True)
class SampleRow:
    """One candidate as the preview lists it."""

    id: str
    collection: str
    created: datetime
    last_active_at: datetime
    cart_items: int
    has_orders: bool


@dataclass(frozen=True)
class SamplePage:
    """A page of candidates, oldest activity first."""

    rows: list[SampleRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """The 1-based position of the first row on this page (0 for an empty page)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def sample(criteria: Criteria, total: int, page: int = 1, per_page: int = SAMPLE_PAGE_SIZE) -> SamplePage:
    """Page ``page`` of the candidates (``total`` is :attr:`Preview.matched`); a page past the end
    shows the last one."""
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    cart_items = (
        select(func.count()).where(CartItem.owner_id == AuthRecord.id).correlate(AuthRecord).scalar_subquery()
    )
    rows = db.session.execute(
        select(
            AuthRecord.id,
            AuthRecord.collection,
            AuthRecord.created,
            AuthRecord.last_active_at,
            cart_items,
            owns_an_order(),
        )
        .where(*idle_guests(criteria.collections, criteria.cutoff))
        # The index's own order: no sort of every candidate to show twenty.
        .order_by(AuthRecord.collection, AuthRecord.last_active_at)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return SamplePage(
        rows=[
            SampleRow(
                id=row[0],
                collection=row[1],
                created=as_utc(row[2]),
                last_active_at=as_utc(row[3]),
                cart_items=int(row[4]),
                has_orders=bool(row[5]),
            )
            for row in rows
        ],
        page=page,
        per_page=per_page,
        total=total,
    )


# ---------------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class BatchResult:
    """One batch: how many records it deleted, in which collection, and how long its transaction
    held the database (from the DELETE to the end of the COMMIT)."""

    run_id: int
    collection: str
    deleted: int
    seconds: float


BatchHook = Callable[[BatchResult], None]


class _Stopwatch:
    """Processing time of a run, written to ``duration_ms`` in whole milliseconds as increments (so
    two requests continuing one run add up) with the remainder carried to the next write."""

    def __init__(self) -> None:
        self._mark = time.perf_counter()
        self._carry = 0.0

    def take_ms(self) -> int:
        now = time.perf_counter()
        elapsed = (now - self._mark) * 1000 + self._carry
        self._mark = now
        whole = int(elapsed)
        self._carry = elapsed - whole
        return whole


def criteria_of(run: CleanupRun) -> Criteria:
    """The criteria a run was started with (its cutoff, fixed at the start)."""
    known = auth_collections()
    collections = tuple(known) if run.collection is None else (run.collection,)
    return Criteria(run.inactive_days, run.collection, collections, as_utc(run.cutoff))


def start_run(criteria: Criteria, actor: str, batch_size: int | None = None) -> CleanupRun:
    """Record a new run (status ``running``) with what it expects to delete and keep."""
    size = check_batch_size(default_batch_size() if batch_size is None else batch_size)
    stopwatch = _Stopwatch()
    counts = preview(criteria)
    run = CleanupRun(
        actor=actor[:300],
        inactive_days=criteria.inactive_days,
        collection=criteria.collection,
        cutoff=criteria.cutoff,
        batch_size=size,
        dry_run=False,
        status=RUNNING,
        expected=counts.to_delete,
        kept=counts.to_keep,
        deleted=0,
        duration_ms=stopwatch.take_ms(),  # counting is part of the work
    )
    db.session.add(run)
    db.session.commit()
    return run


def get_run(run_id: int) -> CleanupRun | None:
    """The run ``run_id``, if there is one."""
    return db.session.get(CleanupRun, run_id)


def recent_runs(limit: int = 10) -> list[CleanupRun]:
    """The latest runs, newest first (the audit trail on the dashboard)."""
    return list(db.session.execute(select(CleanupRun).order_by(CleanupRun.id.desc()).limit(limit)).scalars())


def continue_run(
    run_id: int,
    *,
    deadline: float | None = None,
    on_batch: BatchHook | None = None,
) -> CleanupRun:
    """Delete batches of ``run_id`` until nothing is left (the run is then ``finished``) or until
    ``time.monotonic()`` passes ``deadline`` (it stays ``running``; call again to go on).

    At least one batch runs per call, so every call makes progress. Continuing a finished run does
    nothing. ``on_batch`` is called after each batch's commit (progress bars, benchmarks).
    """
    run = db.session.get(CleanupRun, run_id, populate_existing=True)  # another request may have moved it on
    if run is None:
        raise LookupError(f"There is no cleanup run {run_id}.")
    if run.status != RUNNING:
        return run
    criteria = criteria_of(run)
    batch_size = run.batch_size
    db.session.commit()  # hold no snapshot while the batches run
    stopwatch = _Stopwatch()

    with bulk_delete_connection() as connection:
        unsaved = 0  # records deleted since the last checkpoint
        for collection in criteria.collections:
            start = _first_deletable(connection, collection, criteria.cutoff)
            while start is not None:
                deleted, newest = _delete_batch(
                    connection, run_id, collection, criteria.cutoff, start, batch_size, stopwatch, on_batch
                )
                unsaved += deleted
                if unsaved >= CHECKPOINT_RECORDS:
                    checkpoint(connection)
                    unsaved = 0
                if deleted < batch_size:
                    break  # nothing deletable left in this collection
                start = newest
                if deadline is not None and time.monotonic() >= deadline:
                    return _refreshed(run_id)
        _finish(connection, run_id, criteria, stopwatch)
    return _refreshed(run_id)


def _first_deletable(connection: Connection, collection: str, cutoff: datetime) -> datetime | None:
    """The last activity of the oldest record the next batch would delete, read without taking the
    write lock, so records kept for their orders are stepped over outside the batch's transaction."""
    value = connection.execute(
        select(AuthRecord.last_active_at)
        .where(*idle_guests([collection], cutoff), ~owns_an_order())
        .order_by(AuthRecord.last_active_at)
        .limit(1)
    ).scalar_one_or_none()
    connection.commit()
    return value


def batch_statement(
    collection: str, cutoff: datetime, start: datetime, batch_size: int
) -> ReturningDelete[datetime]:
    """The DELETE of one batch (see the module docstring); it returns the deleted records' last
    activity, from which the next batch starts."""
    candidates = (
        select(AuthRecord.id)
        .where(*idle_guests([collection], cutoff), AuthRecord.last_active_at >= start, ~owns_an_order())
        .order_by(AuthRecord.last_active_at)
        .limit(batch_size)
        # PostgreSQL: leave rows another transaction is updating (a shopper coming back) alone.
        .with_for_update(skip_locked=True)
    )
    return delete(AuthRecord).where(AuthRecord.id.in_(candidates)).returning(AuthRecord.last_active_at)


def _delete_batch(
    connection: Connection,
    run_id: int,
    collection: str,
    cutoff: datetime,
    start: datetime,
    batch_size: int,
    stopwatch: _Stopwatch,
    on_batch: BatchHook | None,
) -> tuple[int, datetime]:
    """One short transaction: delete up to ``batch_size`` candidates (criteria re-checked) and add
    them to the run's counters. Returns how many were deleted and the newest last activity among
    them (``start`` when none)."""
    began = time.perf_counter()
    with no_collector_pause(), connection.begin():
        activity = connection.execute(batch_statement(collection, cutoff, start, batch_size)).scalars().all()
        deleted = len(activity)
        if deleted:
            connection.execute(
                update(CleanupRun)
                .where(CleanupRun.id == run_id)
                .values(
                    deleted=CleanupRun.deleted + deleted,
                    duration_ms=CleanupRun.duration_ms + stopwatch.take_ms(),
                )
            )
    seconds = time.perf_counter() - began
    if on_batch is not None:
        on_batch(BatchResult(run_id, collection, deleted, seconds))
    return deleted, max(activity) if activity else start


def _finish(connection: Connection, run_id: int, criteria: Criteria, stopwatch: _Stopwatch) -> None:
    """Mark the run finished, with the final count of records kept because they own orders."""
    _matched, kept = connection.execute(preview_statement(criteria)).one()
    connection.commit()
    with connection.begin():
        connection.execute(
            update(CleanupRun)
            .where(CleanupRun.id == run_id, CleanupRun.status == RUNNING)
            .values(
                status=FINISHED,
                kept=int(kept),
                finished_at=utcnow(),
                duration_ms=CleanupRun.duration_ms + stopwatch.take_ms(),
            )
        )


def _refreshed(run_id: int) -> CleanupRun:
    run = db.session.get(CleanupRun, run_id, populate_existing=True)
    assert run is not None  # runs are never deleted
    return run


def run_cleanup(
    criteria: Criteria,
    actor: str,
    batch_size: int | None = None,
    on_batch: BatchHook | None = None,
) -> CleanupRun:
    """Start a run and take it to the end in this call (the CLI, cron, the benchmark)."""
    run = start_run(criteria, actor, batch_size)
    return continue_run(run.id, on_batch=on_batch)
