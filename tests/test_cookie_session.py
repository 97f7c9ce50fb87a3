"""The auth cookie and the session: flags (ASVS 3.3.x), renewal on every change of identity (7.2.4),
refusal of bad tokens, sliding refresh, and the production settings."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import Update
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from storefront import create_app
from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.auth.tokens import verify_token
from storefront.config import load_config
from storefront.extensions import db
from storefront.models import utcnow

from .auth_helpers import count_records
from .auth_helpers import is_deletion
from .auth_helpers import only_set_cookie
from .auth_helpers import plant_session
from .auth_helpers import planted_session_survives
from .auth_helpers import set_cookies
from .conftest import csrf_token_from
from .conftest import sign_in
from .factories import AUTH_COOKIE
from .factories import auth_cookie
from .factories import make_account
from .factories import PASSWORD
from .factories import SECURE_AUTH_COOKIE


def _cookies(response: TestResponse, name: str = AUTH_COOKIE) -> list[Any]:
    return set_cookies(response.headers.getlist("Set-Cookie"), name)


def _add_to_cart(client: FlaskClient, product_id: int) -> TestResponse:
    return client.post("/cart/add", data={"product_id": product_id, "quantity": 1})


def _token_for(app: Flask, record_id: str, **kwargs: Any) -> str:
    with app.app_context():
        return issue_token(db.session.get_one(AuthRecord, record_id), **kwargs)


def _assert_flags(morsel: Any, app: Flask, secure: bool) -> None:
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""  # host-only
    assert bool(morsel["secure"]) is secure
    assert int(morsel["max-age"]) == int(app.config["AUTH_TOKEN_LIFETIME"].total_seconds())
    assert len(morsel.OutputString()) < 4096


# ---------------------------------------------------------------------------------------------------
# Flags


def test_anonymous_sign_in_cookie_flags(app: Flask, client: FlaskClient, products: list[int]) -> None:
    response = _add_to_cart(client, products[0])
    cookie = only_set_cookie(response.headers.getlist("Set-Cookie"))
    _assert_flags(cookie, app, secure=False)
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert verify_token(cookie.value)[0].record.is_anonymous


def test_password_sign_in_cookie_flags(app: Flask, client: FlaskClient, account: str) -> None:
    response = sign_in(client)
    assert response.status_code == 302
    cookie = only_set_cookie(response.headers.getlist("Set-Cookie"))
    _assert_flags(cookie, app, secure=False)
    with app.app_context():
        assert verify_token(cookie.value)[0].record.id == account


def test_the_session_cookie_is_httponly_and_lax(client: FlaskClient, account: str) -> None:
    response = sign_in(client)
    session_cookie = only_set_cookie(response.headers.getlist("Set-Cookie"), "session")
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"


def test_cookie_lifetime_follows_the_token_lifetime(app: Flask, client: FlaskClient, account: str) -> None:
    app.config["AUTH_TOKEN_LIFETIME"] = timedelta(hours=3)
    cookie = only_set_cookie(sign_in(client).headers.getlist("Set-Cookie"))
    assert cookie["max-age"] == str(3 * 3600)
    with app.app_context():
        verified = verify_token(cookie.value)[0]
    assert verified.expires_at - verified.issued_at == timedelta(hours=3)


class TestSecureCookie:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"AUTH_COOKIE_SECURE": True}

    def test_secure_cookie_gets_the_host_prefix(self, app: Flask, client: FlaskClient, account: str) -> None:
        response = sign_in(client)
        assert _cookies(response, AUTH_COOKIE) == []
        cookie = only_set_cookie(response.headers.getlist("Set-Cookie"), SECURE_AUTH_COOKIE)
        _assert_flags(cookie, app, secure=True)

    def test_secure_cookie_is_read_and_cleared_under_its_name(
        self, client: FlaskClient, account: str
    ) -> None:
        sign_in(client)
        assert auth_cookie(client, SECURE_AUTH_COOKIE)
        assert client.get("/account").status_code == 200  # signed in through the __Host- cookie
        client.set_cookie(SECURE_AUTH_COOKIE, "garbage")
        cleared = only_set_cookie(client.get("/").headers.getlist("Set-Cookie"), SECURE_AUTH_COOKIE)
        assert is_deletion(cleared)
        assert cleared["secure"] is True

    def test_an_unprefixed_cookie_is_ignored(self, app: Flask, client: FlaskClient, account: str) -> None:
        # A cookie without the prefix may have been planted by a sibling (sub)domain or over HTTP.
        client.set_cookie(AUTH_COOKIE, _token_for(app, account))
        assert b"Sign out" not in client.get("/").data


# ---------------------------------------------------------------------------------------------------
# Production settings


@pytest.fixture
def bare_app(tmp_path: Path) -> Flask:
    """An app object with an instance folder of its own, to load settings into."""
    return Flask(
        "storefront_config_test", instance_path=str(tmp_path / "instance"), instance_relative_config=True
    )


def test_production_turns_secure_cookies_on(bare_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "a-production-secret-key-from-the-environment")
    load_config(bare_app, None)
    config = bare_app.config
    assert config["PRODUCTION"] is True
    assert config["AUTH_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SECRET_KEY"] == "a-production-secret-key-from-the-environment"
    assert config["PREFERRED_URL_SCHEME"] == "https"


def test_production_refuses_to_start_without_a_secret_key(
    bare_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="STOREFRONT_SECRET_KEY"):
        load_config(bare_app, None)
    assert not (Path(bare_app.instance_path) / "secret_key").exists()


def test_production_refuses_an_empty_secret_key(bare_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "")
    with pytest.raises(RuntimeError):
        load_config(bare_app, None)


def test_create_app_in_production_sets_host_prefixed_secure_cookies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "a-production-secret-key-from-the-environment")
    monkeypatch.setenv("STOREFRONT_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    monkeypatch.setenv("STOREFRONT_ARGON2_MEMORY_COST", "64")
    monkeypatch.setenv("STOREFRONT_ARGON2_TIME_COST", "1")
    app = create_app(None)
    try:
        with app.app_context():
            db.create_all()
            make_account()
        # Behind the one trusted proxy of the production settings, the scheme comes from it; CSRF is on
        # and, over HTTPS, wants a same-origin Referer.
        client = app.test_client()
        proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        token = csrf_token_from(client.get("/login", headers=proxy).data)
        response = client.post(
            "/login",
            data={"email": "shopper@example.com", "password": PASSWORD, "csrf_token": token},
            headers={**proxy, "Referer": "https://localhost/login"},
        )
        assert response.status_code == 302, response.data
        cookie = only_set_cookie(response.headers.getlist("Set-Cookie"), SECURE_AUTH_COOKIE)
        _assert_flags(cookie, app, secure=True)
        session_cookie = only_set_cookie(response.headers.getlist("Set-Cookie"), "session")
        assert session_cookie["secure"] is True
    finally:
        with app.app_context():
            db.engine.dispose()


def test_environment_settings_are_read_and_durations_are_seconds(
    bare_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREFRONT_ENV", raising=False)
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("STOREFRONT_AUTH_TOKEN_LIFETIME", "3600")
    monkeypatch.setenv("STOREFRONT_AUTH_COOKIE_SECURE", "true")
    monkeypatch.setenv("STOREFRONT_ANONYMOUS_RATE_LIMIT", "30 per hour")
    load_config(bare_app, None)
    assert bare_app.config["PRODUCTION"] is False
    assert bare_app.config["AUTH_TOKEN_LIFETIME"] == timedelta(hours=1)
    assert bare_app.config["AUTH_COOKIE_SECURE"] is True
    assert bare_app.config["ANONYMOUS_RATE_LIMIT"] == "30 per hour"


def test_instance_config_file_is_read(bare_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREFRONT_ENV", raising=False)
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    instance = Path(bare_app.instance_path)
    instance.mkdir(parents=True)
    (instance / "config.py").write_text('SECRET_KEY = "from-the-instance-folder"\nAUTH_TOKEN_LIFETIME = 60\n')
    load_config(bare_app, None)
    assert bare_app.config["SECRET_KEY"] == "from-the-instance-folder"
    assert bare_app.config["AUTH_TOKEN_LIFETIME"] == timedelta(minutes=1)


def test_development_defaults_are_safe_for_a_demo(bare_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREFRONT_ENV", raising=False)
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    load_config(bare_app, None)
    config = bare_app.config
    assert config["AUTH_COOKIE_SECURE"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    # A random key, kept in the instance folder for the next start and readable by the owner only.
    key_file = Path(bare_app.instance_path) / "secret_key"
    assert config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(config["SECRET_KEY"]) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = Flask("again", instance_path=bare_app.instance_path, instance_relative_config=True)
    load_config(again, None)
    assert again.config["SECRET_KEY"] == config["SECRET_KEY"]


def test_workers_starting_together_share_one_development_key(
    bare_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes that both find no key file must not end up with a key each (cookies signed by
    one worker would be refused by the other)."""
    monkeypatch.delenv("STOREFRONT_ENV", raising=False)
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    instance = Path(bare_app.instance_path)
    instance.mkdir(parents=True)
    key_file = instance / "secret_key"
    real_exists = Path.exists

    def first_worker_wins_the_race(path: Path) -> bool:
        # This process checked before the other one wrote its key, which lands right after the check.
        if path == key_file and not real_exists(path):
            path.write_text("the-key-of-the-worker-that-was-first")
            return False
        return real_exists(path)

    monkeypatch.setattr(Path, "exists", first_worker_wins_the_race)
    load_config(bare_app, None)
    assert bare_app.config["SECRET_KEY"] == "the-key-of-the-worker-that-was-first"
    assert [path.name for path in instance.iterdir()] == ["secret_key"]  # no temporary file left


