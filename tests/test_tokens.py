"""Auth tokens: every way a token can be wrong is refused (ASVS 9.1.1, 9.2.1, 9.2.2, 7.4.1)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import delete

from storefront.auth import sign_in_anonymously
from storefront.auth.errors import AuthError
from storefront.auth.errors import InvalidToken
from storefront.auth.errors import TokenExpired
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import _signing_key
from storefront.auth.tokens import AUTH_TYPE
from storefront.auth.tokens import issue_token
from storefront.auth.tokens import VERIFICATION_TYPE
from storefront.auth.tokens import verify_token
from storefront.extensions import db
from storefront.models import utcnow

from .conftest import listening
from .factories import make_account

pytestmark = pytest.mark.usefixtures("app_ctx")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return payload


def _anonymous(collection: str = "users") -> AuthRecord:
    return sign_in_anonymously(collection).record


def _good_claims(record: AuthRecord, **changes: Any) -> dict[str, Any]:
    now = utcnow()
    claims: dict[str, Any] = {
        "id": record.id,
        "type": AUTH_TYPE,
        "collectionName": record.collection,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def test_a_fresh_token_verifies_and_names_its_record() -> None:
    record = _anonymous()
    token = issue_token(record)

    verified, claims = verify_token(token)

    assert verified.record.id == record.id
    assert claims["id"] == record.id
    assert claims["type"] == "auth"
    assert claims["collectionName"] == "users"
    assert verified.expires_at > verified.issued_at
    assert verify_token(token, collection="users")[0].record.id == record.id


def test_token_lifetime_follows_the_setting(app: Flask) -> None:
    record = _anonymous()
    claims = _claims(issue_token(record))
    assert claims["exp"] - claims["iat"] == app.config["AUTH_TOKEN_LIFETIME"].total_seconds()


def test_two_tokens_for_one_record_differ() -> None:
    # Every sign-in and refresh must hand out a new token (ASVS 7.2.4), even within one second.
    record = _anonymous()
    assert issue_token(record) != issue_token(record)


def test_token_does_not_leak_the_record_secrets() -> None:
    record = _anonymous()
    payload = _unb64(issue_token(record).split(".")[1]).decode()
    assert record.token_key not in payload
    assert record.password_hash not in payload
    assert record.email not in payload


def test_flipped_signature_character_is_refused() -> None:
    token = issue_token(_anonymous())
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    with pytest.raises(InvalidToken):
        verify_token(tampered)


def test_changed_payload_is_refused() -> None:
    token = issue_token(_anonymous())
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["exp"] += 365 * 24 * 3600  # try to live for another year
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        verify_token(forged)


def test_token_of_one_record_cannot_be_moved_to_another() -> None:
    victim = _anonymous()
    attacker = _anonymous()
    header, _payload, signature = issue_token(attacker).split(".")
    claims = _claims(issue_token(attacker))
    claims["id"] = victim.id
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        verify_token(forged)


def test_claim_naming_another_record_under_the_attackers_key_is_refused() -> None:
    victim = _anonymous()
    attacker = _anonymous()
    forged = jwt.encode(_good_claims(victim), _signing_key(attacker, AUTH_TYPE), algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(forged)


def test_expired_token_raises_token_expired() -> None:
    token = issue_token(_anonymous(), lifetime=timedelta(seconds=-1))
    with pytest.raises(TokenExpired) as caught:
        verify_token(token)
    assert caught.value.status == 401
    assert "expired" in caught.value.message


def test_verification_token_is_not_an_auth_token() -> None:
    record = _anonymous()
    token = issue_token(record, token_type=VERIFICATION_TYPE)
    with pytest.raises(InvalidToken):
        verify_token(token)
    # ... while it is accepted for its own purpose.
    assert verify_token(token, token_type=VERIFICATION_TYPE)[0].record.id == record.id


def test_auth_token_is_not_a_verification_token() -> None:
    token = issue_token(_anonymous())
    with pytest.raises(InvalidToken):
        verify_token(token, token_type=VERIFICATION_TYPE)


def test_type_claim_is_checked_even_under_the_right_key() -> None:
    record = _anonymous()
    forged = jwt.encode(
        _good_claims(record, type=VERIFICATION_TYPE), _signing_key(record, AUTH_TYPE), algorithm="HS256"
    )
    with pytest.raises(InvalidToken):
        verify_token(forged)


def test_token_of_a_users_record_is_refused_for_customers() -> None:
    token = issue_token(_anonymous("users"))
    with pytest.raises(InvalidToken):
        verify_token(token, collection="customers")


def test_forged_collection_claim_is_refused() -> None:
    record = _anonymous("users")
    forged = issue_token(record, extra={"collectionName": "customers"})
    assert _claims(forged)["collectionName"] == "customers"
    with pytest.raises(InvalidToken):
        verify_token(forged)
    with pytest.raises(InvalidToken):
        verify_token(forged, collection="customers")


def test_rotating_the_token_key_revokes_older_tokens() -> None:
    record = _anonymous()
    old = issue_token(record)
    record.rotate_token_key()
    db.session.commit()

    with pytest.raises(InvalidToken):
        verify_token(old)
    assert verify_token(issue_token(record))[0].record.id == record.id


def test_token_of_a_deleted_record_is_refused() -> None:
    record = _anonymous()
    token = issue_token(record)
    db.session.delete(record)
    db.session.commit()
    with pytest.raises(InvalidToken):
        verify_token(token)


def test_token_of_a_record_deleted_elsewhere_is_refused_when_the_session_copy_is_expired() -> None:
    """The session still holds the record, expired (as a rollback leaves it): the row is read again."""
    record = _anonymous()
    token = issue_token(record)
    with db.engine.begin() as other:  # another connection (a cleanup batch) deletes it
        other.execute(delete(AuthRecord).where(AuthRecord.id == record.id))
    db.session.expire(record)
    with pytest.raises(InvalidToken):
        verify_token(token)


def test_token_of_a_record_the_session_holds_is_checked_without_a_query() -> None:
    record = _anonymous()
    token = issue_token(record)
    statements: list[str] = []

    def record_statement(*args: Any) -> None:
        statements.append(args[2])

    with listening(db.engine, "before_cursor_execute", record_statement):
        assert verify_token(token)[0].record is record
    assert statements == []


def test_token_signed_under_another_app_secret_is_refused(app: Flask) -> None:
    record = make_account()
    token = issue_token(record)
    app.config["SECRET_KEY"] = "another-secret-key-that-is-long-enough-for-hs256"
    with pytest.raises(InvalidToken):
        verify_token(token)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "not a token",
        "a.b.c",
        "...",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "ü.ö.ä",
        "\x00\x01\x02",
        "Bearer abc.def.ghi",
        "x" * 10_000,
    ],
)
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage)


@pytest.mark.parametrize("not_a_string", [None, 42, b"abc.def.ghi", ["a"]])
def test_non_strings_are_refused(not_a_string: Any) -> None:
    with pytest.raises(InvalidToken):
        verify_token(not_a_string)


def test_alg_none_token_is_refused() -> None:
    record = _anonymous()
    unsigned = jwt.encode(_good_claims(record), None, algorithm="none")
    assert unsigned.endswith(".")
    with pytest.raises(InvalidToken):
        verify_token(unsigned)


def test_other_hmac_algorithm_under_the_right_key_is_refused() -> None:
    record = _anonymous()
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT notes the 32-byte key is short for SHA-512
        other = jwt.encode(_good_claims(record), _signing_key(record, AUTH_TYPE), algorithm="HS512")
    with pytest.raises(InvalidToken):
        verify_token(other)


@pytest.mark.parametrize("missing", ["exp", "iat", "type", "collectionName"])
def test_token_missing_a_required_claim_is_refused(missing: str) -> None:
    record = _anonymous()
    claims = _good_claims(record)
    del claims[missing]
    token = jwt.encode(claims, _signing_key(record, AUTH_TYPE), algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(token)


@pytest.mark.parametrize("record_id", [None, 12345, ["x"], {"x": 1}, "x" * 16, "no-such-record"])
def test_odd_record_ids_are_refused(record_id: Any) -> None:
    claims = {"id": record_id, "type": AUTH_TYPE, "collectionName": "users", "iat": 0, "exp": 2**40}
    token = jwt.encode(claims, "whatever-key-that-is-long-enough-for-hs256!", algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(token)


def test_overlong_token_is_refused_even_when_correctly_signed() -> None:
    record = _anonymous()
    token = issue_token(record, extra={"pad": "x" * 5000})
    assert len(token) > 4096
    with pytest.raises(InvalidToken):
        verify_token(token)


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda record: issue_token(record, lifetime=timedelta(seconds=-1)),
        lambda record: issue_token(record, token_type=VERIFICATION_TYPE),
        lambda record: issue_token(record) + "x",
    ],
)
def test_every_refusal_is_an_auth_error_with_a_shopper_message(make_bad: Callable[[AuthRecord], str]) -> None:
    with pytest.raises(AuthError) as caught:
        verify_token(make_bad(_anonymous()))
    assert isinstance(caught.value, InvalidToken)
    assert caught.value.status == 401
    assert caught.value.message.startswith("Your sign-in")
