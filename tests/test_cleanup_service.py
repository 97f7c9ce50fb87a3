"""The cleanup service (storefront/admin/cleanup.py): criteria, batches, orders, cascades, runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import UniqueConstraint
from sqlalchemy import update

from storefront.admin import cleanup
from storefront.admin.cleanup import BatchResult
from storefront.admin.cleanup import CleanupError
from storefront.admin.cleanup import make_criteria
from storefront.admin.models import CleanupRun
from storefront.auth.identity import touch_activity
from storefront.auth.models import AuthRecord
from storefront.database import MMAP_SIZE
from storefront.extensions import db
from storefront.models import utcnow
from storefront.shop.models import CartItem
from storefront.shop.models import Order

from .admin_helpers import count
from .admin_helpers import exists
from .conftest import listening
from .factories import make_account
from .factories import make_guest
from .factories import make_order
from .factories import NOW

CUTOFF_30 = NOW - timedelta(days=30)


@pytest.fixture(autouse=True)
def _context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def run_all(days: int = 30, collection: str | None = None, batch_size: int = 500) -> CleanupRun:
    return cleanup.run_cleanup(make_criteria(days, collection, now=NOW), "test", batch_size)


# --- criteria ---------------------------------------------------------------------------------------


def test_boundary_is_exact_last_activity_before_the_cutoff() -> None:
    """Deleted: last activity strictly before now - N days. Exactly N days (or less) stays."""
    exactly = make_guest(last_active=CUTOFF_30)
    just_over = make_guest(last_active=CUTOFF_30 - timedelta(microseconds=1))
    a_second_over = make_guest(last_active=CUTOFF_30 - timedelta(seconds=1))
    a_second_short = make_guest(last_active=CUTOFF_30 + timedelta(seconds=1))

    counts = cleanup.preview(make_criteria(30, now=NOW))
    assert (counts.to_delete, counts.to_keep) == (2, 0)

    run = run_all()
    assert run.deleted == 2
    assert exists(exactly.id) and exists(a_second_short.id)
    assert not exists(just_over.id) and not exists(a_second_over.id)


def test_age_is_measured_by_last_activity_not_creation() -> None:
    old_but_active = make_guest(created=NOW - timedelta(days=400), last_active=NOW - timedelta(days=2))
    new_but_idle = make_guest(created=NOW - timedelta(days=31), last_active=NOW - timedelta(days=31))
    run_all()
    assert exists(old_but_active.id)
    assert not exists(new_but_idle.id)


def test_full_and_upgraded_accounts_are_never_deleted() -> None:
    account = make_account("idle@example.com")
    upgraded = make_account("was-a-guest@example.com")
    db.session.execute(
        update(AuthRecord)
        .where(AuthRecord.id.in_([account.id, upgraded.id]))
        .values(last_active_at=NOW - timedelta(days=900), upgraded_at=NOW - timedelta(days=899))
    )
    db.session.commit()
    run = run_all(days=1)
    assert run.deleted == 0
    assert exists(account.id) and exists(upgraded.id)


def test_collection_limits_the_run(products: list[int]) -> None:
    user_guest = make_guest(now=NOW, idle_days=40, collection="users")
    customer_guest = make_guest(now=NOW, idle_days=40, collection="customers")

    assert cleanup.preview(make_criteria(30, "customers", now=NOW)).to_delete == 1
    run = run_all(collection="customers")
    assert (run.deleted, run.collection) == (1, "customers")
    assert exists(user_guest.id) and not exists(customer_guest.id)

    run = run_all(collection=None)  # every collection
    assert run.deleted == 1 and not exists(user_guest.id)


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_days_out_of_range_are_refused(days: int) -> None:
    with pytest.raises(CleanupError) as caught:
        make_criteria(days, now=NOW)
    assert caught.value.field == "inactive_days"
    assert "from 1 to 3650" in caught.value.message


def test_unknown_collection_is_refused() -> None:
    with pytest.raises(CleanupError) as caught:
        make_criteria(30, "admins", now=NOW)
    assert caught.value.field == "collection"
    assert "users, customers" in caught.value.message


def test_all_means_every_collection() -> None:
    criteria = make_criteria(30, "all", now=NOW)
    assert criteria.collection is None
    assert criteria.collections == ("users", "customers")
    assert criteria.cutoff == CUTOFF_30
    assert "all collections" in criteria.describe() and "30 days" in criteria.describe()


@pytest.mark.parametrize("size", [0, 10_001])
def test_batch_size_out_of_range_is_refused(size: int) -> None:
    with pytest.raises(CleanupError, match="batch size"):
        cleanup.check_batch_size(size)


# --- orders, cascades -------------------------------------------------------------------------------


def test_records_that_own_orders_are_kept_with_their_orders(products: list[int]) -> None:
    buyer = make_guest(now=NOW, idle_days=90, cart=[products[0]])
    order = make_order(buyer)
    browser = make_guest(now=NOW, idle_days=90, cart=[products[0]])

    counts = cleanup.preview(make_criteria(30, now=NOW))
    assert (counts.to_delete, counts.to_keep) == (1, 1)

    run = run_all()
    assert (run.deleted, run.kept) == (1, 1)
    assert exists(buyer.id) and not exists(browser.id)
    kept_order = db.session.get(Order, order.id, populate_existing=True)
    assert kept_order is not None and kept_order.owner_id == buyer.id
    assert count(CartItem, owner_id=buyer.id) == 1  # a kept record keeps its cart too


def test_cascade_leaves_no_orphan_cart_rows(products: list[int]) -> None:
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:  # cascades happen only with foreign keys on, which SQLite needs per connection
        assert db.session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    guests = [make_guest(now=NOW, idle_days=60, cart=products[:2]) for _ in range(5)]
    active = make_guest(now=NOW, idle_days=1, cart=products[:2])
    assert count(CartItem) == 12

    run = run_all(batch_size=2)
    assert run.deleted == 5
    assert not any(exists(guest.id) for guest in guests)
    assert count(CartItem) == 2 and count(CartItem, owner_id=active.id) == 2
    orphans = db.session.execute(
        text("SELECT count(*) FROM cart_items WHERE owner_id NOT IN (SELECT id FROM auth_records)")
    ).scalar_one()
    assert orphans == 0
    if sqlite:
        assert db.session.connection().exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_deleted_guest_merged_into_an_account_leaves_no_dangling_reference() -> None:
    account = make_account("merged@example.com")
    retired = make_guest(now=NOW, idle_days=60)
    db.session.execute(
        update(AuthRecord).where(AuthRecord.id == retired.id).values(merged_into_id=account.id)
    )
    db.session.commit()
    run_all()
    assert not exists(retired.id) and exists(account.id)


# --- batches and concurrency ------------------------------------------------------------------------


def test_deletes_in_batches_each_its_own_transaction(products: list[int]) -> None:
    for days in range(40, 45):
        make_guest(now=NOW, idle_days=days, cart=[products[0]])
    batches: list[BatchResult] = []
    run = cleanup.run_cleanup(make_criteria(30, now=NOW), "test", batch_size=2, on_batch=batches.append)
    assert [batch.deleted for batch in batches] == [2, 2, 1]
    assert all(batch.seconds >= 0 and batch.collection == "users" for batch in batches)
    assert run.deleted == 5 and run.status == cleanup.FINISHED


def test_record_active_between_preview_and_delete_survives() -> None:
    returning = make_guest(now=NOW, idle_days=45)
    gone = make_guest(now=NOW, idle_days=45)
    criteria = make_criteria(30, now=NOW)
    assert cleanup.preview(criteria).to_delete == 2

    touch_activity(returning)  # the shopper comes back (a request with their cookie does this)

    run = cleanup.run_cleanup(criteria, "test")
    assert run.deleted == 1
    assert exists(returning.id) and not exists(gone.id)


def test_record_active_during_the_run_survives() -> None:
    oldest = make_guest(now=NOW, idle_days=50)
    middle = make_guest(now=NOW, idle_days=45)
    newest = make_guest(now=NOW, idle_days=40)
    newest_id = newest.id

    def shopper_returns(batch: BatchResult) -> None:
        # Between the first and the second batch, the newest guest opens the shop again.
        if batch.deleted:
            db.session.execute(
                update(AuthRecord).where(AuthRecord.id == newest_id).values(last_active_at=utcnow())
            )
            db.session.commit()

    run = cleanup.run_cleanup(make_criteria(30), "test", batch_size=1, on_batch=shopper_returns)
    assert run.deleted == 2
    assert not exists(oldest.id) and not exists(middle.id)
    assert exists(newest_id)


def test_record_that_orders_during_the_run_is_kept() -> None:
    first = make_guest(now=NOW, idle_days=50)
    buyer = make_guest(now=NOW, idle_days=40)

    def buyer_orders(batch: BatchResult) -> None:
        if batch.deleted and count(Order) == 0:
            make_order(db.session.get(AuthRecord, buyer.id))  # type: ignore[arg-type]

    run = cleanup.run_cleanup(make_criteria(30, now=NOW), "test", batch_size=1, on_batch=buyer_orders)
    assert (run.deleted, run.kept) == (1, 1)
    assert not exists(first.id) and exists(buyer.id)


def test_kept_records_are_stepped_over_not_rescanned(products: list[int]) -> None:
    """Many old order-owning guests in front of the deletable ones: every deletable one goes, every
    kept one stays, whatever the batch size."""
    kept = [make_guest(now=NOW, idle_days=100 - i) for i in range(6)]
    for guest in kept:
        make_order(guest)
    deletable = [make_guest(now=NOW, idle_days=80 - i, cart=[products[1]]) for i in range(5)]
    kept.append(make_guest(now=NOW, idle_days=77))  # interleaved
    make_order(kept[-1])

    run = run_all(batch_size=2)
    assert (run.deleted, run.kept) == (5, 7)
    assert all(exists(guest.id) for guest in kept)
    assert not any(exists(guest.id) for guest in deletable)


# --- runs: time budget, resume, audit ----------------------------------------------------------------


def test_deadline_leaves_the_run_running_and_continuing_resumes_it() -> None:
    for days in range(31, 36):
        make_guest(now=NOW, idle_days=days)
    run = cleanup.start_run(make_criteria(30, now=NOW), "admin:boss@example.com", batch_size=2)
    assert (run.status, run.expected, run.deleted) == (cleanup.RUNNING, 5, 0)
    run_id = run.id

    past = time.monotonic() - 1  # every call stops after its first batch
    progress = []
    for _ in range(5):
        run = cleanup.continue_run(run_id, deadline=past)
        progress.append((run.status, run.deleted))
    assert progress == [
        (cleanup.RUNNING, 2),
        (cleanup.RUNNING, 4),
        (cleanup.FINISHED, 5),
        (cleanup.FINISHED, 5),  # continuing a finished run changes nothing
        (cleanup.FINISHED, 5),
    ]
    assert count(AuthRecord, is_anonymous=True) == 0


def test_continuing_a_finished_run_is_a_no_op() -> None:
    make_guest(now=NOW, idle_days=40)
    run = run_all()
    finished_at, duration = run.finished_at, run.duration_ms
    late = make_guest(now=NOW, idle_days=40)  # appears after the run: not this run's business

    again = cleanup.continue_run(run.id)
    assert (again.status, again.deleted, again.finished_at, again.duration_ms) == (
        cleanup.FINISHED,
        1,
        finished_at,
        duration,
    )
    assert exists(late.id)


def test_a_run_keeps_the_cutoff_it_started_with() -> None:
    run = cleanup.start_run(make_criteria(30, now=NOW), "test")
    # Created after the start with an activity just after the run's cutoff: not a candidate.
    fresh = make_guest(last_active=CUTOFF_30 + timedelta(seconds=5))
    cleanup.continue_run(run.id)
    assert exists(fresh.id)


def test_all_collections_over_several_calls(products: list[int]) -> None:
    for collection in ("users", "customers"):
        for days in (40, 41, 42):
            make_guest(now=NOW, idle_days=days, collection=collection, cart=[products[2]])
    run = cleanup.start_run(make_criteria(30, now=NOW), "test", batch_size=2)
    calls = 0
    while run.status == cleanup.RUNNING:
        run = cleanup.continue_run(run.id, deadline=time.monotonic() - 1)
        calls += 1
    assert run.deleted == 6 and calls >= 3
    assert count(AuthRecord) == 0 and count(CartItem) == 0


def test_unknown_run_cannot_be_continued() -> None:
    with pytest.raises(LookupError):
        cleanup.continue_run(12345)


def test_each_run_is_audited(monkeypatch: pytest.MonkeyPatch) -> None:
    buyer = make_guest(now=NOW, idle_days=40)
    make_order(buyer)
    make_guest(now=NOW, idle_days=40)
    make_guest(now=NOW, idle_days=40)
    # The run's clock stands still except while the database deletes: 1.5 s per DELETE statement.
    clock = {"now": 1000.0}
    monkeypatch.setattr(
        cleanup, "time", SimpleNamespace(perf_counter=lambda: clock["now"], monotonic=time.monotonic)
    )

    def deleting(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            clock["now"] += 1.5

    with listening(db.engine, "before_cursor_execute", deleting):
        run = cleanup.run_cleanup(make_criteria(30, "users", now=NOW), "admin:boss@example.com", batch_size=7)

    stored = db.session.execute(select(CleanupRun)).scalar_one()
    assert stored.id == run.id
    assert stored.actor == "admin:boss@example.com"
    assert (stored.inactive_days, stored.collection, stored.batch_size) == (30, "users", 7)
    assert stored.cutoff.replace(tzinfo=None) == CUTOFF_30.replace(tzinfo=None)
    assert (stored.expected, stored.deleted, stored.kept) == (2, 2, 1)
    assert stored.status == cleanup.FINISHED and stored.dry_run is False
    assert stored.started_at is not None and stored.finished_at is not None
    assert stored.finished_at >= stored.started_at
    assert stored.duration_ms == 1500  # its one batch, and nothing else, took time
    assert cleanup.recent_runs() == [stored]


def test_recent_runs_newest_first() -> None:
    ids = [run_all().id for _ in range(3)]
    assert [run.id for run in cleanup.recent_runs(2)] == ids[::-1][:2]


# --- sample -----------------------------------------------------------------------------------------


def test_sample_pages_list_the_candidates_oldest_first(products: list[int]) -> None:
    guests = [make_guest(now=NOW, idle_days=100 - i, cart=products[: i % 3]) for i in range(25)]
    make_order(guests[3])
    make_guest(now=NOW, idle_days=2)  # not a candidate
    criteria = make_criteria(30, now=NOW)
    counts = cleanup.preview(criteria)
    assert counts.matched == 25

    first = cleanup.sample(criteria, counts.matched, page=1)
    assert [row.id for row in first.rows] == [guest.id for guest in guests[:20]]
    assert (first.pages, first.has_prev, first.has_next) == (2, False, True)
    assert (first.first_index, first.last_index) == (1, 20)
    assert [row.cart_items for row in first.rows[:3]] == [0, 1, 2]
    assert [row.has_orders for row in first.rows[:5]] == [False, False, False, True, False]
    assert first.rows[0].last_active_at == NOW - timedelta(days=100)

    second = cleanup.sample(criteria, counts.matched, page=2)
    assert [row.id for row in second.rows] == [guest.id for guest in guests[20:]]
    assert cleanup.sample(criteria, counts.matched, page=99).page == 2  # past the end: the last page
    assert cleanup.sample(criteria, counts.matched, page=-3).page == 1


# --- indexes ----------------------------------------------------------------------------------------


def _plan(statement: object) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    params = compiled.construct_params()
    values = tuple(params[name] for name in compiled.positiontup)
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def test_cleanup_queries_walk_the_cleanup_index(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    criteria = make_criteria(30, now=NOW)
    batch = _plan(cleanup.batch_statement("users", criteria.cutoff, CUTOFF_30 - timedelta(days=9), 500))
    walk = "USING INDEX ix_auth_records_cleanup (is_anonymous=? AND collection=? AND last_active_at"
    assert f"{walk}>? AND last_active_at<?)" in batch
    assert "USING INDEX ix_orders_owner_id" in batch  # the NOT EXISTS probe
    assert "USE TEMP B-TREE" not in batch  # the index gives the order: no sort
    # The cascade and SET NULL on delete probe indexed child columns, never scan a table.
    assert re.search(r"SEARCH cart_items USING (COVERING )?INDEX \S+ \(owner_id=\?\)", batch)
    assert "ix_auth_records_merged_into_id" in batch
    assert "SCAN" not in batch

    counts = _plan(cleanup.preview_statement(criteria))
    assert f"{walk}<?)" in counts
    assert "SCAN" not in counts


def test_every_foreign_key_to_auth_records_is_indexed() -> None:
    """Cascades (and SET NULL) look up the child rows of each deleted record: without an index on the
    child column each delete scans the child table."""
    checked = 0
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name != "auth_records":
                continue
            column = key.parent
            # An index or a unique constraint whose first column it is serves the look-up.
            leading = [index.columns[0] for index in table.indexes] + [
                constraint.columns[0]
                for constraint in table.constraints
                if isinstance(constraint, UniqueConstraint)
            ]
            assert any(first is column for first in leading) or column.primary_key, (
                f"{table.name}.{column.name} references auth_records without an index"
            )
            checked += 1
    assert checked >= 3  # cart_items.owner_id, orders.owner_id, auth_records.merged_into_id


def test_the_batch_connection_gets_its_settings_back(app: Flask) -> None:
    """The run tunes its own SQLite connection (no checkpoint inside a batch's commit, no memory
    map); every connection goes back to the pool with the app's settings."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    returned: list[tuple[int, int, int]] = []

    def on_checkin(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        settings = tuple(
            cursor.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("wal_autocheckpoint", "cache_size", "mmap_size")
        )
        returned.append(settings)
        cursor.close()

    for days in range(40, 45):
        make_guest(now=NOW, idle_days=days)
    with listening(db.engine, "checkin", on_checkin):
        run = run_all(batch_size=2)
    assert run.deleted == 5
    assert returned and set(returned) == {(1000, -2000, MMAP_SIZE)}
