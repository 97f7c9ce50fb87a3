"""The shopper's rules the server keeps: quantities typed in the cart, the country list, saved
delivery details, caching, compression, the favicon, product data for search engines."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storefront.extensions import db
from storefront.shop.delivery import Delivery
from storefront.shop.delivery import save_delivery
from storefront.shop.delivery import saved_delivery
from storefront.shop.models import CartItem
from storefront.shop.models import Order

from .accounts_helpers import flashes
from .conftest import sign_in
from .factories import CONTACT_FORM
from .test_shop_views import _checkout_key
from .test_shop_views import _guest_checkout

ORDER_PATH = re.compile(r"^/orders/SF-[2-9A-Z]{4}-[2-9A-Z]{4}$")


def _quantities(app: Flask) -> dict[int, int]:
    with app.app_context():
        return {line.product_id: line.quantity for line in db.session.execute(select(CartItem)).scalars()}


# Quantities typed in the cart


def test_checkout_button_saves_the_typed_quantities(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    client.post("/cart/add", data={"product_id": products[1]})
    response = client.post(
        "/cart",
        data={"action": "checkout", f"quantity-{products[0]}": "3", f"quantity-{products[1]}": " 2 "},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/checkout"
    assert _quantities(app) == {products[0]: 3, products[1]: 2}


def test_update_saves_every_line_and_says_what_changed(
    app: Flask, client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    response = client.post("/cart", data={"action": "update", f"quantity-{products[0]}": "4"})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert _quantities(app) == {products[0]: 4}
    assert "Updated Mug to 4." in flashes(client.get("/cart").data)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a quantity."),
        ("0", "Quantity must be a whole number from 1 to 99."),
        ("2.5", "Quantity must be a whole number from 1 to 99."),
        ("١", "Quantity must be a whole number from 1 to 99."),  # a non-ASCII digit
        ("50", "Only 5 of Tote left in stock."),
    ],
)
def test_a_refused_quantity_is_shown_at_its_line_as_typed(
    app: Flask, client: FlaskClient, products: list[int], typed: str, message: str
) -> None:
    client.post("/cart/add", data={"product_id": products[1]})
    response = client.post("/cart", data={"action": "checkout", f"quantity-{products[1]}": typed})
    assert response.status_code == 400  # not on to checkout
    html = response.data.decode()
    line_error = re.search(rf'<p class="field-error line-error" id="qty-{products[1]}-error">(.*?)</p>', html)
    assert line_error is not None and line_error.group(1) == message
    assert f'name="quantity-{products[1]}"' in html and f'value="{typed}"' in html
    assert 'aria-invalid="true"' in html
    # The summary at the top takes focus and links to the field.
    assert re.search(r'class="error-summary"[^>]*tabindex="-1" autofocus', html)
    assert f'href="#qty-{products[1]}"' in html
    assert _quantities(app) == {products[1]: 1}


def test_the_cart_page_is_one_form_whose_checkout_button_sends_the_quantities(
    client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    html = client.get("/cart").data.decode()
    form = re.search(r'<form method="post" action="/cart"[^>]*>(.*?)</form>', html, re.S)
    assert form is not None
    assert f'name="quantity-{products[0]}"' in form.group(1)
    assert re.search(
        r'<button type="submit" name="action" value="checkout"[^>]*>Checkout</button>', form.group(1)
    )
    assert 'formaction="/cart/remove"' in form.group(1)


# Checkout: errors, Back, country, saved details


def test_checkout_errors_are_summarised_each_linking_to_its_field(
    client: FlaskClient, products: list[int]
) -> None:
    key = _guest_checkout(client, products[0])
    response = client.post("/checkout", data={"checkout_key": key})
    html = response.data.decode()
    assert response.status_code == 400
    assert "There are 6 problems" in html
    for field in ("email", "full_name", "address", "city", "postal_code", "country"):
        assert f'href="#{field}"' in html
    assert "This field is required." not in html


def test_back_after_the_order_shows_the_order_not_the_form(client: FlaskClient, products: list[int]) -> None:
    key = _guest_checkout(client, products[0])
    placed = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})
    assert ORDER_PATH.match(placed.headers["Location"])
    # Back to the form page (it is never stored, so the browser asks again) ...
    again = client.get("/checkout")
    assert again.status_code == 302 and again.headers["Location"] == placed.headers["Location"]
    # ... or the same form sent again without its fields: the order, not a form flagged as failed.
    resent = client.post("/checkout", data={"checkout_key": key})
    assert resent.status_code == 302 and resent.headers["Location"] == placed.headers["Location"]


@pytest.mark.parametrize("path", ["/cart", "/checkout"])
def test_personal_pages_are_never_stored(client: FlaskClient, products: list[int], path: str) -> None:
    _guest_checkout(client, products[0])
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_the_order_page_is_never_stored(client: FlaskClient, products: list[int]) -> None:
    key = _guest_checkout(client, products[0])
    placed = client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})
    assert client.get(placed.headers["Location"]).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("sent", ["NZ", "new zealand"])
def test_the_order_stores_the_country_name_from_its_code_or_name(
    app: Flask, client: FlaskClient, products: list[int], sent: str
) -> None:
    key = _guest_checkout(client, products[0])
    client.post("/checkout", data={**CONTACT_FORM, "country": sent, "checkout_key": key})
    with app.app_context():
        assert db.session.execute(select(Order.country)).scalar_one() == "New Zealand"


def test_the_country_is_a_list_of_every_iso_country(client: FlaskClient, products: list[int]) -> None:
    _guest_checkout(client, products[0])
    html = client.get("/checkout").data.decode()
    select_html = re.search(r'<select id="country" name="country"[^>]*>(.*?)</select>', html, re.S)
    assert select_html is not None
    codes = re.findall(r'<option value="([A-Z]{2})"', select_html.group(1))
    assert len(codes) >= 249 and {"GB", "NZ", "US", "JP"} <= set(codes)


def test_an_account_saves_its_delivery_details_and_finds_them_next_time(
    app: Flask, client: FlaskClient, account: str, products: list[int]
) -> None:
    sign_in(client)
    client.post("/cart/add", data={"product_id": products[0]})
    page = client.get("/checkout").data.decode()
    assert "Save these delivery details for next time" in page
    key = _checkout_key(page.encode())
    details = {**CONTACT_FORM, "full_name": "Ada King", "country": "NZ", "save_details": "y"}
    client.post("/checkout", data={**details, "checkout_key": key})
    with app.app_context():
        assert saved_delivery(account) == Delivery(
            "Ada King", CONTACT_FORM["address"], CONTACT_FORM["city"], CONTACT_FORM["postal_code"], "NZ"
        )

    client.post("/cart/add", data={"product_id": products[0]})
    page = client.get("/checkout").data.decode()
    assert 'value="Ada King"' in page and '<option value="NZ" selected>' in page
    assert 'value="shopper@example.com"' in page


def test_unticked_the_details_are_not_saved(
    app: Flask, client: FlaskClient, account: str, products: list[int]
) -> None:
    sign_in(client)
    client.post("/cart/add", data={"product_id": products[0]})
    key = _checkout_key(client.get("/checkout").data)
    client.post("/checkout", data={**CONTACT_FORM, "checkout_key": key})  # no save_details
    with app.app_context():
        assert saved_delivery(account) is None


def test_a_guest_is_not_offered_to_save_details(client: FlaskClient, products: list[int]) -> None:
    _guest_checkout(client, products[0])
    assert "Save these delivery details" not in client.get("/checkout").data.decode()


def test_delivery_details_are_edited_on_the_account_page(
    app: Flask, client: FlaskClient, account: str
) -> None:
    sign_in(client)
    assert "Delivery details" in client.get("/account").data.decode()
    details = {k: CONTACT_FORM[k] for k in ("full_name", "address", "city", "postal_code")}
    refused = client.post("/account/delivery", data={**details, "country": "XX"})
    assert refused.status_code == 400 and "Choose a country from the list." in refused.data.decode()
    with app.app_context():
        assert saved_delivery(account) is None
    saved = client.post("/account/delivery", data={**details, "country": "JP"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/account"
    with app.app_context():
        stored = saved_delivery(account)
        assert stored is not None and stored.country == "JP"
    assert "Japan" in client.get("/account").data.decode()


def test_saving_an_unknown_country_code_is_refused(app: Flask, account: str) -> None:
    with app.app_context(), pytest.raises(ValueError):
        save_delivery(account, Delivery("A", "B", "C", "D", "ZZ"))


# Static files, compression, favicon, structured data


def test_favicon_is_served(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as response:  # a file: closed with the response
        assert response.status_code == 200 and response.mimetype == "image/x-icon"
        assert response.data[:4] == b"\x00\x00\x01\x00"
        assert "max-age=86400" in response.headers["Cache-Control"]
    html = client.get("/").data.decode()
    assert 'rel="icon" href="/favicon.ico"' in html
    assert re.search(r'rel="icon" href="/static/favicon.svg\?v=[0-9a-f]{12}" type="image/svg\+xml"', html)


def test_static_urls_carry_a_fingerprint_and_are_cached_for_a_year(client: FlaskClient) -> None:
    html = client.get("/").data.decode()
    match = re.search(r'href="(/static/style.css\?v=([0-9a-f]{12}))"', html)
    assert match is not None
    with client.get(match.group(1)) as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # An old or missing fingerprint is revalidated, never cached as if it were current.
    for url in ("/static/style.css?v=000000000000", "/static/style.css"):
        with client.get(url) as response:
            assert "immutable" not in response.headers.get("Cache-Control", "")


def test_pages_and_static_files_are_compressed(client: FlaskClient, products: list[int]) -> None:
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<h1>Shop</h1>" in gzip.decompress(page.data)
    assert "Accept-Encoding" in page.headers["Vary"]
    with client.get("/static/style.css", headers={"Accept-Encoding": "br"}) as css:
        assert css.headers["Content-Encoding"] == "br"
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers


def test_every_page_has_a_meta_description(client: FlaskClient, products: list[int]) -> None:
    for path in ("/", f"/products/{products[0]}", "/cart", "/login"):
        html = client.get(path).data.decode()
        assert re.search(r'<meta name="description" content="[^"]{15,}">', html), path


def test_product_page_has_schema_org_product_with_offer(client: FlaskClient, products: list[int]) -> None:
    html = client.get(f"/products/{products[0]}").data.decode()
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match is not None
    data = json.loads(match.group(1))
    assert data["@type"] == "Product" and data["name"] == "Mug"
    assert data["offers"]["@type"] == "Offer" and data["offers"]["priceCurrency"] == "USD"
    assert re.fullmatch(r"\d+\.\d\d", data["offers"]["price"])
    assert data["offers"]["availability"] == "https://schema.org/InStock"


def test_flash_messages_are_not_list_items_with_a_status_role(
    client: FlaskClient, products: list[int]
) -> None:
    client.post("/cart/add", data={"product_id": products[0]})
    html = client.get("/cart").data.decode()
    assert '<p class="flash flash-success" role="status">Added Mug to your cart.</p>' in html
    assert '<li class="flash' not in html


# The header's identity state


def test_header_never_offers_sign_in_and_sign_out_together(
    client: FlaskClient, account: str, products: list[int]
) -> None:
    def header() -> str:
        html: str = client.get("/").data.decode()
        return html[html.index("<header") : html.index("</header>")]

    visitor = header()
    assert ">Sign in</a>" in visitor and "Sign out" not in visitor
    client.post("/cart/add", data={"product_id": products[0]})
    guest = header()
    assert "Sign out" in guest and ">Sign in<" not in guest
    assert "You're shopping as a guest" in guest and ">Create account</a>" in guest
    sign_in(client)
    member = header()
    assert "Sign out" in member and ">Sign in<" not in member and ">Account</a>" in member
