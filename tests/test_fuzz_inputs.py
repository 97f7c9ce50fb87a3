"""Property-based tests: every form and JSON endpoint fed arbitrary input.

For each form a shopper or an admin can send, and for each JSON endpoint, hypothesis sends arbitrary
text (any Unicode, control characters and NUL included), overlong, empty, missing, repeated and wrongly
typed values, and checks:

* never a 5xx (the test app propagates exceptions, so a server error fails the example with its
  traceback);
* a rejected input stores nothing: every row of every table is the same after as before
  (``last_active_at`` aside: activity tracking is by design);
* the error names the field: on a form page it is the field's own error, bound to the field
  (``id="<field>-error"``, ``aria-describedby``); in a flash message it says which field; in the API it
  starts with the field's name (``identity: ...``).

The app is built once for the module (hypothesis runs many examples per test), on a SQLite file, or on
the PostgreSQL database of STOREFRONT_TEST_DATABASE_URL when that is set. Runs are derandomized, so CI
sees the same examples every time; ``--hypothesis-show-statistics`` reports how many each test ran.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import assume
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import Phase
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from storefront.auth.models import AuthRecord
from storefront.auth.tokens import issue_token
from storefront.extensions import db
from storefront.models import storable
from storefront.shop.countries import country_name
from storefront.shop.models import CartItem
from storefront.shop.models import Order
from storefront.shop.models import Product

from .accounts_helpers import flashes
from .conftest import database_uri_in
from .conftest import fresh_app
from .factories import AUTH_COOKIE
from .factories import CONTACT_FORM
from .factories import identity_id
from .factories import make_account
from .factories import make_guest
from .factories import PASSWORD
from .proof_helpers import CHECKOUT_KEY
from .proof_helpers import postgres_pass
from .proof_helpers import snapshot

ACCOUNT_EMAIL = "shopper@example.com"
ADMIN_EMAIL = "admin@example.com"
# No explain phase: it reruns a failing test hundreds of times to annotate the report. The PostgreSQL
# pass of scripts/test replays the first half of the same (derandomized) examples, for what only
# PostgreSQL refuses (NUL characters, 32-bit integers); the known hard cases are explicit examples,
# run in both passes.
FUZZ = settings(
    max_examples=30 if postgres_pass() else 60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
# Activity tracking writes last_active_at on any request by design; nothing else may change.
ACTIVITY = frozenset({"auth_records.last_active_at"})
FIELD_ERROR = re.compile(r'<p class="field-error" id="([a-z_]+)-error">')


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with fresh_app(database_uri_in(tmp_path_factory.mktemp("fuzz"), "fuzz.sqlite")) as app:
        with app.app_context():
            db.session.add_all(
                [
                    Product(
                        slug="mug",
                        name="Mug",
                        description="A mug.",
                        price_cents=1800,
                        stock=10**6,
                        image="m.svg",
                    ),
                    Product(
                        slug="pen", name="Pen", description="A pen.", price_cents=999, stock=3, image="p.svg"
                    ),
                    Product(
                        slug="hat", name="Hat", description="A hat.", price_cents=500, stock=0, image="h.svg"
                    ),
                ]
            )
            make_account(ACCOUNT_EMAIL)
            make_account(ADMIN_EMAIL, admin=True)
        yield app


# ---------------------------------------------------------------------------------------------------
# Strategies


# Everything a browser or a script can put in a form field: any Unicode but lone surrogates, which
# UTF-8 (and so HTTP) cannot carry.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
tricky = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\t\r\n",
        "\u200b",
        "\u3000",
        "0",
        "-1",
        "1.5",
        "1e3",
        "99",
        "100",
        str(2**31),
        str(2**63),
        "9" * 40,
        "NaN",
        "true",
        "null",
        "[]",
        "{}",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "../../etc/passwd",
        "ＡＢＣ@ｅｘａｍｐｌｅ.com",
        "🛒" * 10,
        "é" * 300,
    ]
)
overlong = st.text(st.characters(exclude_categories=["Cs"]), min_size=255, max_size=3000)
numbers = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)).map(str)
form_value = st.one_of(any_text, tricky, overlong, numbers)


def field_values(*likely: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """A field's values in a form: missing (no value), one, or repeated; arbitrary or ``likely``."""
    value = form_value
    if likely:
        # Half the values likely ones, so that accepted inputs and the edges near them are common.
        value = st.booleans().flatmap(lambda pick: st.one_of(*likely) if pick else form_value)
    return st.lists(value, max_size=2)


