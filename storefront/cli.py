"""Command-line tools: ``flask --app storefront <command>``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .admin.commands import anonymous_group
from .auth import AuthError
from .auth import create_or_promote_admin
from .auth import FieldError
from .shop.seed import seed_catalogue


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.password_option("--password", prompt="Password", help="Asked for when not given (it is not echoed).")
def create_admin_command(email: str, password: str) -> None:
    """Create an admin account EMAIL, or make an existing account an admin."""
    try:
        record, created = create_or_promote_admin(email, password)
    except (AuthError, FieldError) as error:
        raise click.ClickException(str(error)) from error
    except SQLAlchemyError as error:
        raise click.ClickException(f"Could not save the account: {error}") from error
    action = "Created" if created else "Promoted"
    click.echo(f"{action} admin {record.email} (id {record.id}) in '{record.collection}'.")


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the demo catalogue (safe to run again: nothing is duplicated)."""
    added, present = seed_catalogue()
    click.echo(f"Demo catalogue: {added} products added, {present} already there.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(anonymous_group)
