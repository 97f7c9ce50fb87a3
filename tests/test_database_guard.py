"""The test suite changes only PostgreSQL databases that are empty or its own (``tests/databases.py``).

Each test makes a scratch database of its own on the server of ``proof_helpers.postgres_server`` and
is skipped, with the reason, when none answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from .databases import claim
from .databases import drop
from .databases import ForeignDatabase
from .databases import libpq
from .databases import main
from .databases import MARKER
from .databases import worker_database
from .proof_helpers import postgres_database
from .proof_helpers import postgres_server

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch() -> Iterator[str]:
    """An empty database nobody marked, as a developer's own would be; dropped afterwards."""
    server, reason = postgres_server()
    if server is None:
        pytest.skip(reason)
    with postgres_database(server, "storefront_guard") as url:
        yield url


def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(libpq(make_url(url)), autocommit=True) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []


def _comment(url: str) -> object:
    rows = _sql(
        url,
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()",
    )
    return rows[0][0]


def _hold_a_table_of_its_own(url: str) -> None:
    _sql(url, "CREATE TABLE mine (note text)")
    _sql(url, "INSERT INTO mine VALUES ('keep me')")


def _untouched(url: str) -> bool:
    tables = _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return (
        tables == [("mine",)] and _sql(url, "SELECT note FROM mine") == [("keep me",)] and not _comment(url)
    )


def test_a_run_on_a_database_holding_a_table_of_its_own_stops_before_touching_it(scratch: str) -> None:
    _hold_a_table_of_its_own(scratch)
    # A run of its own, as a developer would start it (pytest-xdist's variables left out, or the run
    # would take itself for one of this run's workers).
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST")}
    env["STOREFRONT_TEST_DATABASE_URL"] = scratch
    for parallel in (["-n", "2"], ["-p", "no:xdist"]):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_ids.py", "-p", "no:playwright", "-q", *parallel],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
        assert "holds tables the test suite did not make (public.mine)" in run.stderr
        assert " passed" not in run.stdout
        assert _untouched(scratch)


def test_scripts_test_is_told_no_for_a_database_holding_a_table_of_its_own(
    scratch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _hold_a_table_of_its_own(scratch)
    assert main([scratch]) == 2
    assert "did not make (public.mine)" in capsys.readouterr().err
    assert _untouched(scratch)


def test_claim_marks_an_empty_database_and_accepts_it_with_tables_afterwards(scratch: str) -> None:
    assert claim(scratch) is False  # it existed
    assert _comment(scratch) == MARKER
    # The suite's own tables, left over by an interrupted run, do not make it foreign.
    _sql(scratch, "CREATE TABLE auth_records (id text)")
    assert claim(scratch) is False


def test_claim_creates_a_missing_database_and_drop_removes_it(scratch: str) -> None:
    missing = worker_database(scratch, "gw7")
    assert make_url(missing).database == f"{make_url(scratch).database}_gw7"
    try:
        assert claim(missing) is True
        assert _comment(missing) == MARKER
        assert claim(missing) is False
    finally:
        drop(missing)
    assert claim(missing) is True  # it was gone
    drop(missing)


def test_claim_refuses_a_view_too(scratch: str) -> None:
    _sql(scratch, "CREATE VIEW answer AS SELECT 42 AS value")
    with pytest.raises(ForeignDatabase, match=r"\(public\.answer\)"):
        claim(scratch)
    assert not _comment(scratch)
