"""The dashboard's charts: per-day figures of the last 30 days, drawn as SVG on the server."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from storefront.admin import cleanup
from storefront.admin.charts import activity_charts
from storefront.admin.charts import line_chart
from storefront.auth.models import AuthRecord
from storefront.extensions import db
from storefront.models import utcnow

from .factories import make_account
from .factories import make_admin
from .factories import make_guest
from .factories import make_order
from .factories import use_identity


def test_activity_is_counted_per_day(app: Flask) -> None:
    now = utcnow().replace(hour=12)
    with app.app_context():
        for days_ago in (0, 0, 3):
            make_guest(created=now - timedelta(days=days_ago), last_active=now)
        old = make_guest(created=now - timedelta(days=45), last_active=now - timedelta(days=40))
        buyer = make_guest(created=now - timedelta(days=3), last_active=now)
        make_order(buyer)
        upgraded = make_account("converted@example.com")
        db.session.execute(
            update(AuthRecord)
            .where(AuthRecord.id == upgraded.id)
            .values(created=now - timedelta(days=5), upgraded_at=now - timedelta(days=1))
        )
        make_order(db.session.get(AuthRecord, upgraded.id))  # type: ignore[arg-type]
        make_account("regular@example.com")  # never anonymous: not in the chart
        db.session.commit()
        run = cleanup.start_run(cleanup.make_criteria(30), "cli")
        cleanup.continue_run(run.id, deadline=None)
        assert old.id  # deleted by the run above

        records, orders = activity_charts(now=now)

    assert [len(s.values) for s in records.series] == [30, 30, 30]
    created, upgraded_series, cleaned = records.series
    assert created.values[-1] == 2 and created.values[-4] == 2 and created.values[-6] == 1
    assert created.total == 5  # the deleted guest was made 45 days ago, and is gone anyway
    assert upgraded_series.values[-2] == 1 and upgraded_series.total == 1
    assert cleaned.values[-1] == 1 and cleaned.total == 1
    guest, account = orders.series
    assert (guest.total, account.total) == (1, 1)
    assert records.days[-1] == now.date() and records.days[0] == now.date() - timedelta(days=29)


def test_the_geometry_fits_the_box_and_the_axis_is_round() -> None:
    today = utcnow().date()
    days = [today - timedelta(days=29 - i) for i in range(30)]
    chart = line_chart("Test", days, [("A", [0] * 29 + [13])])
    assert [tick.label for tick in chart.y_ticks] == ["0", "5", "10", "15", "20"]
    points = [tuple(map(float, p.split(","))) for p in chart.series[0].points.split()]
    assert len(points) == 30
    assert all(0 <= x <= chart.width and 0 <= y <= chart.height for x, y in points)
    assert "a: 13" in chart.summary


def test_dashboard_draws_accessible_charts_with_their_numbers(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_guest(last_active=utcnow())
        use_identity(client, make_admin())
    html = client.get("/admin").data.decode()
    svgs = re.findall(r'<svg class="chart"[^>]*role="img" aria-labelledby="([^"]+)"', html)
    assert len(svgs) == 2
    assert '<title id="chart-1-title">Anonymous records per day, last 30 days</title>' in html
    assert "Orders per day, by guests and by accounts" in html
    assert html.count('<details class="numbers">') == 2
    assert "<script" not in html
