"""The two password schemes never mix: chosen passwords get argon2id, generated secrets a fast keyed hash."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

import storefront
from storefront.auth import accounts
from storefront.auth import passwords
from storefront.auth import service
from storefront.auth import sign_in_anonymously
from storefront.auth import sign_in_with_password
from storefront.auth.errors import InvalidCredentials
from storefront.auth.models import AuthRecord
from storefront.auth.passwords import FAST_PREFIX
from storefront.auth.passwords import GeneratedSecret
from storefront.auth.passwords import hash_generated_secret
from storefront.auth.passwords import hash_password
from storefront.auth.passwords import is_slow_hash
from storefront.auth.passwords import verify_password
from storefront.auth.service import sign_in_to_account

from .factories import make_account
from .factories import PASSWORD

pytestmark = pytest.mark.usefixtures("app_ctx")

CHOSEN = [
    "correct horse battery",
    "x" * 8,
    "pässwörd-ünïcödé",
    "密码密码密码密码",
    "emoji 🔑🔑🔑🔑",
    "  spaces around  ",
    "a" * 1024,
    "hmac-sha256$" + "0" * 64,  # looks like a fast hash: still a chosen password
]


@pytest.mark.parametrize("password", CHOSEN)
def test_hash_password_is_always_argon2id(password: str) -> None:
    stored = hash_password(password)
    assert stored.startswith("$argon2id$")
    assert is_slow_hash(stored)
    assert not stored.startswith(FAST_PREFIX)
    assert verify_password(stored, password)
    assert not verify_password(stored, password + "!")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(min_size=1, max_size=200))
def test_hash_password_is_argon2id_for_any_text(password: str) -> None:
    stored = hash_password(password)
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, password)


def test_hash_password_uses_the_configured_cost(app: Flask) -> None:
    stored = hash_password("correct horse battery")
    expected = "m={ARGON2_MEMORY_COST},t={ARGON2_TIME_COST},p={ARGON2_PARALLELISM}".format(**app.config)
    assert f"$v=19${expected}$" in stored


def test_hash_password_salts_every_hash() -> None:
    assert hash_password("same password") != hash_password("same password")


@pytest.mark.parametrize("bad", ["", None, b"bytes"])
def test_hash_password_refuses_an_empty_or_non_text_password(bad: object) -> None:
    with pytest.raises(ValueError):
        hash_password(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("chosen", ["correct horse battery", "", "x" * 43])
def test_fast_hash_refuses_plain_strings(chosen: str) -> None:
    with pytest.raises(TypeError):
        hash_generated_secret(chosen)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [None, object(), "token"])
def test_generated_secret_cannot_be_built_from_a_chosen_value(token: object) -> None:
    with pytest.raises(TypeError):
        GeneratedSecret("my chosen password", token)
    with pytest.raises(TypeError):
        GeneratedSecret("my chosen password")


def test_generated_secret_has_256_bits_and_hides_itself() -> None:
    first, second = GeneratedSecret.generate(), GeneratedSecret.generate()
    assert first.reveal() != second.reveal()
    assert len(first.reveal()) == 43  # 32 bytes, base64url without padding
    assert first.reveal() not in repr(first)


def test_fast_hash_is_keyed_and_verifies(app: Flask) -> None:
    secret = GeneratedSecret.generate()
    stored = hash_generated_secret(secret)
    assert stored.startswith(FAST_PREFIX)
    assert re.fullmatch(r"hmac-sha256\$[0-9a-f]{64}", stored)
    assert not is_slow_hash(stored)
    assert verify_password(stored, secret.reveal())
    assert not verify_password(stored, secret.reveal()[:-1])
    # Keyed with the app secret: a copied database alone cannot check a guess.
    app.config["SECRET_KEY"] = "another-secret-key-that-is-long-enough-for-hs256"
    assert not verify_password(stored, secret.reveal())


@pytest.mark.parametrize("collection", ["users", "customers"])
def test_anonymous_records_get_the_fast_hash(collection: str) -> None:
    record = sign_in_anonymously(collection).record
    assert record.password_hash.startswith(FAST_PREFIX)
    assert not is_slow_hash(record.password_hash)


def test_anonymous_sign_in_never_runs_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_argon2() -> None:
        raise AssertionError("argon2 used for an anonymous sign-in")

    monkeypatch.setattr(passwords, "_argon2", no_argon2)
    assert sign_in_anonymously().record.is_anonymous


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "!unusable", "scrypt:32768:8:1$salt$abcdef", "$argon2id$broken", FAST_PREFIX],
)
def test_verify_password_is_false_for_unusable_hashes(stored: str) -> None:
    assert verify_password(stored, "anything at all") is False


# Every function of storefront.auth.accounts that takes a password, and how to call it so that it
# stores one. A new function with a password parameter fails the coverage test below until it is
# listed here (None: it checks the password but stores nothing).
def _create_account(password: str) -> AuthRecord:
    return accounts.create_account("new@example.com", password)


def _create_admin(password: str) -> AuthRecord:
    return accounts.create_or_promote_admin("admin@example.com", password)[0]


def _promote_admin(password: str) -> AuthRecord:
    make_account("existing@example.com")
    return accounts.create_or_promote_admin("existing@example.com", password)[0]


STORING_PATHS: dict[str, list[Callable[[str], AuthRecord]] | None] = {
    "create_account": [_create_account],
    "create_or_promote_admin": [_create_admin, _promote_admin],
    "check_password_policy": None,
}


def _functions_taking_a_password() -> set[str]:
    names = set()
    for name, function in inspect.getmembers(accounts, inspect.isfunction):
        if function.__module__ != accounts.__name__:
            continue
        if any("password" in parameter for parameter in inspect.signature(function).parameters):
            names.add(name)
    return names


def test_every_password_taking_function_of_accounts_is_covered() -> None:
    assert _functions_taking_a_password() == set(STORING_PATHS)


@pytest.mark.parametrize(
    "store",
    [path for paths in STORING_PATHS.values() if paths for path in paths],
    ids=lambda path: path.__name__.lstrip("_"),
)
def test_chosen_passwords_get_argon2id_on_every_path(
    store: Callable[[str], AuthRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fast_digest = passwords._fast_digest
    fast_hashed: list[str] = []

    def spy_fast_digest(value: str) -> str:
        fast_hashed.append(value)
        return real_fast_digest(value)

    monkeypatch.setattr(passwords, "_fast_digest", spy_fast_digest)
    record = store("a chosen password")

    assert record.password_hash.startswith("$argon2id$")
    assert verify_password(record.password_hash, "a chosen password")
    assert "a chosen password" not in fast_hashed


def test_fast_hash_is_only_called_by_the_anonymous_sign_in() -> None:
    """A source check on top of the type guard: nothing but the anonymous sign-in hashes with the
    fast scheme."""
    package = Path(storefront.__file__).parent
    callers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "hash_generated_secret(" in path.read_text(encoding="utf-8")
    }
    assert callers == {"auth/passwords.py", "auth/service.py"}


def test_unknown_email_still_runs_one_dummy_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_dummy = passwords.dummy_verify

    def spy(candidate: str) -> None:
        calls.append(candidate)
        real_dummy(candidate)

    monkeypatch.setattr(service, "dummy_verify", spy)
    with pytest.raises(InvalidCredentials):
        sign_in_with_password("nobody@example.com", "some password")
    assert calls == ["some password"]


def test_wrong_password_runs_the_real_verification_not_the_dummy(monkeypatch: pytest.MonkeyPatch) -> None:
    make_account()
    dummy_calls: list[str] = []
    verify_calls: list[str] = []
    real_verify = passwords.verify_password

    def spy_verify(stored: str, candidate: str) -> bool:
        verify_calls.append(candidate)
        return real_verify(stored, candidate)

    monkeypatch.setattr(service, "dummy_verify", dummy_calls.append)
    monkeypatch.setattr(service, "verify_password", spy_verify)
    with pytest.raises(InvalidCredentials):
        sign_in_with_password("shopper@example.com", "wrong password")
    assert verify_calls == ["wrong password"]
    assert dummy_calls == []


def test_empty_password_runs_the_dummy_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    make_account()
    calls: list[str] = []
    monkeypatch.setattr(service, "dummy_verify", calls.append)
    with pytest.raises(InvalidCredentials):
        sign_in_with_password("shopper@example.com", "")
    assert calls == [""]


def test_login_page_sign_in_costs_one_verification_per_collection(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known and unknown emails do the same amount of hashing (ASVS 6.3.8: no timing oracle)."""
    make_account()
    work: list[str] = []
    real_verify = passwords.verify_password
    monkeypatch.setattr(service, "dummy_verify", lambda candidate: work.append("dummy"))

    def spy_verify(stored: str, candidate: str) -> bool:
        work.append("real")
        return real_verify(stored, candidate)

    monkeypatch.setattr(service, "verify_password", spy_verify)
    collections = len(app.config["AUTH_COLLECTIONS"])
    for email, password in [
        ("shopper@example.com", "wrong password"),
        ("nobody@example.com", "wrong password"),
    ]:
        work.clear()
        with pytest.raises(InvalidCredentials):
            sign_in_to_account(email, password)
        assert len(work) == collections

    work.clear()
    assert sign_in_to_account("shopper@example.com", PASSWORD).record.email == "shopper@example.com"
    assert work == ["real"]


def test_dummy_hash_is_a_real_argon2id_hash(app: Flask) -> None:
    passwords.dummy_verify("anything")
    dummy = app.extensions["_storefront_dummy_hash"]
    assert dummy.startswith("$argon2id$")
