"""The auth service's Python API, called directly (with a request context where one is needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask import g
from flask import session
from flask_login import current_user
from sqlalchemy import Insert
from sqlalchemy.exc import OperationalError

from storefront.auth import AuthData
from storefront.auth import AuthError
from storefront.auth import service
from storefront.auth import sign_in_anonymously
from storefront.auth import sign_in_with_password
from storefront.auth import sign_in_with_token
from storefront.auth import sign_out
from storefront.auth.errors import InvalidCredentials
from storefront.auth.errors import InvalidToken
from storefront.auth.errors import StorageError
from storefront.auth.errors import UnknownCollection
from storefront.auth.models import AuthRecord
from storefront.auth.passwords import verify_password
from storefront.auth.tokens import issue_token
from storefront.auth.tokens import verify_token
from storefront.extensions import db
from storefront.models import new_id

from .auth_helpers import count_records
from .auth_helpers import is_deletion
from .auth_helpers import only_set_cookie
from .auth_helpers import set_cookies
from .factories import AUTH_COOKIE
from .factories import make_account
from .factories import PASSWORD

pytestmark = pytest.mark.usefixtures("app_ctx")

COLLECTIONS = ["users", "customers"]
RECORD_KEYS = {
    "id",
    "collectionId",
    "collectionName",
    "email",
    "emailVisibility",
    "username",
    "verified",
    "isAnonymous",
    "created",
    "updated",
}
# PocketBase's date format, which its SDKs parse.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def request_ctx(app: Flask) -> Iterator[None]:
    """A request to the catalogue, for the service functions that set the cookie."""
    with app.test_request_context("/"):
        yield


def _finish(app: Flask) -> list[str]:
    """Run the after-request hooks on an empty response; returns its Set-Cookie headers."""
    response = app.process_response(app.make_response(""))
    return response.headers.getlist("Set-Cookie")


# ---------------------------------------------------------------------------------------------------
# sign_in_anonymously


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_anonymous_record_fields(collection: str) -> None:
    auth = sign_in_anonymously(collection)
    record = auth.record

    assert re.fullmatch(r"[a-z0-9]{15}", record.id)
    assert record.email == f"anonymous-{record.id}@anonymous.invalid"
    assert record.username == f"guest-{record.id}"
    assert record.verified is False
    assert record.is_anonymous is True
    assert record.is_admin is False
    assert record.collection == collection
    # Committed: a new session still finds it.
    db.session.remove()
    stored = db.session.get(AuthRecord, record.id)
    assert stored is not None
    assert stored.collection == collection
    assert count_records(collection=collection) == 1


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_auth_data_to_dict_has_the_api_shape(collection: str) -> None:
    auth = sign_in_anonymously(collection)
    data = auth.to_dict()

    assert set(data) == {"token", "record"}
    assert data["token"] == auth.token
    record = data["record"]
    assert set(record) == RECORD_KEYS
    assert record["id"] == auth.record.id
    assert record["collectionName"] == collection
    assert record["email"] == auth.record.email
    assert record["username"] == auth.record.username
    assert record["verified"] is False
    assert record["isAnonymous"] is True
    assert TIMESTAMP.fullmatch(record["created"])
    assert TIMESTAMP.fullmatch(record["updated"])


def test_auth_data_token_names_the_record() -> None:
    auth = sign_in_anonymously("customers")
    verified, claims = verify_token(auth.token, collection="customers")
    assert verified.record.id == auth.record.id
    assert claims["collectionName"] == "customers"


def test_ids_and_emails_are_random_and_distinct() -> None:
    records = [sign_in_anonymously().record for _ in range(5)]
    assert len({record.id for record in records}) == 5
    assert len({record.email for record in records}) == 5
    assert len({record.username for record in records}) == 5
    # Not a counter: after the time prefix (the minute), the nine random characters of consecutive
    # records differ (all five sharing a character there has a chance of 36**-4).
    assert len({record.id[-1] for record in records}) > 1


def test_the_collection_is_honoured_in_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PocketPages regression: the anonymous user must be created in, and signed in from, the
    collection that was asked for (PocketPages always creates it in ``users``)."""
    calls: list[dict[str, Any]] = []
    real = service.sign_in_with_password

    def spy(email: str, password: str, collection: str = "users", **kwargs: Any) -> AuthData:
        calls.append({"email": email, "password": password, "collection": collection, **kwargs})
        return real(email, password, collection, **kwargs)

    monkeypatch.setattr(service, "sign_in_with_password", spy)
    auth = sign_in_anonymously("customers")

    assert count_records(collection="customers") == 1
    assert count_records(collection="users") == 0
    assert auth.record.collection == "customers"
    # The sign-in step used exactly the generated credentials, in the same collection.
    assert len(calls) == 1
    assert calls[0]["collection"] == "customers"
    assert calls[0]["email"] == auth.record.email
    assert len(calls[0]["password"]) == 43
    assert verify_password(auth.record.password_hash, calls[0]["password"])
    assert verify_token(auth.token, collection="customers")[0].record.id == auth.record.id


