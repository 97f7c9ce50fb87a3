"""Catalogue, cart, checkout and order pages."""

from __future__ import annotations

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import Flask
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response

from ..auth import AuthError
from ..auth import current_record
from ..auth import Identity
from ..extensions import db
from ..security import safe_next
from . import guests
from .cart import add_item
from .cart import Cart
from .cart import cart_count
from .cart import CartError
from .cart import check_quantity
from .cart import get_product
from .cart import load_cart
from .cart import MAX_LINE_QUANTITY
from .cart import read_quantities
from .cart import remove_item
from .cart import set_quantities
from .cart import set_quantity
from .checkout import CheckoutError
from .checkout import ContactDetails
from .checkout import latest_order
from .checkout import new_checkout_key
from .checkout import order_for
from .checkout import place_order
from .checkout import RECENT_ORDER
from .countries import country_name
from .delivery import Delivery
from .delivery import save_delivery
from .delivery import saved_delivery
from .forms import AddToCartForm
from .forms import CartLineForm
from .forms import CheckoutForm
from .forms import DeliveryForm
from .forms import RemoveLineForm
from .models import Product
from .order_links import order_link
from .receipts import send_receipt

bp = Blueprint("shop", __name__)


def _owner_id() -> str | None:
    record = current_record()
    return record.id if record is not None else None


def current_cart() -> Cart:
    """The cart of the request's identity, loaded once per identity and request (templates get it as
    ``cart``). A view that changes the cart redirects, so a cached cart is never stale on a page."""
    owner_id = _owner_id()
    cached: tuple[str | None, Cart] | None = g.get("cart")
    if cached is None or cached[0] != owner_id:
        cached = (owner_id, load_cart(owner_id))
        g.cart = cached
    return cached[1]


def current_cart_count() -> int:
    """The item count for the navigation of every page: from the cart when the page loaded it, else
    one SUM (a page that does not list the cart needs no lines and products)."""
    owner_id = _owner_id()
    cart: tuple[str | None, Cart] | None = g.get("cart")
    if cart is not None and cart[0] == owner_id:
        return cart[1].count
    count: tuple[str | None, int] | None = g.get("cart_count")
    if count is None or count[0] != owner_id:
        count = (owner_id, cart_count(owner_id))
        g.cart_count = count
    return count[1]


def _form_errors(form: AddToCartForm | CartLineForm | RemoveLineForm) -> str:
    """Every error of a cart form for a flash, each naming its field unless it already does
    ("Quantity: Not a valid integer value.")."""
    messages = []
    for name, errors in form.errors.items():
        label = str(form[name].label.text)
        for message in errors:
            messages.append(message if label.lower() in message.lower() else f"{label}: {message}")
    return " ".join(messages)


def _back(default: str = "shop.cart") -> Response:
    return redirect(safe_next(request.form.get("next")) or url_for(default))


@bp.get("/")
def catalogue() -> str:
    """Every product, with an Add to cart button each."""
    products = db.session.execute(select(Product).order_by(Product.name)).scalars().all()
    return render_template("shop/catalogue.html", products=products)


@bp.get("/products/<int:product_id>")
def product(product_id: int) -> str:
    """One product's page."""
    item = db.get_or_404(Product, product_id, description="There is no such product.")
    return render_template("shop/product.html", product=item, structured_data=product_structured_data(item))


def product_structured_data(item: Product) -> dict[str, object]:
    """schema.org ``Product`` with its ``Offer``, as JSON-LD for search engines."""
    url = url_for("shop.product", product_id=item.id, _external=True)
    in_stock = "https://schema.org/InStock" if item.stock > 0 else "https://schema.org/OutOfStock"
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.name,
        "description": item.description,
        "sku": item.slug,
        "image": url_for("static", filename=f"products/{item.image}", _external=True),
        "url": url,
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": f"{item.price_cents // 100}.{item.price_cents % 100:02d}",
            "priceCurrency": "USD",
            "availability": in_stock,
        },
    }


@bp.get("/cart")
def cart() -> str:
    """The cart of the current identity."""
    # Loaded before the page renders, so that the navigation's count comes from it (no second query).
    return render_template(
        "shop/cart.html", cart=current_cart(), offer_options=Identity.of(current_record()) is Identity.NOBODY
    )