def form(fields: dict[str, st.SearchStrategy[list[str]]]) -> st.SearchStrategy[MultiDict[str, str]]:
    return st.fixed_dictionaries(fields).map(
        lambda values: MultiDict([(name, value) for name, items in values.items() for value in items])
    )


emails = st.one_of(st.emails(), st.just(ACCOUNT_EMAIL), st.just("SHOPPER@example.com "))
passwords = st.one_of(st.just(PASSWORD), st.text(min_size=8, max_size=20))
new_emails = st.from_regex(
    r"[a-z][a-z0-9.]{0,12}[a-z0-9]@(example\.com|xn--bcher-kva\.example)", fullmatch=True
)


@st.composite
def new_password(draw: st.DrawFn) -> dict[str, str]:
    password = draw(st.text(st.characters(exclude_categories=["Cs"]), min_size=8, max_size=30))
    return {"password": password, "confirm": password}


def near_valid(
    valid: st.SearchStrategy[dict[str, str]], fields: tuple[str, ...]
) -> st.SearchStrategy[MultiDict[str, str]]:
    """A valid submission, as it is or with one field replaced by arbitrary values (or left out): the
    edge between accepted and refused, where independent arbitrary fields rarely land."""

    @st.composite
    def build(draw: st.DrawFn) -> MultiDict[str, str]:
        values = {name: [value] for name, value in draw(valid).items()}
        if draw(st.booleans()):
            values[draw(st.sampled_from(fields))] = draw(field_values())
        return MultiDict([(name, value) for name, items in values.items() for value in items])

    return build()


def arbitrary_or_near_valid(
    fields: dict[str, st.SearchStrategy[list[str]]], valid: st.SearchStrategy[dict[str, str]]
) -> st.SearchStrategy[MultiDict[str, str]]:
    return st.one_of(form(fields), near_valid(valid, tuple(fields)))


CREDENTIAL_FIELDS = {
    "email": field_values(emails),
    "password": field_values(passwords),
    "confirm": field_values(passwords),
}
new_credentials = st.builds(lambda email, password: {"email": email, **password}, new_emails, new_password())


# ---------------------------------------------------------------------------------------------------
# Checks


