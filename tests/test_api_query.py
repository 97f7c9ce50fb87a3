"""``?fields=``, the list parameters (``page``, ``perPage``, ``sort``, ``filter``) and CORS of the API."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storefront.api.fields import parse_fields
from storefront.api.fields import pick

RECORD = {"id": "a1", "email": "x@example.com", "nested": {"one": 1, "two": {"deep": 2, "other": 3}}}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("id", {"id": "a1"}),
        ("id,email", {"id": "a1", "email": "x@example.com"}),
        ("nested.one", {"nested": {"one": 1}}),
        ("nested.two.deep", {"nested": {"two": {"deep": 2}}}),
        ("*", RECORD),
        ("*,nested.one", {"id": "a1", "email": "x@example.com", "nested": {"one": 1}}),
        ("nested.*", {"nested": RECORD["nested"]}),
        ("nothing", {}),
        (" id , :excerpt(3) ,", {"id": "a1"}),
        ("email:excerpt(3)", {"email": "x@example.com"}),  # modifiers are not supported: kept whole
    ],
)
def test_pick_has_pocketbase_meaning(fields: str, expected: dict[str, Any]) -> None:
    assert pick(RECORD, parse_fields(fields)) == expected


def test_pick_applies_to_each_item_of_a_list() -> None:
    assert pick([RECORD, {"id": "b2"}], ["id"]) == [{"id": "a1"}, {"id": "b2"}]
    assert pick({"items": [RECORD]}, ["items.id"]) == {"items": [{"id": "a1"}]}


def test_fields_trims_every_json_answer_but_errors(client: FlaskClient, products: list[int]) -> None:
    assert client.get("/api/health?fields=code").get_json() == {"code": 200}
    token = client.post("/api/collections/users/auth-anonymous?fields=token").get_json()
    assert set(token) == {"token"}
    listing = client.get("/api/collections/products/records?fields=id").get_json()
    # In a list answer the paths apply to the items, as PocketBase does.
    assert set(listing) == {"page", "perPage", "totalItems", "totalPages", "items"}
    mug, tote, pen = products
    assert listing["items"] == [{"id": str(mug)}, {"id": str(pen)}, {"id": str(tote)}]  # by name
    error = client.get("/api/collections/products/records/999999?fields=status").get_json()
    assert set(error) == {"status", "message", "data"}


def _names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/api/collections/products/records?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_sort_and_filter(client: FlaskClient, products: list[int]) -> None:
    # Mug 1800 (10 in stock), Tote 2450 (5), Pen 999 (1)
    assert _names(client, "") == ["Mug", "Pen", "Tote"]
    assert _names(client, "sort=-priceCents") == ["Tote", "Mug", "Pen"]
    assert _names(client, "sort=stock,-name") == ["Pen", "Tote", "Mug"]
    assert _names(client, "filter=priceCents>1000") == ["Mug", "Tote"]
    assert _names(client, "filter=priceCents>1000 %26%26 stock<10") == ["Tote"]
    assert _names(client, "filter=(name='Pen' || name=\"Mug\") %26%26 stock >= 1") == ["Mug", "Pen"]
    assert _names(client, "filter=name~'o'") == ["Tote"]
    assert _names(client, "filter=name!~'o'") == ["Mug", "Pen"]
    assert _names(client, "filter=name~'%25'") == []  # a LIKE wildcard is matched literally
    assert _names(client, "filter=slug='it\\'s'") == []
    assert _names(client, "filter=created>'2000-01-01 00:00:00.000Z' %26%26 created<'2999-01-01'") == [
        "Mug",
        "Pen",
        "Tote",
    ]
    assert _names(client, "filter=created<'2000-01-01T00:00:00Z'") == []


def test_page_and_per_page(client: FlaskClient, products: list[int]) -> None:
    first = client.get("/api/collections/products/records?perPage=2").get_json()
    assert (first["page"], first["perPage"], first["totalItems"], first["totalPages"]) == (1, 2, 3, 2)
    second = client.get("/api/collections/products/records?perPage=2&page=2").get_json()
    assert [item["name"] for item in first["items"] + second["items"]] == ["Mug", "Pen", "Tote"]
    clamped = client.get("/api/collections/products/records?perPage=5000&page=0").get_json()
    assert (clamped["page"], clamped["perPage"]) == (1, 1000)
    skipped = client.get("/api/collections/products/records?skipTotal=1").get_json()
    assert (skipped["totalItems"], skipped["totalPages"]) == (-1, -1)


@pytest.mark.parametrize(
    "query",
    [
        "filter=password_hash='x'",
        "filter=name=",
        "filter=name='x' %26%26",
        "filter=(name='x'",
        "filter=name='x')",
        "filter=name > 'x' ; DROP TABLE products",
        "filter=priceCents='cheap'",
        "filter=name < null",
        "filter=priceCents~'1'",
        "filter=name~null",
        "filter=created>'yesterday'",
        "filter=created>5",
        "filter=stock > true",
        "filter=stock = false",
        "filter=stock > 99999999999999",
        "filter=" + "(" * 30 + "name='x'" + ")" * 30,
        "filter=" + "x" * 3000,
        "sort=password_hash",
        "sort=-",
        "page=two",
        "perPage=1.5",
        "page=99999999999",
    ],
)
def test_bad_list_parameters_are_a_400(client: FlaskClient, products: list[int], query: str) -> None:
    response = client.get(f"/api/collections/products/records?{query}")
    assert response.status_code == 400, response.get_json()
    assert set(response.get_json()) == {"status", "message", "data"}


def test_cors_answers_api_preflights_without_credentials(client: FlaskClient) -> None:
    response = client.options(
        "/api/checkout",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert {"authorization", "content-type", "idempotency-key"} <= {
        header.strip().lower() for header in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    answer = client.get("/api/health", headers={"Origin": "https://app.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    error = client.get("/api/nothing-here", headers={"Origin": "https://app.example"})
    assert error.status_code == 404 and error.headers["Access-Control-Allow-Origin"] == "*"


def test_web_pages_get_no_cors_headers(client: FlaskClient) -> None:
    response = client.get("/", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


class TestListedOrigins:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"API_CORS_ORIGINS": "https://app.example, https://admin.example"}

    def test_only_listed_origins_are_allowed(self, client: FlaskClient) -> None:
        allowed = client.get("/api/health", headers={"Origin": "https://admin.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example"
        refused = client.get("/api/health", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in refused.headers


def test_a_bad_origin_setting_stops_the_app(database_uri: str) -> None:
    from storefront import create_app

    from .conftest import make_test_config

    with pytest.raises(RuntimeError, match="API_CORS_ORIGINS"):
        create_app(make_test_config(database_uri, API_CORS_ORIGINS=42))


def test_any_origin_is_the_default(app: Flask) -> None:
    """As PocketBase: safe because the API reads the Authorization header, never a cookie."""
    assert app.config["API_CORS_ORIGINS"] == "*"
