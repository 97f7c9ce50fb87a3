"""Charts of the admin dashboard, drawn on the server as SVG: no script, readable without one.

A chart is the numbers (kept for the table behind it) and the geometry of its lines, computed here so
the template only writes elements. Each series has its own colour (3:1 or more against white) and its
own dash pattern, so the lines differ without colour too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from ..auth import AuthRecord
from ..extensions import db
from ..models import utcnow
from ..shop.models import Order
from .models import CleanupRun

DAYS = 30
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
# (colour, dash pattern) of the first, second and third series.
STYLES = [("#0b5c4a", ""), ("#b45309", "6 4"), ("#1d4ed8", "2 3")]


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    colour: str
    dash: str
    points: str  # the polyline's "x,y x,y ..."

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    days: list[date]
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def summary(self) -> str:
        """One sentence for assistive technology: the totals of the period."""
        totals = ", ".join(f"{item.label.lower()}: {item.total:,}" for item in self.series)
        return f"Over the {len(self.days)} days to {self.days[-1]:%Y-%m-%d}, {totals}."


def _nice_top(value: int) -> int:
    """The smallest of 4, 8, 20, 40, 80, 200 ... at or above ``value``, so the four steps of the
    y axis are 1, 2 or 5 times a power of ten."""
    scale = 1
    while True:
        for base in (4, 8, 20):
            if base * scale >= value:
                return base * scale
        scale *= 10


def line_chart(title: str, days: list[date], named: list[tuple[str, list[int]]]) -> LineChart:
    """The geometry of a line chart of one value per day for each named series."""
    top = _nice_top(max((max(values, default=0) for _, values in named), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(days) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h - value / top * plot_h, 1)

    series = [
        Series(label, values, colour, dash, " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)))
        for (label, values), (colour, dash) in zip(named, STYLES, strict=False)
    ]
    y_ticks = [Tick(LEFT, y(top * i // 4), f"{top * i // 4:,}") for i in range(5)]
    x_ticks = [Tick(x(i), HEIGHT - 8, f"{day:%b %-d}") for i, day in enumerate(days) if i % 7 == 0]
    return LineChart(title, days, series, y_ticks, x_ticks)


def _per_day(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    since: datetime,
    *where: ColumnElement[bool],
) -> dict[str, int]:
    """How many rows per calendar day (UTC) of ``column`` from ``since`` on."""
    day = func.date(column)
    rows = db.session.execute(select(day, func.count()).where(column >= since, *where).group_by(day))
    return {str(when): int(count) for when, count in rows}


def _deleted_per_day(since: datetime) -> dict[str, int]:
    day = func.date(CleanupRun.started_at)
    rows = db.session.execute(
        select(day, func.coalesce(func.sum(CleanupRun.deleted), 0))
        .where(CleanupRun.started_at >= since, CleanupRun.dry_run.is_(False))
        .group_by(day)
    )
    return {str(when): int(count) for when, count in rows}


def activity_charts(now: datetime | None = None, days: int = DAYS) -> list[LineChart]:
    """Anonymous records created, upgraded and cleaned up per day, and orders by guests and by
    accounts per day, over the last ``days`` days (today included)."""
    today = (now or utcnow()).date()
    period = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since = datetime.combine(period[0], datetime.min.time(), tzinfo=(now or utcnow()).tzinfo)
    # Records that started anonymous: those still anonymous, and those upgraded since.
    started_anonymous = or_(AuthRecord.is_anonymous.is_(True), AuthRecord.upgraded_at.is_not(None))
    created = _per_day(AuthRecord.created, since, started_anonymous)
    upgraded = _per_day(AuthRecord.upgraded_at, since)
    cleaned = _deleted_per_day(since)
    guest_orders = _per_day(Order.created, since, Order.placed_by_anonymous.is_(True))
    account_orders = _per_day(Order.created, since, Order.placed_by_anonymous.is_(False))

    def values(counts: dict[str, int]) -> list[int]:
        return [counts.get(day.isoformat(), 0) for day in period]

    return [
        line_chart(
            "Anonymous records per day",
            period,
            [("Created", values(created)), ("Upgraded", values(upgraded)), ("Cleaned up", values(cleaned))],
        ),
        line_chart(
            "Orders per day, by guests and by accounts",
            period,
            [("Guest orders", values(guest_orders)), ("Account orders", values(account_orders))],
        ),
    ]