def stored(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        return snapshot(exclude=ACTIVITY)


def field_errors(response: TestResponse) -> set[str]:
    """The fields that show an error on a form page."""
    return set(FIELD_ERROR.findall(response.get_data(as_text=True)))


def assert_rejected_by_field(
    response: TestResponse, fields: set[str], statuses: tuple[int, ...] = (400,)
) -> None:
    assert response.status_code in statuses, response.status_code
    errors = field_errors(response)
    assert errors and errors <= fields, f"errors shown on {errors}, expected some of {fields}"


def signed_in_client(app: Flask, record: AuthRecord) -> FlaskClient:
    client = app.test_client()
    with app.app_context():
        client.set_cookie(AUTH_COOKIE, issue_token(record))
    return client


def new_guest(app: Flask, collection: str = "users", cart: dict[int, int] | None = None) -> AuthRecord:
    with app.app_context():
        record = make_guest(collection=collection, cart=cart, commit=False)
        db.session.commit()
        db.session.refresh(record)
        db.session.expunge(record)
        return record


def new_account(app: Flask) -> AuthRecord:
    """A full account with an email of its own (its password is ``PASSWORD``)."""
    with app.app_context():
        account = make_account(f"owner-{secrets.token_hex(6)}@example.com")
        db.session.expunge(account)
        return account


def product_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {product.slug: product.id for product in db.session.execute(select(Product)).scalars()}


# ---------------------------------------------------------------------------------------------------
# Sign-in, registration, upgrade


@FUZZ
@given(
    data=arbitrary_or_near_valid(
        {"email": field_values(emails), "password": field_values(passwords)},
        st.just({"email": ACCOUNT_EMAIL, "password": PASSWORD}),
    )
)
# PostgreSQL refuses to look up an email with a NUL character: it must be a clean refusal, not a 500.
@example(data=MultiDict([("email", "a\x00b@example.com"), ("password", "a password")]))
def test_login_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    before = stored(fuzz_app)
    client = fuzz_app.test_client()
    response = client.post("/login", data=data)
    event(f"answered {response.status_code}")
    right = data.get("email", "").strip().lower() == ACCOUNT_EMAIL and data.get("password") == PASSWORD
    if response.status_code == 302:
        assert right and client.get_cookie(AUTH_COOKIE) is not None
    else:
        assert not right or len(data.get("email", "")) > 254
        assert_rejected_by_field(response, {"email", "password"})
        assert client.get_cookie(AUTH_COOKIE) is None
    assert stored(fuzz_app) == before


@FUZZ
@given(data=arbitrary_or_near_valid(CREDENTIAL_FIELDS, new_credentials))
def test_register_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    before = stored(fuzz_app)
    client = fuzz_app.test_client()
    response = client.post("/register", data=data)
    event(f"answered {response.status_code}")
    if response.status_code == 302:
        created_id = identity_id(client)
        with fuzz_app.app_context():
            created = db.session.get_one(AuthRecord, created_id)
            assert not created.is_anonymous and created.password_hash.startswith("$argon2id$")
            assert created.email == created.email.strip().lower() and "@" in created.email
        return
    assert_rejected_by_field(response, {"email", "password", "confirm"})
    assert client.get_cookie(AUTH_COOKIE) is None
    assert stored(fuzz_app) == before


@FUZZ
@given(data=arbitrary_or_near_valid(CREDENTIAL_FIELDS, new_credentials))
def test_upgrade_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    guest = new_guest(fuzz_app)
    before = stored(fuzz_app)
    client = signed_in_client(fuzz_app, guest)
    response = client.post("/account/upgrade", data=data)
    event(f"answered {response.status_code}")
    with fuzz_app.app_context():
        record = db.session.get_one(AuthRecord, guest.id)
        if response.status_code == 302:
            assert not record.is_anonymous and record.token_key != guest.token_key
            return
    assert_rejected_by_field(response, {"email", "password", "confirm"}, statuses=(400, 409))
    assert stored(fuzz_app) == before


# ---------------------------------------------------------------------------------------------------
# Cart and checkout


def assert_flash_names_the_field(page: bytes, names: tuple[str, ...]) -> None:
    messages = [message for message in flashes(page) if not message.startswith("Added ")]
    assert messages, "no message for the shopper"
    for message in messages:
        assert any(name.lower() in message.lower() for name in names), message


@FUZZ
@given(
    data=form(
        {
            "product_id": field_values(st.sampled_from(["1", "2", "3", "4", " 1 ", "01"])),
            "quantity": field_values(st.integers(-2, 120).map(str)),
        }
    ),
    signed_in=st.booleans(),
)
# An add that fails (no such product, sold out) must leave no guest record behind.
@example(data=MultiDict([("product_id", "4")]), signed_in=False)
@example(data=MultiDict([("product_id", "3")]), signed_in=False)
def test_cart_add_form(fuzz_app: Flask, data: MultiDict[str, str], signed_in: bool) -> None:
    """A visitor without an identity gets one only when the add succeeds (lazy mode)."""
    client = signed_in_client(fuzz_app, new_guest(fuzz_app)) if signed_in else fuzz_app.test_client()
    before = stored(fuzz_app)
    response = client.post("/cart/add", data=data)
    event(f"answered {response.status_code}")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).data
    if any(message.startswith("Added ") for message in flashes(page)):
        return
    assert_flash_names_the_field(page, ("quantity", "product", "Mug", "Pen", "Hat"))
    assert stored(fuzz_app) == before
    if not signed_in:
        assert client.get_cookie(AUTH_COOKIE) is None


