"""The audit trail of anonymous-account cleanups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..models import Model
from ..models import utcnow


class CleanupRun(Model):
    """One cleanup, from the admin page or the CLI: who, when, the criteria, and what it did.

    ``cutoff`` is fixed when the run starts, so a run that is resumed after a reload keeps its
    criteria; each batch re-checks them against the current last activity.
    """

    __tablename__ = "cleanup_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(300))  # "admin:<email>" or "cli"
    inactive_days: Mapped[int] = mapped_column(Integer)
    collection: Mapped[str | None] = mapped_column(String(40))  # None: every collection
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batch_size: Mapped[int] = mapped_column(Integer)
    # Dry runs change nothing, so they are not recorded: this is False for every stored run.
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, finished
    # What the preview counted when the run started: the progress the admin page shows is measured
    # against it (records that come back during the run make the final count lower).
    expected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    # Matched, but own orders: the count at the start, replaced by the final count when it finishes.
    kept: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
