"""``flask --app storefront create-admin`` and ``seed``, run the way the ``flask`` command runs them."""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from flask.cli import FlaskGroup
from flask.testing import FlaskCliRunner
from sqlalchemy import func
from sqlalchemy import select

from storefront.auth import sign_in_anonymously
from storefront.auth.errors import InvalidToken
from storefront.auth.models import AuthRecord
from storefront.auth.passwords import verify_password
from storefront.auth.service import find_record
from storefront.auth.service import sign_in_with_password
from storefront.auth.tokens import issue_token
from storefront.auth.tokens import verify_token
from storefront.extensions import db
from storefront.shop.models import Product

from .factories import make_account

ADMIN_PASSWORD = "a long admin password"


def flask(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Result:
    """Run a command through ``FlaskGroup``, as ``flask --app storefront ...`` does (it pushes the app
    context the commands rely on)."""
    return runner.invoke(FlaskGroup(), args=list(args), input=input)


def _admin(app: Flask, email: str) -> AuthRecord:
    with app.app_context():
        record = find_record("users", email)
        assert record is not None
        db.session.expunge(record)
        return record


def test_create_admin_creates_a_verified_argon2_admin(app: Flask, runner: FlaskCliRunner) -> None:
    result = flask(runner, "create-admin", "Boss@Example.com", "--password", ADMIN_PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    record = _admin(app, "boss@example.com")
    assert record.is_admin is True
    assert record.verified is True
    assert record.is_anonymous is False
    assert record.collection == "users"
    assert record.password_hash.startswith("$argon2id$")
    with app.app_context():
        assert verify_password(record.password_hash, ADMIN_PASSWORD)
        assert sign_in_with_password("boss@example.com", ADMIN_PASSWORD).record.is_admin
    assert ADMIN_PASSWORD not in result.output


def test_create_admin_asks_for_the_password_twice(app: Flask, runner: FlaskCliRunner) -> None:
    result = flask(runner, "create-admin", "boss@example.com", input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert ADMIN_PASSWORD not in result.output  # not echoed
    with app.app_context():
        record = find_record("users", "boss@example.com")
        assert record is not None and verify_password(record.password_hash, ADMIN_PASSWORD)


def test_create_admin_refuses_mismatched_passwords(app: Flask, runner: FlaskCliRunner) -> None:
    result = flask(
        runner,
        "create-admin",
        "boss@example.com",
        input=f"{ADMIN_PASSWORD}\nsomething else\n{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    # click asks again after a mismatch, then accepts the matching pair.
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    assert result.exit_code == 0


def test_create_admin_reads_the_password_from_stdin(app: Flask, runner: FlaskCliRunner) -> None:
    result = flask(
        runner, "create-admin", "boss@example.com", "--password-stdin", input=f"{ADMIN_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    # No prompt, and no getpass warning about a missing terminal.
    assert "Password" not in result.output
    assert "Warning" not in result.output
    assert ADMIN_PASSWORD not in result.output
    with app.app_context():
        record = find_record("users", "boss@example.com")
        assert record is not None and record.is_admin
        assert verify_password(record.password_hash, ADMIN_PASSWORD)


def test_create_admin_keeps_spaces_of_a_stdin_password_without_a_newline(
    app: Flask, runner: FlaskCliRunner
) -> None:
    password = "  spaces at both ends  "
    result = flask(runner, "create-admin", "boss@example.com", "--password-stdin", input=password)
    assert result.exit_code == 0, result.output
    with app.app_context():
        record = find_record("users", "boss@example.com")
        assert record is not None and verify_password(record.password_hash, password)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--password-stdin"], "", "standard input holds no password"),
        (["--password-stdin"], "\n", "standard input holds no password"),
        (["--password-stdin"], f"{ADMIN_PASSWORD}\nsecond line\n", "more than one line"),
        (["--password-stdin", "--password", ADMIN_PASSWORD], f"{ADMIN_PASSWORD}\n", "not both"),
    ],
)
def test_create_admin_refuses_an_unclear_stdin_password(
    app: Flask, runner: FlaskCliRunner, args: list[str], stdin: str, message: str
) -> None:
    result = flask(runner, "create-admin", "boss@example.com", *args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert find_record("users", "boss@example.com") is None


def test_create_admin_promotes_an_existing_account(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        record = make_account("staff@example.com")
        old_token = issue_token(record)

    result = flask(runner, "create-admin", "staff@example.com", "--password", ADMIN_PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Promoted admin staff@example.com" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuthRecord)) == 1
        promoted = find_record("users", "staff@example.com")
        assert promoted is not None
        assert promoted.is_admin is True
        assert promoted.password_hash.startswith("$argon2id$")
        assert verify_password(promoted.password_hash, ADMIN_PASSWORD)
        # The new password signs out every session of the account (a squatter included).
        with pytest.raises(InvalidToken):
            verify_token(old_token)


def test_create_admin_promotes_only_in_users(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        make_account("staff@example.com", collection="customers")
    result = flask(runner, "create-admin", "staff@example.com", "--password", ADMIN_PASSWORD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        customer = find_record("customers", "staff@example.com")
        assert customer is not None and customer.is_admin is False


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "Enter a valid email address."),
        ("boss@", "Enter a valid email address."),
        ("", "Enter a valid email address."),
        ("boss@anonymous.invalid", "reserved"),
    ],
)
def test_create_admin_refuses_a_bad_email(
    app: Flask, runner: FlaskCliRunner, email: str, message: str
) -> None:
    result = flask(runner, "create-admin", email, "--password", ADMIN_PASSWORD)
    assert result.exit_code != 0
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuthRecord)) == 0


def test_create_admin_refuses_a_short_password(app: Flask, runner: FlaskCliRunner) -> None:
    result = flask(runner, "create-admin", "boss@example.com", "--password", "short")
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    with app.app_context():
        assert find_record("users", "boss@example.com") is None


def test_create_admin_cannot_take_over_an_anonymous_record(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        guest = sign_in_anonymously().record
        email = guest.email
    result = flask(runner, "create-admin", email, "--password", ADMIN_PASSWORD)
    assert result.exit_code != 0
    with app.app_context():
        record = find_record("users", email)
        assert record is not None and not record.is_admin


def _product_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Product)) or 0)


def test_seed_is_idempotent(app: Flask, runner: FlaskCliRunner) -> None:
    first = flask(runner, "seed")
    assert first.exit_code == 0, first.output
    assert "8 products added, 0 already there" in first.output
    assert _product_count(app) == 8

    second = flask(runner, "seed")
    assert second.exit_code == 0, second.output
    assert "0 products added, 8 already there" in second.output
    assert _product_count(app) == 8


def test_seed_keeps_products_that_are_there(app: Flask, runner: FlaskCliRunner, products: list[int]) -> None:
    assert flask(runner, "seed").exit_code == 0
    assert _product_count(app) == 8 + len(products)
    with app.app_context():
        slugs = set(db.session.scalars(select(Product.slug)))
    assert {"mug", "tote", "pen"} <= slugs


def test_commands_are_listed_in_help(runner: FlaskCliRunner) -> None:
    result = flask(runner, "--help")
    assert result.exit_code == 0
    for command in ("create-admin", "seed", "db"):
        assert command in result.output