@FUZZ
@given(
    action=st.sampled_from(["update", "remove"]),
    data=form(
        {
            "product_id": field_values(st.sampled_from(["1", "2", "3"])),
            "quantity": field_values(st.integers(-2, 120).map(str)),
        }
    ),
)
def test_cart_update_and_remove_forms(fuzz_app: Flask, action: str, data: MultiDict[str, str]) -> None:
    ids = product_ids(fuzz_app)
    guest = new_guest(fuzz_app, cart={ids["mug"]: 2, ids["pen"]: 1})
    client = signed_in_client(fuzz_app, guest)
    before = stored(fuzz_app)
    response = client.post(f"/cart/{action}", data=data)
    event(f"answered {response.status_code}")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).data
    if any(message.startswith(("Updated ", "Removed ")) for message in flashes(page)):
        return
    assert_flash_names_the_field(page, ("quantity", "product", "Mug", "Pen", "Hat", "item"))
    assert stored(fuzz_app) == before


CHECKOUT_FIELDS = ("email", "full_name", "address", "city", "postal_code", "country")


@FUZZ
@given(
    fuzzed=st.dictionaries(st.sampled_from([*CHECKOUT_FIELDS, "checkout_key"]), field_values(), min_size=1),
)
# PostgreSQL cannot store a NUL and SQLite would keep it on the order: the form refuses it.
@example(fuzzed={"full_name": ["Ada\x00Lovelace"]})
@example(fuzzed={"postal_code": ["N1\x1b[2J"]})
def test_checkout_form(fuzz_app: Flask, fuzzed: dict[str, list[str]]) -> None:
    """Valid details with some fields replaced by arbitrary values (or left out)."""
    ids = product_ids(fuzz_app)
    guest = new_guest(fuzz_app, "customers", cart={ids["mug"]: 2})
    client = signed_in_client(fuzz_app, guest)
    page = client.get("/checkout")
    key = CHECKOUT_KEY.search(page.data)
    assert key is not None
    values = {
        **{name: [value] for name, value in CONTACT_FORM.items()},
        "checkout_key": [key.group(1).decode()],
    }
    values.update(fuzzed)
    data = MultiDict([(name, value) for name, items in values.items() for value in items])
    before = stored(fuzz_app)

    response = client.post("/checkout", data=data)
    event(f"answered {response.status_code}")

    with fuzz_app.app_context():
        orders = db.session.execute(select(Order).where(Order.owner_id == guest.id)).scalars().all()
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/orders/")
            (order,) = orders
            for name in CHECKOUT_FIELDS:
                # The form posts the country's ISO code; the order keeps its name.
                sent = country_name(data[name]) if name == "country" else data[name].strip()
                assert getattr(order, name) == sent
            assert db.session.execute(select(CartItem).where(CartItem.owner_id == guest.id)).first() is None
            return
    assert response.status_code == 400
    errors = field_errors(response)
    assert errors <= set(CHECKOUT_FIELDS)
    # The hidden one-time key is no field a shopper sees: the page says the order form was incomplete.
    assert errors or any("order form" in message for message in flashes(response.data))
    again = CHECKOUT_KEY.search(response.data)
    assert again is not None and 16 <= len(again.group(1)) <= 64  # the form can be sent again
    assert orders == []
    assert stored(fuzz_app) == before


# ---------------------------------------------------------------------------------------------------
# Account pages


@FUZZ
@given(
    data=arbitrary_or_near_valid(
        {"email": field_values(emails), "current_password": field_values(st.just(PASSWORD))},
        st.builds(lambda email: {"email": email, "current_password": PASSWORD}, new_emails),
    )
)
def test_change_email_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    account = new_account(fuzz_app)
    client = signed_in_client(fuzz_app, account)
    before = stored(fuzz_app)
    response = client.post("/account/email", data=data)
    event(f"answered {response.status_code}")
    if response.status_code == 302:
        with fuzz_app.app_context():
            record = db.session.get_one(AuthRecord, account.id)
            assert record.email != account.email and record.token_key != account.token_key
        return
    assert_rejected_by_field(response, {"email", "current_password"})
    assert stored(fuzz_app) == before


