"""The figures of the admin dashboard: who the shop's records are and how guests convert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from ..auth import AuthRecord
from ..extensions import db
from ..shop.models import Order
from .cleanup import auth_collections
from .cleanup import default_inactive_days
from .cleanup import make_criteria
from .cleanup import recent_runs
from .models import CleanupRun


@dataclass(frozen=True)
class CollectionStats:
    """The records of one auth collection (or of all of them)."""

    collection: str
    anonymous: int
    full: int
    upgraded: int  # full accounts that started as anonymous records
    inactive: int  # anonymous records past the cleanup age

    @property
    def total(self) -> int:
        return self.anonymous + self.full

    @property
    def conversion_rate(self) -> float | None:
        """Share of the records that started anonymous which became accounts (``None``: none did
        start anonymous). Records a cleanup deleted no longer count."""
        started = self.anonymous + self.upgraded
        return self.upgraded / started if started else None


@dataclass(frozen=True)
class OrderStats:
    """Orders placed by anonymous records (guest checkout) against those placed by accounts."""

    guest: int
    account: int

    @property
    def total(self) -> int:
        return self.guest + self.account

    @property
    def guest_share(self) -> float | None:
        return self.guest / self.total if self.total else None


@dataclass(frozen=True)
class Dashboard:
    collections: list[CollectionStats]
    totals: CollectionStats
    orders: OrderStats
    inactive_days: int
    cutoff: datetime
    runs: list[CleanupRun]


def collection_stats(cutoff: datetime) -> list[CollectionStats]:
    """Per collection: anonymous and full records, upgraded ones, and anonymous ones last active
    before ``cutoff``. One pass over the table."""
    rows = db.session.execute(
        select(
            AuthRecord.collection,
            AuthRecord.is_anonymous,
            func.count(),
            func.count(AuthRecord.upgraded_at),
            func.coalesce(func.sum(case((AuthRecord.last_active_at < cutoff, 1), else_=0)), 0),
        ).group_by(AuthRecord.collection, AuthRecord.is_anonymous)
    ).all()
    figures: dict[str, dict[str, int]] = {
        name: {"anonymous": 0, "full": 0, "upgraded": 0, "inactive": 0} for name in auth_collections()
    }
    for collection, is_anonymous, count, upgraded, inactive in rows:
        entry = figures.setdefault(collection, {"anonymous": 0, "full": 0, "upgraded": 0, "inactive": 0})
        if is_anonymous:
            entry["anonymous"] += count
            entry["inactive"] += int(inactive)
        else:
            entry["full"] += count
        entry["upgraded"] += upgraded
    return [CollectionStats(collection=name, **values) for name, values in figures.items()]


def order_stats() -> OrderStats:
    """Guest orders against account orders, over every order (orders outlive their records)."""
    counts: dict[bool, int] = {}
    rows = db.session.execute(
        select(Order.placed_by_anonymous, func.count()).group_by(Order.placed_by_anonymous)
    )
    for placed_by_anonymous, number in rows:
        counts[bool(placed_by_anonymous)] = int(number)
    return OrderStats(guest=counts.get(True, 0), account=counts.get(False, 0))


def dashboard(now: datetime | None = None, runs: int = 10) -> Dashboard:
    """Everything the dashboard shows; the cleanup age is ``CLEANUP_INACTIVE_DAYS``."""
    days = default_inactive_days()
    cutoff = make_criteria(days, None, now=now).cutoff
    per_collection = collection_stats(cutoff)
    totals = CollectionStats(
        collection="all",
        anonymous=sum(c.anonymous for c in per_collection),
        full=sum(c.full for c in per_collection),
        upgraded=sum(c.upgraded for c in per_collection),
        inactive=sum(c.inactive for c in per_collection),
    )
    return Dashboard(
        collections=per_collection,
        totals=totals,
        orders=order_stats(),
        inactive_days=days,
        cutoff=cutoff,
        runs=recent_runs(runs),
    )