def test_the_generated_password_signs_in_to_that_collection_only(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_seen: list[str] = []
    real = service.sign_in_with_password

    def spy(email: str, password: str, collection: str = "users", **kwargs: Any) -> AuthData:
        secrets_seen.append(password)
        return real(email, password, collection, **kwargs)

    monkeypatch.setattr(service, "sign_in_with_password", spy)
    record = sign_in_anonymously("customers").record
    monkeypatch.undo()

    assert sign_in_with_password(record.email, secrets_seen[0], "customers").record.id == record.id
    with pytest.raises(InvalidCredentials):
        sign_in_with_password(record.email, secrets_seen[0], "users")


@pytest.mark.usefixtures("request_ctx")
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_anonymous_sign_in_sets_the_identity_and_the_cookie(app: Flask, collection: str) -> None:
    auth = sign_in_anonymously(collection)

    assert current_user.is_authenticated
    assert current_user.id == auth.record.id
    cookie = only_set_cookie(_finish(app))
    assert cookie.value == auth.token


def test_outside_a_request_no_cookie_is_involved() -> None:
    auth = sign_in_anonymously()
    assert auth.record.is_anonymous
    sign_out()  # a no-op without a request


@pytest.mark.usefixtures("request_ctx")
def test_set_cookie_false_leaves_the_request_identity_alone(app: Flask) -> None:
    auth = sign_in_anonymously(set_cookie=False)
    assert auth.record.is_anonymous
    assert not current_user.is_authenticated
    assert set_cookies(_finish(app)) == []


# ---------------------------------------------------------------------------------------------------
# Failures: nothing is left behind


@pytest.mark.usefixtures("request_ctx")
@pytest.mark.parametrize("target", ["issue_token", "verify_token"])
@pytest.mark.parametrize("error", [InvalidToken(), RuntimeError("boom")], ids=["auth-error", "unexpected"])
def test_a_failing_step_rolls_everything_back(
    app: Flask, monkeypatch: pytest.MonkeyPatch, target: str, error: Exception
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(service, target, fail)
    with pytest.raises(type(error)):
        sign_in_anonymously("customers")

    # Checked in the same session: a flushed but uncommitted record would still be visible here and
    # would be committed by the next commit of this request.
    assert count_records() == 0
    db.session.commit()
    db.session.remove()
    assert count_records() == 0
    assert not current_user.is_authenticated
    assert set_cookies(_finish(app)) == []


@pytest.mark.usefixtures("request_ctx")
def test_a_failing_commit_after_the_cookie_was_scheduled_rolls_back(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_commit() -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(db.session, "commit", fail_commit)
    with pytest.raises(StorageError):
        sign_in_anonymously()
    monkeypatch.undo()

    assert count_records() == 0
    assert not current_user.is_authenticated
    assert set_cookies(_finish(app)) == []


def test_a_failed_add_to_cart_leaves_no_record_and_no_cookie(
    app: Flask, monkeypatch: pytest.MonkeyPatch, products: list[int]
) -> None:
    """The same through a view: lazy mode signs in on the first add to cart."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise InvalidToken()

    monkeypatch.setattr(service, "verify_token", fail)
    response = app.test_client().post("/cart/add", data={"product_id": products[0], "quantity": 1})

    assert response.status_code == 302
    assert set_cookies(response.headers.getlist("Set-Cookie")) == []
    assert count_records() == 0


@pytest.mark.parametrize("collection", ["admins", "", "Users", "users ", "auth_records"])
def test_unknown_collection_raises_and_creates_nothing(collection: str) -> None:
    with pytest.raises(UnknownCollection) as caught:
        sign_in_anonymously(collection)
    assert caught.value.status == 404
    assert isinstance(caught.value, AuthError)
    assert caught.value.message == "There is no such account type."
    assert count_records() == 0


def test_collections_are_a_setting(app: Flask) -> None:
    app.config["AUTH_COLLECTIONS"] = ["users", "customers", "vendors"]
    assert sign_in_anonymously("vendors").record.collection == "vendors"
    app.config["AUTH_COLLECTIONS"] = ["users"]
    with pytest.raises(UnknownCollection):
        sign_in_anonymously("customers")


def _id_sequence(monkeypatch: pytest.MonkeyPatch, values: list[str]) -> list[str]:
    """Make ``new_id`` (as the service sees it) return ``values`` first; returns the log."""
    handed_out: list[str] = []
    queue = list(values)

    def fake() -> str:
        value = queue.pop(0) if queue else new_id()
        handed_out.append(value)
        return value

    monkeypatch.setattr(service, "new_id", fake)
    return handed_out


def test_an_id_collision_is_retried_with_a_new_id_and_address(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = "a" * 15
    _id_sequence(monkeypatch, [taken])
    first = sign_in_anonymously().record
    assert first.id == taken
    assert first.email == f"anonymous-{taken}@anonymous.invalid"
    db.session.remove()  # another request's record: only the database knows it

    # The other collection too: ids are unique across every auth collection.
    handed_out = _id_sequence(monkeypatch, [taken])
    second = sign_in_anonymously("customers").record

    assert handed_out[0] == taken
    assert len(handed_out) == 2
    assert second.id == handed_out[1] != taken
    assert second.email == f"anonymous-{handed_out[1]}@anonymous.invalid"
    assert count_records() == 2


def test_endless_collisions_give_a_storage_error_and_no_record(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = "b" * 15
    _id_sequence(monkeypatch, [taken])
    sign_in_anonymously()
    db.session.remove()

    _id_sequence(monkeypatch, [taken] * 10)
    with pytest.raises(StorageError):
        sign_in_anonymously()
    assert count_records() == 1


def test_a_storage_failure_is_a_storage_error_with_a_shopper_message(monkeypatch: pytest.MonkeyPatch) -> None:
    execute = db.session.execute

    def fail_inserts(statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, Insert):
            raise OperationalError("INSERT INTO auth_records ...", {}, Exception("database is locked"))
        return execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", fail_inserts)
    with pytest.raises(StorageError) as caught:
        sign_in_anonymously()
    monkeypatch.undo()

    error = caught.value
    assert error.status == 503
    assert error.message == "We could not save your account just now. Please try again in a moment."
    assert "INSERT" not in str(error) and "locked" not in str(error)
    assert count_records() == 0


# ---------------------------------------------------------------------------------------------------
# sign_in_with_password, sign_in_with_token, sign_out


def test_wrong_password_and_unknown_email_give_the_same_error() -> None:
    make_account()
    with pytest.raises(InvalidCredentials) as wrong_password:
        sign_in_with_password("shopper@example.com", "not the password")
    with pytest.raises(InvalidCredentials) as unknown_email:
        sign_in_with_password("nobody@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials) as empty:
        sign_in_with_password("", "")

    assert wrong_password.value.message == unknown_email.value.message == empty.value.message
    assert wrong_password.value.message == "The email or password is not correct."
    assert wrong_password.value.status == unknown_email.value.status == 400


def test_password_sign_in_is_per_collection() -> None:
    make_account(collection="customers")
    assert (
        sign_in_with_password("shopper@example.com", PASSWORD, "customers").record.collection == "customers"
    )
    with pytest.raises(InvalidCredentials):
        sign_in_with_password("shopper@example.com", PASSWORD, "users")
    with pytest.raises(UnknownCollection):
        sign_in_with_password("shopper@example.com", PASSWORD, "admins")


def test_password_sign_in_ignores_case_and_surrounding_space() -> None:
    record = make_account()
    assert sign_in_with_password("  Shopper@Example.COM ", PASSWORD).record.id == record.id


@pytest.mark.usefixtures("request_ctx")
def test_password_sign_in_sets_identity_cookie_and_a_fresh_session(app: Flask) -> None:
    record = make_account()
    session["planted"] = "by an attacker"
    auth = sign_in_with_password("shopper@example.com", PASSWORD)

    assert "planted" not in session
    assert current_user.id == record.id
    assert only_set_cookie(_finish(app)).value == auth.token


@pytest.mark.usefixtures("request_ctx")
def test_failed_password_sign_in_changes_nothing(app: Flask) -> None:
    make_account()
    session["kept"] = "yes"
    with pytest.raises(InvalidCredentials):
        sign_in_with_password("shopper@example.com", "wrong password")
    assert session["kept"] == "yes"
    assert not current_user.is_authenticated
    assert set_cookies(_finish(app)) == []


@pytest.mark.usefixtures("request_ctx")
def test_sign_in_with_token_makes_it_the_identity(app: Flask) -> None:
    record = make_account()
    token = issue_token(record)
    auth = sign_in_with_token(token)

    assert auth.token == token
    assert auth.record.id == record.id
    assert current_user.id == record.id
    assert only_set_cookie(_finish(app)).value == token


@pytest.mark.usefixtures("request_ctx")
def test_sign_in_with_a_bad_token_raises_and_sets_nothing(app: Flask) -> None:
    record = make_account()
    token = issue_token(record)
    record.rotate_token_key()
    db.session.commit()

    with pytest.raises(InvalidToken):
        sign_in_with_token(token)
    with pytest.raises(InvalidToken):
        sign_in_with_token(issue_token(record), collection="customers")
    assert not current_user.is_authenticated
    assert set_cookies(_finish(app)) == []


def test_sign_out_clears_the_cookie_and_the_session(app: Flask) -> None:
    record = make_account()
    token = issue_token(record)
    with app.test_request_context("/", headers={"Cookie": f"{AUTH_COOKIE}={token}"}):
        assert current_user.id == record.id
        session["cart_note"] = "something"
        sign_out()

        assert not current_user.is_authenticated
        assert dict(session) == {}
        assert g.get("_auth_cookie", "unset") is None
        cookie = only_set_cookie(_finish(app))
        assert is_deletion(cookie)
        assert cookie["path"] == "/"


def test_sign_out_without_an_identity_still_clears(app: Flask) -> None:
    with app.test_request_context("/"):
        sign_out()
        assert is_deletion(only_set_cookie(_finish(app)))