@FUZZ
@given(
    data=arbitrary_or_near_valid(
        {
            "current_password": field_values(st.just(PASSWORD)),
            "password": field_values(passwords),
            "confirm": field_values(passwords),
        },
        new_password().map(lambda fields: {"current_password": PASSWORD, **fields}),
    )
)
def test_change_password_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    account = new_account(fuzz_app)
    client = signed_in_client(fuzz_app, account)
    before = stored(fuzz_app)
    response = client.post("/account/password", data=data)
    event(f"answered {response.status_code}")
    if response.status_code == 302:
        with fuzz_app.app_context():
            assert db.session.get_one(AuthRecord, account.id).token_key != account.token_key
        return
    assert_rejected_by_field(response, {"current_password", "password", "confirm"})
    assert stored(fuzz_app) == before


# ---------------------------------------------------------------------------------------------------
# Admin cleanup


CONFIRMATION_REFUSALS = (
    b"Preview first",
    b"Tick the box to confirm",
    b"The count changed since your preview",
)


@FUZZ
@given(
    data=form(
        {
            "inactive_days": field_values(st.integers(-5, 4000).map(str)),
            "collection": field_values(st.sampled_from(["all", "users", "customers", "admins"])),
            "preview": field_values(st.just("y")),
            "delete": field_values(st.just("y")),
        }
    ),
)
def test_admin_cleanup_form(fuzz_app: Flask, data: MultiDict[str, str]) -> None:
    with fuzz_app.app_context():
        admin = db.session.execute(select(AuthRecord).where(AuthRecord.email == ADMIN_EMAIL)).scalar_one()
    client = signed_in_client(fuzz_app, admin)
    before = stored(fuzz_app)
    response = client.post("/admin/cleanup", data=data)
    event(f"answered {response.status_code}")
    if response.status_code == 303:
        # Accepted: a preview, or a run (which finds no guest idle for a day: every one here is new).
        assert client.get(response.headers["Location"]).status_code == 200
        return
    if data.get("delete") and any(text in response.data for text in CONFIRMATION_REFUSALS):
        # A Delete without a confirmed preview: the preview again, saying what is missing.
        assert response.status_code in (400, 409)
        assert stored(fuzz_app) == before
        return
    assert_rejected_by_field(response, {"inactive_days", "collection"})
    assert stored(fuzz_app) == before


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["inactive_days", "collection", "page"]),
        st.one_of(form_value, st.integers(-5, 4000).map(str), st.sampled_from(["all", "users"])),
    )
)
def test_admin_cleanup_preview_query(fuzz_app: Flask, query: dict[str, str]) -> None:
    with fuzz_app.app_context():
        admin = db.session.execute(select(AuthRecord).where(AuthRecord.email == ADMIN_EMAIL)).scalar_one()
    client = signed_in_client(fuzz_app, admin)
    before = stored(fuzz_app)
    response = client.get("/admin/cleanup", query_string=query)
    event(f"answered {response.status_code}")
    if response.status_code != 200:
        assert_rejected_by_field(response, {"inactive_days", "collection"})
    assert stored(fuzz_app) == before


# ---------------------------------------------------------------------------------------------------
# Path arguments of GET routes


@FUZZ
@given(
    template=st.sampled_from(
        [
            "/products/{}",
            "/orders/{}",
            "/account/verify/{}",
            "/admin/cleanup/runs/{}",
            "/api/collections/{}/x",
        ]
    ),
    value=st.one_of(form_value, numbers, st.integers().map(str)),
    admin=st.booleans(),
)
def test_get_routes_with_arbitrary_path_arguments(
    fuzz_app: Flask, template: str, value: str, admin: bool
) -> None:
    assume(value not in ("", ".", ".."))
    client = fuzz_app.test_client()
    if admin:
        with fuzz_app.app_context():
            record = db.session.execute(
                select(AuthRecord).where(AuthRecord.email == ADMIN_EMAIL)
            ).scalar_one()
            client.set_cookie(AUTH_COOKIE, issue_token(record))
    before = stored(fuzz_app)
    response = client.get(template.format(quote(value, safe="")))
    event(f"answered {response.status_code}")
    assert response.status_code < 500
    assert stored(fuzz_app) == before