@bp.post("/cart")
def cart_save() -> Response | tuple[str, int]:
    """The cart page is one form: its Update buttons and its Checkout button both save every
    quantity typed, so a quantity changed without pressing Update still counts at checkout. A
    quantity the shop refuses is shown at its line, as typed, and nothing goes on to checkout."""
    record = current_record()
    if record is None:
        return redirect(url_for("shop.cart"))
    cart = current_cart()
    typed = {line.product_id: request.form.get(f"quantity-{line.product_id}") for line in cart.lines}
    wanted, errors = read_quantities(typed)
    changed, refused = set_quantities(record.id, cart, wanted)
    errors |= refused
    if errors:
        return render_template(
            "shop/cart.html", cart=current_cart(), offer_options=False, line_errors=errors, typed=typed
        ), 400
    if request.form.get("action") == "checkout":
        return redirect(url_for("shop.checkout"))
    if len(changed) == 1:
        flash(f"Updated {changed[0].product.name} to {changed[0].quantity}.", "success")
    elif changed:
        flash("Updated the quantities in your cart.", "success")
    else:
        flash("Your cart is up to date.", "info")
    return redirect(url_for("shop.cart"))


@bp.post("/cart/add")
def cart_add() -> Response:
    """Add a product; in lazy mode the first add signs the visitor in anonymously."""
    form = AddToCartForm()
    if not form.validate():
        flash(_form_errors(form), "error")
        return _back("shop.catalogue")
    quantity = form.quantity.data or 1
    record = current_record()
    try:
        if record is None:
            # Check the add before an identity is made for it: an add that fails (no such product,
            # sold out) must not leave a guest record behind.
            check_quantity(quantity, get_product(form.product_id.data))
        owner = guests.cart_owner_for(record)
        if owner is None:
            flash("To start a cart, continue as a guest or sign in.", "info")
            return redirect(url_for("shop.checkout"))
        line = add_item(owner.id, form.product_id.data, quantity)
    except AuthError as error:
        flash(f"We couldn't start a cart for you: {error.message}", "error")
        return _back("shop.catalogue")
    except CartError as error:
        flash(error.message, "error")
        return _back("shop.catalogue")
    flash(f"Added {line.product.name} to your cart.", "success")
    return _back()


@bp.post("/cart/update")
def cart_update() -> Response:
    """Change a line's quantity."""
    form = CartLineForm()
    owner_id = _owner_id()
    if owner_id is None:
        return redirect(url_for("shop.cart"))
    if not form.validate():
        flash(_form_errors(form), "error")
        return redirect(url_for("shop.cart"))
    try:
        line = set_quantity(owner_id, form.product_id.data, form.quantity.data)
    except CartError as error:
        flash(error.message, "error")
    else:
        flash(f"Updated {line.product.name} to {line.quantity}.", "success")
    return redirect(url_for("shop.cart"))


@bp.post("/cart/remove")
def cart_remove() -> Response:
    """Remove a line."""
    form = RemoveLineForm()
    owner_id = _owner_id()
    if owner_id is None:
        return redirect(url_for("shop.cart"))
    if not form.validate():
        flash(_form_errors(form), "error")
        return redirect(url_for("shop.cart"))
    remove_item(owner_id, form.product_id.data)
    flash("Removed the item from your cart.", "success")
    return redirect(url_for("shop.cart"))


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> Response | str | tuple[str, int]:
    """Checkout options for visitors without a full account, else the checkout form."""
    record = current_record()
    if request.method == "POST" and request.form.get("action") == "guest-checkout":
        if not guests.needs_checkout_options(record):
            return redirect(url_for("shop.checkout"))  # already a guest customer or an account
        try:
            guests.continue_as_guest(record)
        except AuthError as error:
            return render_template("shop/checkout_options.html", guest_error=error.message), (error.status)
        # No flash: the form page itself says so for every guest, on every rendering.
        return redirect(url_for("shop.checkout"))

    if record is None or guests.needs_checkout_options(record):
        return render_template("shop/checkout_options.html", guest_error=None)

    form = CheckoutForm()
    if request.method == "GET":
        if (empty := _empty_cart_redirect()) is not None:
            return empty
        form.checkout_key.data = new_checkout_key()
        if Identity.of(record) is Identity.ACCOUNT:
            fill_saved_details(form, record.id, record.email)
    elif form.validate_on_submit():
        contact = ContactDetails(
            email=form.email.data.strip(),
            full_name=form.full_name.data.strip(),
            address=form.address.data.strip(),
            city=form.city.data.strip(),
            postal_code=form.postal_code.data.strip(),
            country=country_name(form.country.data) or form.country.data,
        )
        try:
            order = place_order(record, contact, form.checkout_key.data)
        except CheckoutError as error:
            flash(error.message, "error")
            return redirect(url_for("shop.cart"))
        send_receipt(order)  # after the order's commit: a failed mail never loses the order
        if Identity.of(record) is Identity.ACCOUNT and form.save_details.data:
            save_delivery(record.id, delivery_of(form))
        # Post/Redirect/Get: the confirmation is a page of its own, so reload never posts the form again.
        return redirect(url_for("shop.order", number=order.number))
    # Back after placing an order: the form it came from must not stand there flagged as failed.
    if form.errors and (empty := _empty_cart_redirect()) is not None:
        return empty
    if form.checkout_key.errors:
        # The hidden one-time key was missing or altered: nothing the shopper could correct, and sent
        # back as it was it would fail again. The page gets a new key and says what to do.
        form.checkout_key.data = new_checkout_key()
        flash("This order form was incomplete. Check your details and press Place order again.", "error")
    return render_template("shop/checkout.html", form=form), 400 if form.errors else 200