# ---------------------------------------------------------------------------------------------------
# Session renewal (no fixation)


def test_login_renews_the_session(client: FlaskClient, account: str) -> None:
    """Modelled on Django's test_login_session_without_hash_session_key."""
    plant_session(client)
    assert sign_in(client).status_code == 302
    assert not planted_session_survives(client)


def test_failed_login_does_not_sign_in(client: FlaskClient, account: str) -> None:
    response = sign_in(client, password="not the password")
    assert _cookies(response) == []
    assert b"The email or password is not correct." in response.data


def test_sign_out_renews_the_session_and_clears_the_cookie(client: FlaskClient, account: str) -> None:
    sign_in(client)
    plant_session(client)
    response = client.post("/logout")
    assert response.status_code == 302
    assert is_deletion(only_set_cookie(response.headers.getlist("Set-Cookie")))
    assert not planted_session_survives(client)
    assert auth_cookie(client) is None


def test_anonymous_sign_in_renews_the_session(client: FlaskClient, products: list[int]) -> None:
    plant_session(client)
    response = _add_to_cart(client, products[0])
    assert only_set_cookie(response.headers.getlist("Set-Cookie")).value
    assert not planted_session_survives(client)


def test_every_sign_in_hands_out_a_new_token(client: FlaskClient, account: str) -> None:
    sign_in(client)
    first = auth_cookie(client)
    client.post("/logout")
    sign_in(client)
    assert auth_cookie(client) not in (None, first)