# ---------------------------------------------------------------------------------------------------
# JSON API


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    # Lone surrogates: JSON's "\ud800" escape decodes to one, although no UTF-8 text can hold it.
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    tricky,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _credentials_body() -> st.SearchStrategy[Any]:
    field = st.one_of(json_values, st.just(ACCOUNT_EMAIL), st.just(PASSWORD))
    return st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={"identity": field, "password": field, "extra": json_values}),
    )


VALIDATION_FAILED = "An error occurred while validating the submitted data."


def expected_api_message(body: Any) -> str | None:
    """The message the API must give for ``body``, when it is not a sign-in."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if set(body) - {"identity", "password"}:
        return VALIDATION_FAILED  # an unknown field is named, not ignored
    identity, password = body.get("identity"), body.get("password")
    if not isinstance(identity, str) or not identity.strip() or not storable(identity):
        return VALIDATION_FAILED
    if not isinstance(password, str) or not password:
        return VALIDATION_FAILED
    if identity.strip().lower() == ACCOUNT_EMAIL and password == PASSWORD:
        return None
    return "Failed to authenticate."


def assert_json_error(response: TestResponse, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.data[:300])
    body = response.get_json()
    assert isinstance(body, dict) and body["status"] == status and isinstance(body["message"], str)
    message: str = body["message"]
    return message


@FUZZ
@given(body=_credentials_body())
# A lone surrogate cannot be encoded for the database or the password hash, nor a NUL character be
# looked up on PostgreSQL: both must be a clean refusal, not a 500.
@example(body={"identity": ACCOUNT_EMAIL, "password": "\ud800"})
@example(body={"identity": "nobody@example.com", "password": "\udfff"})
@example(body={"identity": "\ud800@example.com", "password": "a password"})
@example(body={"identity": "a\x00b@example.com", "password": "a password"})
def test_auth_with_password_json(fuzz_app: Flask, body: Any) -> None:
    before = stored(fuzz_app)
    response = fuzz_app.test_client().post(
        "/api/collections/users/auth-with-password",
        data=json.dumps(body, ensure_ascii=True, allow_nan=True),
        content_type="application/json",
    )
    event(f"answered {response.status_code}")
    expected = expected_api_message(body)
    if expected is None:
        assert response.status_code == 200 and response.get_json()["record"]["email"] == ACCOUNT_EMAIL
    else:
        message = assert_json_error(response, 400)
        assert message == expected
        if expected == VALIDATION_FAILED:
            assert response.get_json()["data"], "a validation error names its field"
    assert stored(fuzz_app) == before


@FUZZ
@given(
    body=st.binary(max_size=200),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
    ),
    endpoint=st.sampled_from(["auth-with-password", "auth-anonymous", "auth-refresh"]),
)
def test_api_endpoints_with_arbitrary_bytes(
    fuzz_app: Flask, body: bytes, content_type: str, endpoint: str
) -> None:
    before = stored(fuzz_app)
    response = fuzz_app.test_client().post(
        f"/api/collections/users/{endpoint}", data=body, content_type=content_type or None
    )
    event(f"answered {response.status_code}")
    if endpoint == "auth-anonymous":
        assert response.status_code == 200  # the endpoint reads no body
        return
    if endpoint == "auth-refresh":
        assert_json_error(response, 401)
    else:
        message = assert_json_error(response, 400)
        assert message in ("The request body must be a JSON object.", VALIDATION_FAILED)
    assert stored(fuzz_app) == before


@FUZZ
@given(
    collection=st.one_of(any_text, tricky, st.sampled_from(["users", "customers", "Users", "users "])),
    body=json_values,
)
def test_auth_anonymous_json(fuzz_app: Flask, collection: str, body: Any) -> None:
    assume(collection not in ("", ".", ".."))
    before = stored(fuzz_app)
    response = fuzz_app.test_client().post(
        f"/api/collections/{quote(collection, safe='')}/auth-anonymous",
        data=json.dumps(body, allow_nan=True),
        content_type="application/json",
    )
    event(f"answered {response.status_code}")
    if collection in ("users", "customers"):
        assert response.status_code == 200
        assert response.get_json()["record"]["collectionName"] == collection
        return
    assert_json_error(response, 404)
    assert stored(fuzz_app) == before


header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@st.composite
def crafted_tokens(draw: st.DrawFn) -> str:
    """Tokens an attacker can make: arbitrary claims (a real record's id among them), signed with a
    guessed key, unsigned, or with the parts mangled."""
    claims = draw(
        st.dictionaries(
            st.one_of(
                st.sampled_from(["id", "type", "collectionName", "exp", "iat", "jti"]), st.text(max_size=5)
            ),
            st.one_of(json_values, st.just("auth"), st.just("users")),
            max_size=6,
        )
    )
    kind = draw(st.sampled_from(["hs256", "none", "mangled"]))
    if kind == "hs256":
        return jwt.encode(claims, draw(st.binary(min_size=32, max_size=40)), algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    if kind == "none":
        return unsigned
    return draw(st.sampled_from([unsigned + "x", unsigned.replace(".", "", 1), "." * 3, unsigned[:-2]]))


@FUZZ
@given(
    collection=st.sampled_from(["users", "customers", "admins"]),
    header=st.one_of(
        header_text, header_text.map("Bearer {}".format), crafted_tokens().map("Bearer {}".format)
    ),
)
def test_auth_refresh_with_arbitrary_authorization(fuzz_app: Flask, collection: str, header: str) -> None:
    before = stored(fuzz_app)
    response = fuzz_app.test_client().post(
        f"/api/collections/{collection}/auth-refresh", headers={"Authorization": header}
    )
    event(f"answered {response.status_code}")
    assert_json_error(response, 404 if collection == "admins" else 401)
    assert stored(fuzz_app) == before


@FUZZ
@given(
    token=st.one_of(
        crafted_tokens(),
        st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,\\"'), max_size=80
        ),
    )
)
def test_pages_with_an_arbitrary_auth_cookie(fuzz_app: Flask, token: str) -> None:
    client = fuzz_app.test_client()
    client.set_cookie(AUTH_COOKIE, token)
    before = stored(fuzz_app)
    response = client.get("/")
    event(f"answered {response.status_code}")
    assert response.status_code == 200
    assert b"Sign out" not in response.data
    assert stored(fuzz_app) == before


filter_words = st.sampled_from(
    ["name", "slug", "priceCents", "stock", "created", "id", "password_hash", "true", "null", "&&", "||"]
)
filter_pieces = st.one_of(
    filter_words,
    st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "~", "!~", "(", ")", "'", '"', "\\", "%", "_"]),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    any_text,
)


@FUZZ
@given(
    filter_=st.lists(filter_pieces, max_size=12).map(" ".join),
    sort=st.one_of(st.just(""), st.lists(st.one_of(filter_words, any_text), max_size=3).map(",".join)),
    page=st.one_of(st.just(""), st.integers(min_value=-5, max_value=10**12).map(str), any_text),
    fields=st.one_of(st.just(""), any_text, st.lists(filter_words, max_size=3).map(",".join)),
)
def test_catalogue_list_parameters(fuzz_app: Flask, filter_: str, sort: str, page: str, fields: str) -> None:
    """Any filter, sort, page and fields: a list or a 400 naming the problem, never a 500."""
    query = {"filter": filter_, "sort": sort, "page": page, "fields": fields}
    response = fuzz_app.test_client().get("/api/collections/products/records", query_string=query)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 400), (response.status_code, response.data[:300])
    body = response.get_json()
    assert isinstance(body, dict) and (
        response.status_code == 200 or set(body) == {"status", "message", "data"}
    )
