"""The SQLite settings every connection gets (storefront.database)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text

from storefront.database import MMAP_SIZE


def _pragmas(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("foreign_keys", "busy_timeout", "journal_mode", "synchronous", "mmap_size")
            }
    finally:
        engine.dispose()


def test_a_database_file_gets_wal_and_the_memory_map(tmp_path: Path) -> None:
    assert _pragmas(f"sqlite:///{tmp_path / 'shop.sqlite'}") == {
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: in WAL mode a commit is durable once the WAL is checkpointed
        "mmap_size": MMAP_SIZE,
    }


def test_an_in_memory_database_still_enforces_foreign_keys() -> None:
    pragmas = _pragmas("sqlite://")
    assert pragmas["foreign_keys"] == 1
    assert pragmas["journal_mode"] == "memory"
