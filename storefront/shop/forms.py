"""Shop forms. Quantities are validated here (whole numbers) and against stock in ``cart.py``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from ..models import MAX_INTEGER_ID

_QUANTITY_RANGE = NumberRange(min=1, max=99, message="Quantity must be a whole number from 1 to 99.")
# An id no product can have is refused here: the database could not even look it up.
_PRODUCT_ID = NumberRange(min=1, max=MAX_INTEGER_ID, message="That product is no longer available.")


class AddToCartForm(FlaskForm):
    """Add to cart: the quantity may be left out (one)."""

    product_id = IntegerField("Product", validators=[InputRequired(), _PRODUCT_ID])
    quantity = IntegerField("Quantity", default=1, validators=[Optional(), _QUANTITY_RANGE])


class CartLineForm(FlaskForm):
    """Change a line's quantity."""

    product_id = IntegerField("Product", validators=[InputRequired(), _PRODUCT_ID])
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Enter a quantity."),
            _QUANTITY_RANGE,
        ],
    )


class RemoveLineForm(FlaskForm):
    product_id = IntegerField("Product", validators=[InputRequired(), _PRODUCT_ID])


class CheckoutForm(FlaskForm):
    """The contact and delivery details of an order."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email for the receipt."), Email(), Length(max=254)],
    )
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    address = StringField("Address", validators=[DataRequired(), Length(max=200)])
    city = StringField("City", validators=[DataRequired(), Length(max=100)])
    postal_code = StringField("Postal code", validators=[DataRequired(), Length(max=20)])
    country = StringField("Country", validators=[DataRequired(), Length(max=100)])
    checkout_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
