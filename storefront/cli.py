"""Command-line tools: ``flask --app storefront <command>``."""

from __future__ import annotations

import sys

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
@click.option("--password", help="The password (it stays in the shell's history: prefer the other two ways).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def create_admin_command(email: str, password: str | None, password_stdin: bool) -> None:
    """Create an admin account EMAIL, or make an existing account an admin.

    The password is asked for twice, without echo, unless --password or --password-stdin gives it.
    """
    if password is not None and password_stdin:
        raise click.UsageError("Give the password with --password or --password-stdin, not both.")
    if password_stdin:
        password = _password_from_stdin()
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
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


def _password_from_stdin() -> str:
    """The one line on standard input, without its line ending. Reading it directly (not through
    ``getpass``) is what lets a pipe or a secrets file feed it without a terminal."""
    text = sys.stdin.read()
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.UsageError("--password-stdin: standard input holds no password.")
    if "\n" in password or "\r" in password:
        raise click.UsageError("--password-stdin: standard input holds more than one line.")
    return password


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(anonymous_group)
