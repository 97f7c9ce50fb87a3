"""Shop forms. Quantities are validated here (whole numbers) and against stock in ``cart.py``."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import Field
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from ..auth import EMAIL_MAX_LENGTH
from ..models import MAX_INTEGER_ID
from .cart import MAX_LINE_QUANTITY

_QUANTITY_RANGE = NumberRange(
    min=1, max=MAX_LINE_QUANTITY, message=f"Quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}."
)
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


def printable(form: FlaskForm, field: Field) -> None:
    """No control characters (NUL, tabs, escapes) inside what is stored: none belongs on a delivery
    label, and PostgreSQL cannot store a NUL at all. Space around the text is trimmed anyway."""
    if field.data and any(unicodedata.category(char) == "Cc" for char in field.data.strip()):
        raise ValidationError("Use letters, digits, spaces and punctuation: no tabs or control characters.")


class CheckoutForm(FlaskForm):
    """The contact and delivery details of an order."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email for the receipt."), Email(), Length(max=EMAIL_MAX_LENGTH)],
    )
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120), printable])
    address = StringField("Address", validators=[DataRequired(), Length(max=200), printable])
    city = StringField("City", validators=[DataRequired(), Length(max=100), printable])
    postal_code = StringField("Postal code", validators=[DataRequired(), Length(max=20), printable])
    country = StringField("Country", validators=[DataRequired(), Length(max=100), printable])
    checkout_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
