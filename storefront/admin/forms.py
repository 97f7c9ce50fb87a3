"""Forms of the admin pages (every POST carries a CSRF token through Flask-WTF)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import SubmitField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from .cleanup import auth_collections
from .cleanup import default_inactive_days
from .cleanup import MAX_INACTIVE_DAYS
from .cleanup import MIN_INACTIVE_DAYS

ALL = "all"


class DaysField(IntegerField):
    """A whole number of days, with a message an admin can act on when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter the number of days as a whole number, such as 30.") from error


class CollectionField(SelectField):
    """The collection choice, naming the valid choices when it gets another value."""

    def pre_validate(self, form: Any) -> None:
        values = [str(choice[0]) for choice in self.choices or []]
        if self.data not in values:
            raise ValidationError(f"Choose one of: {', '.join(values)}.")


class CleanupForm(FlaskForm):
    """The criteria of a cleanup, and the two things to do with them."""

    inactive_days = DaysField(
        "Inactive for at least (days)",
        default=default_inactive_days,
        validators=[
            InputRequired(message="Enter a number of days."),
            NumberRange(
                min=MIN_INACTIVE_DAYS,
                max=MAX_INACTIVE_DAYS,
                message=f"Enter a number of days from {MIN_INACTIVE_DAYS} to {MAX_INACTIVE_DAYS}.",
            ),
        ],
    )
    collection = CollectionField("Collection", default=ALL)
    preview = SubmitField("Preview")
    delete = SubmitField("Delete inactive guest accounts")
    # Delete comes after a preview: the count it showed, and the admin's tick beside that count.
    expected = IntegerField(validators=[Optional(), NumberRange(min=0)])
    confirm = BooleanField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.collection.choices = [(ALL, "All collections")] + [(name, name) for name in auth_collections()]

    @property
    def collection_name(self) -> str | None:
        """The chosen collection, ``None`` for all of them."""
        value = self.collection.data
        return None if value in (None, ALL) else str(value)


class ContinueForm(FlaskForm):
    """Go on with a cleanup run (a POST: it deletes)."""

    submit = SubmitField("Continue")