def _empty_cart_redirect() -> Response | None:
    """Where the checkout goes with an empty cart: to the order just placed (Back from its
    confirmation lands there again, not on a stale form), else to the cart, which says it is empty."""
    if current_cart():
        return None
    recent = latest_order(current_record(), within=RECENT_ORDER)
    if recent is not None:
        return redirect(url_for("shop.order", number=recent.number))
    flash("Your cart is empty. Add something before checking out.", "info")
    return redirect(url_for("shop.cart"))


def delivery_of(form: DeliveryForm) -> Delivery:
    """The delivery details of a valid checkout or account form."""
    return Delivery(
        full_name=form.full_name.data.strip(),
        address=form.address.data.strip(),
        city=form.city.data.strip(),
        postal_code=form.postal_code.data.strip(),
        country=form.country.data,
    )


def fill_saved_details(form: CheckoutForm, owner_id: str, email: str) -> None:
    """A full account's checkout starts with its email and saved delivery details."""
    form.email.data = email
    saved = saved_delivery(owner_id)
    if saved is not None:
        form.full_name.data, form.address.data, form.city.data = saved.full_name, saved.address, saved.city
        form.postal_code.data, form.country.data = saved.postal_code, saved.country


@bp.get("/orders/<number>")
def order(number: str) -> str:
    """An order's confirmation page: only for the record that placed it (anyone else: 404)."""
    placed = order_for(current_record(), number)
    if placed is None:
        abort(404)
    # Without a receipt the shopper's only other way back to the order is its link: show it here.
    unsent_receipt_link = None if placed.receipt_sent_at else order_link(placed)
    return render_template("shop/order.html", order=placed, unsent_receipt_link=unsent_receipt_link)


def format_money(cents: int) -> str:
    """Integer cents as dollars: ``123456`` is ``$1,234.56``."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def _greet_on_arrival() -> None:
    """``before_request``: in eager mode, nobody viewing a page is offered a guest account."""
    if guests.creation_mode() != "eager":
        return
    if request.method != "GET" or request.blueprint == "api" or request.endpoint in (None, "static"):
        return
    if current_record() is not None:
        return
    returned = guests.PROBE_COOKIE in request.cookies
    if guests.greet_on_arrival(request.headers.get("User-Agent"), returned):
        g.set_probe_cookie = True


def _set_probe_cookie(response: Response) -> Response:
    if g.pop("set_probe_cookie", False):
        response.set_cookie(
            guests.PROBE_COOKIE,
            "1",
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["AUTH_COOKIE_SECURE"],
        )
    return response


# Pages with a shopper's cart, details or order: never stored, so Back asks the server again and
# shows the cart and the order as they are now, not a copy from before the order was placed.
_PERSONAL_PAGES = frozenset({"shop.cart", "shop.cart_save", "shop.checkout", "shop.order"})


@bp.after_request
def no_store_personal_pages(response: Response) -> Response:
    if request.endpoint in _PERSONAL_PAGES:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Template helpers and the eager-creation hooks."""
    app.before_request(_greet_on_arrival)
    app.after_request(_set_probe_cookie)
    app.add_template_filter(format_money, "money")
    app.jinja_env.globals["max_line_quantity"] = MAX_LINE_QUANTITY

    @app.context_processor
    def inject_cart() -> dict[str, object]:
        return {"cart": LocalProxy(current_cart), "cart_count": LocalProxy(current_cart_count)}
