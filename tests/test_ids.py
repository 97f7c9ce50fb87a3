"""Record ids: PocketBase's shape, ordered by the minute they were made, random within it."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from storefront.models import new_id


def test_ids_have_pocketbase_shape() -> None:
    for _ in range(200):
        assert re.fullmatch(r"[0-9a-z]{15}", new_id())


def test_ids_sort_by_the_minute_they_were_made() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_id(at=start + timedelta(minutes=minutes)) for minutes in (0, 1, 59, 60, 60 * 24 * 400)]
    assert ids == sorted(ids)
    # The same ordering in text, as every database compares the column.
    assert ids[0][:6] < ids[1][:6] < ids[2][:6]


def test_time_prefix_spells_the_minute() -> None:
    at = datetime(2026, 11, 29, 3, 30, 59, tzinfo=UTC)
    assert int(new_id(at=at)[:6], 36) == int(at.timestamp()) // 60


def test_ids_of_one_minute_differ_in_their_random_part() -> None:
    at = datetime(2026, 11, 29, 3, 30, tzinfo=UTC)
    ids = {new_id(at=at) for _ in range(1000)}
    assert len(ids) == 1000
    assert len({value[:6] for value in ids}) == 1
    # Nine random base-36 digits: every position takes many values.
    for position in range(6, 15):
        assert len({value[position] for value in ids}) > 20
