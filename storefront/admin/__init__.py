"""The admin area: the dashboard and the cleanup of idle guests, for the page and the CLI."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Check the cleanup settings (a mistake fails at start, not on the admin's first click) and
    register the blueprint."""
    from ..config import check_whole_number
    from . import cleanup
    from . import models  # noqa: F401  (its table, for Alembic)
    from . import views

    check_whole_number(app, "CLEANUP_INACTIVE_DAYS", cleanup.MIN_INACTIVE_DAYS, cleanup.MAX_INACTIVE_DAYS)
    check_whole_number(app, "CLEANUP_BATCH_SIZE", cleanup.MIN_BATCH_SIZE, cleanup.MAX_BATCH_SIZE)
    budget = app.config["CLEANUP_TIME_BUDGET"]
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0:
        raise RuntimeError(f"CLEANUP_TIME_BUDGET must be a number of seconds (0 or more), not {budget!r}.")
    app.register_blueprint(views.bp)
