"""Small helpers shared by the auth tests: reading Set-Cookie headers, counting records and planting
a session (the session fixation tests)."""

from __future__ import annotations

from http.cookies import Morsel
from http.cookies import SimpleCookie

from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from storefront.auth.models import AuthRecord
from storefront.extensions import db

from .factories import AUTH_COOKIE


def set_cookies(headers: list[str], name: str = AUTH_COOKIE) -> list[Morsel[str]]:
    """Every Set-Cookie header that sets or clears ``name``, parsed."""
    found = []
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            found.append(jar[name])
    return found


def only_set_cookie(headers: list[str], name: str = AUTH_COOKIE) -> Morsel[str]:
    """The single Set-Cookie for ``name``; fails if there is none or more than one."""
    cookies = set_cookies(headers, name)
    assert len(cookies) == 1, f"expected one Set-Cookie for {name}, got {headers}"
    return cookies[0]


def is_deletion(morsel: Morsel[str]) -> bool:
    """True for a Set-Cookie that tells the browser to drop the cookie."""
    return morsel.value == "" and (morsel["max-age"] == "0" or "1970" in morsel["expires"])


def count_records(**where: object) -> int:
    """How many auth records match ``where`` (inside an app context)."""
    query = select(func.count()).select_from(AuthRecord).filter_by(**where)
    return int(db.session.execute(query).scalar_one())


def plant_session(client: FlaskClient) -> None:
    """Put values in the client's session, as an attacker who fixed the session would."""
    with client.session_transaction() as session:
        session["planted"] = "fixed by an attacker"
        session["_user_id"] = "someone"


def planted_session_survives(client: FlaskClient) -> bool:
    """Whether anything :func:`plant_session` put in the client's session is still there."""
    with client.session_transaction() as session:
        return "planted" in session or "_user_id" in session
