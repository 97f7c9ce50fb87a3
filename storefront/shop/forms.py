"""Shop forms. Quantities are validated here (whole numbers) and against stock in ``cart.py``."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import Field
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import SelectField
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
from .countries import country_choices
from .countries import country_code
from .countries import country_name

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


class CountryField(SelectField):
    """The country, as an ISO 3166-1 alpha-2 code from the list; anything else is refused.

    A country's name as the list spells it is taken too (any case), as its code: the JSON API's
    clients send names.
    """

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, choices=country_choices, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and country_name(valuelist[0]) is None:
            valuelist = [country_code(valuelist[0]) or valuelist[0], *valuelist[1:]]
        super().process_formdata(valuelist)

    def pre_validate(self, form: FlaskForm) -> None:
        if self.data and country_name(self.data) is None:
            raise ValidationError("Choose a country from the list.")


class DeliveryForm(FlaskForm):
    """Where an order goes: the checkout's delivery fields, and an account's saved details."""

    full_name = StringField(
        "Full name", validators=[DataRequired("Enter the name to deliver to."), Length(max=120), printable]
    )
    address = StringField(
        "Address",
        validators=[
            DataRequired("Enter the street address."),
            Length(max=200),
            printable,
        ],
    )
    city = StringField(
        "City", validators=[DataRequired("Enter the town or city."), Length(max=100), printable]
    )
    postal_code = StringField(
        "Postal code", validators=[DataRequired("Enter the postal code."), Length(max=20), printable]
    )
    country = CountryField("Country", validators=[DataRequired("Choose the country to deliver to.")])


class CheckoutForm(DeliveryForm):
    """The contact and delivery details of an order."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter an email for the receipt."),
            Email("Enter an email address like name@example.com."),
            Length(max=EMAIL_MAX_LENGTH),
        ],
    )
    checkout_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    # Offered to full accounts only: a guest has nowhere to keep them.
    save_details = BooleanField("Save these delivery details for next time", default=True)