class TestCsrfRotation:
    """Django's test_login_csrf_rotate: the CSRF token of the anonymous session does not survive."""

    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_login_rotates_the_csrf_token(self, client: FlaskClient, account: str) -> None:
        before = csrf_token_from(client.get("/login").data)
        response = client.post(
            "/login",
            data={"email": "shopper@example.com", "password": PASSWORD, "csrf_token": before},
        )
        assert response.status_code == 302
        with client.session_transaction() as session:
            assert "csrf_token" not in session
        after = csrf_token_from(client.get("/").data)
        assert after != before
        # The old token no longer passes.
        assert client.post("/logout", data={"csrf_token": before}).status_code == 400
        assert client.post("/logout", data={"csrf_token": after}).status_code == 302

    def test_sign_out_needs_a_csrf_token(self, client: FlaskClient, account: str) -> None:
        token = csrf_token_from(client.get("/login").data)
        client.post(
            "/login", data={"email": "shopper@example.com", "password": PASSWORD, "csrf_token": token}
        )
        response = client.post("/logout")
        assert response.status_code == 400
        assert _cookies(response) == []
        assert auth_cookie(client)


# ---------------------------------------------------------------------------------------------------
# Bad cookies mean signed out, and are cleared


def _bad_tokens(app: Flask, record_id: str) -> dict[str, str]:
    with app.app_context():
        record = db.session.get_one(AuthRecord, record_id)
        tokens = {
            "garbage": "not-a-token",
            "tampered": issue_token(record)[:-3] + "abc",
            "expired": issue_token(record, lifetime=timedelta(seconds=-1)),
            "wrong type": issue_token(record, token_type="verification"),
        }
        revoked = issue_token(record)
        record.rotate_token_key()
        db.session.commit()
        tokens["revoked"] = revoked
    return tokens


