"""``flask --app storefront anonymous cleanup``: the admin cleanup, for cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from .cleanup import BatchResult
from .cleanup import check_batch_size
from .cleanup import CleanupError
from .cleanup import continue_run
from .cleanup import default_batch_size
from .cleanup import default_inactive_days
from .cleanup import make_criteria
from .cleanup import preview
from .cleanup import start_run

CLI_ACTOR = "cli"


@click.group("anonymous", cls=AppGroup)
def anonymous_group() -> None:
    """Anonymous (guest) records."""


@anonymous_group.command("cleanup")
@click.option(
    "--inactive-days",
    type=int,
    default=None,
    help="Delete anonymous records whose last activity is at least this many days old "
    "[default: CLEANUP_INACTIVE_DAYS, 30].",
)
@click.option(
    "--collection",
    default="all",
    show_default=True,
    help="'all', or the auth collection to clean up (users, customers).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted and kept; change nothing.")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Records deleted per transaction [default: CLEANUP_BATCH_SIZE, 500].",
)
def cleanup_command(
    inactive_days: int | None, collection: str, dry_run: bool, batch_size: int | None
) -> None:
    """Delete inactive anonymous records and their carts, in short batches.

    Records that own orders are always kept. Each run is recorded in the audit shown on the admin
    dashboard (actor "cli"); a dry run records nothing.
    """
    try:
        criteria = make_criteria(
            default_inactive_days() if inactive_days is None else inactive_days, collection
        )
        size = check_batch_size(default_batch_size() if batch_size is None else batch_size)
    except CleanupError as error:
        raise click.BadParameter(error.message, param_hint=f"'--{error.field.replace('_', '-')}'") from error

    try:
        if dry_run:
            counts = preview(criteria)
            click.echo(f"Dry run: {criteria.describe()}.")
            click.echo(
                f"Would delete {counts.to_delete:,}; would keep {counts.to_keep:,} that have orders. "
                "Nothing was changed."
            )
            return
        run = start_run(criteria, actor=CLI_ACTOR, batch_size=size)
        if run.expected:
            with click.progressbar(
                length=run.expected, label="Deleting inactive guest accounts", show_pos=True
            ) as bar:

                def advance(batch: BatchResult) -> None:
                    bar.update(batch.deleted)

                run = continue_run(run.id, on_batch=advance)
        else:
            run = continue_run(run.id)
    except SQLAlchemyError as error:
        raise click.ClickException(f"The cleanup stopped on a database error: {error}") from error

    click.echo(
        f"Deleted {run.deleted:,} and kept {run.kept:,} that have orders: {criteria.describe()}; "
        f"{run.duration_ms / 1000:.1f} s, batches of {run.batch_size:,} (cleanup run {run.id})."
    )