@pytest.mark.parametrize("kind", ["garbage", "tampered", "expired", "wrong type", "revoked"])
def test_a_bad_cookie_means_signed_out_and_is_cleared(
    app: Flask, client: FlaskClient, account: str, kind: str
) -> None:
    client.set_cookie(AUTH_COOKIE, _bad_tokens(app, account)[kind])
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign out" not in response.data
    assert is_deletion(only_set_cookie(response.headers.getlist("Set-Cookie")))
    assert response.headers["Cache-Control"] == "no-store"
    assert auth_cookie(client) is None
    assert client.get("/account").status_code == 302  # sent to sign in


def test_a_cookie_of_a_deleted_record_is_cleared(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    _add_to_cart(client, products[0])
    token = auth_cookie(client)
    assert token
    with app.app_context():
        record_id = verify_token(token)[0].record.id
        db.session.delete(db.session.get_one(AuthRecord, record_id))
        db.session.commit()
    response = client.get("/")
    assert is_deletion(only_set_cookie(response.headers.getlist("Set-Cookie")))
    assert b"shopping as a guest" not in response.data


# ---------------------------------------------------------------------------------------------------
# Sliding refresh


def test_an_old_cookie_is_replaced_by_a_new_one(app: Flask, client: FlaskClient, account: str) -> None:
    refresh_after = app.config["AUTH_TOKEN_REFRESH_AFTER"]
    old = _token_for(app, account, extra={"iat": utcnow() - refresh_after - timedelta(minutes=1)})
    client.set_cookie(AUTH_COOKIE, old)

    response = client.get("/")
    assert b"Sign out" in response.data
    cookie = only_set_cookie(response.headers.getlist("Set-Cookie"))
    _assert_flags(cookie, app, secure=False)
    assert cookie.value != old
    with app.app_context():
        verified = verify_token(cookie.value)[0]
    assert verified.record.id == account
    assert utcnow() - verified.issued_at < timedelta(minutes=1)
    assert auth_cookie(client) == cookie.value


def test_a_fresh_cookie_is_left_alone(app: Flask, client: FlaskClient, account: str) -> None:
    client.set_cookie(AUTH_COOKIE, _token_for(app, account))
    response = client.get("/")
    assert b"Sign out" in response.data
    assert _cookies(response) == []


def test_a_cookie_just_under_the_refresh_age_is_left_alone(
    app: Flask, client: FlaskClient, account: str
) -> None:
    refresh_after = app.config["AUTH_TOKEN_REFRESH_AFTER"]
    token = _token_for(app, account, extra={"iat": utcnow() - refresh_after + timedelta(minutes=5)})
    client.set_cookie(AUTH_COOKIE, token)
    assert _cookies(client.get("/")) == []


def test_a_returning_shopper_keeps_the_identity_past_the_token_lifetime(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    """Sliding expiry: visits more often than the lifetime never lose the guest identity."""
    _add_to_cart(client, products[0])
    first = auth_cookie(client)
    assert first
    with app.app_context():
        guest_id = verify_token(first)[0].record.id
    lifetime = app.config["AUTH_TOKEN_LIFETIME"]
    # A cookie issued most of a lifetime ago is still valid, and is renewed for a full lifetime.
    aged = _token_for(
        app, guest_id, extra={"iat": utcnow() - lifetime * 0.9, "exp": utcnow() + lifetime * 0.1}
    )
    client.set_cookie(AUTH_COOKIE, aged)
    page = client.get("/cart")
    renewed = only_set_cookie(page.headers.getlist("Set-Cookie"))
    with app.app_context():
        verified = verify_token(renewed.value)[0]
    assert verified.record.id == guest_id
    assert verified.expires_at - utcnow() > lifetime * 0.99
    assert b"Mug" in page.data  # the cart is still there


# ---------------------------------------------------------------------------------------------------
# current_user reflects the cookie


def test_current_user_follows_the_cookie(app: Flask, account: str) -> None:
    token = _token_for(app, account)
    with app.test_request_context("/", headers={"Cookie": f"{AUTH_COOKIE}={token}"}):
        assert current_user.is_authenticated
        assert current_user.id == account
        assert current_user.is_anonymous is False
    with app.test_request_context("/"):
        assert not current_user.is_authenticated
    with app.test_request_context("/", headers={"Cookie": f"{AUTH_COOKIE}=garbage"}):
        assert not current_user.is_authenticated


def test_the_flask_session_does_not_carry_the_identity(client: FlaskClient, account: str) -> None:
    sign_in(client)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    client.delete_cookie(AUTH_COOKIE)
    assert b"Sign out" not in client.get("/").data


def test_pages_show_the_identity_of_the_cookie(
    client: FlaskClient, account: str, products: list[int]
) -> None:
    assert b"Sign out" not in client.get("/").data
    _add_to_cart(client, products[0])
    page = client.get("/").data
    assert b"shopping as a guest" in page and b"Sign out" in page
    client.post("/logout")
    sign_in(client)
    page = client.get("/").data
    assert b"Sign out" in page and b"shopping as a guest" not in page


def test_a_failed_activity_write_does_not_break_the_page(
    app: Flask,
    client: FlaskClient,
    account: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The last-activity time is bookkeeping: a busy SQLite file ("database is locked" after the busy
    timeout) must not turn a signed-in page view into a server error."""
    app.config["ACTIVITY_UPDATE_INTERVAL"] = timedelta(0)  # write on every request
    real_execute = db.session.execute

    def locked(statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, Update) and getattr(statement.table, "name", None) == "auth_records":
            raise OperationalError("UPDATE auth_records ...", {}, Exception("database is locked"))
        return real_execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", locked)
    client.set_cookie(AUTH_COOKIE, _token_for(app, account))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign out" in response.data  # still signed in
    assert _cookies(response) == []  # the cookie is fine and stays
    assert "last activity" in caplog.text


@pytest.mark.parametrize("name", ["remember_token", "session"])
def test_other_cookies_never_hide_the_auth_cookie(client: FlaskClient, account: str, name: str) -> None:
    """Flask-Login skips its request loader while a ``remember_token`` cookie is present; a cookie of
    that name from another app on the same host must not sign the shopper out."""
    sign_in(client)
    client.set_cookie(name, "set-by-another-app-on-this-host")
    assert client.get("/account").status_code == 200
    assert b"Sign out" in client.get("/").data


def test_a_foreign_remember_cookie_does_not_mint_a_guest_per_request(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    client.set_cookie("remember_token", "set-by-another-app-on-this-host")
    for _ in range(3):
        client.post("/cart/add", data={"product_id": products[0], "quantity": 1})
    with app.app_context():
        assert count_records(is_anonymous=True) == 1
    assert b"Mug" in client.get("/cart").data


def test_a_session_user_id_is_not_an_identity(client: FlaskClient, account: str) -> None:
    """Only the auth cookie says who is signed in, never Flask-Login's session key."""
    with client.session_transaction() as session:
        session["_user_id"] = account
        session["_fresh"] = True
    assert b"Sign out" not in client.get("/").data
    assert client.get("/account").status_code == 302
