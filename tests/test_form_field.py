"""The form-field macro writes each <input> itself (it is worth about a tenth of the guest-checkout
flow); it must give exactly the attributes WTForms' own widget would, for every form field the
templates render with it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import Flask
from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from storefront.account.forms import ChangeEmailForm
from storefront.account.forms import ChangePasswordForm
from storefront.account.forms import LoginForm
from storefront.account.forms import RegisterForm
from storefront.account.forms import UpgradeForm
from storefront.shop.forms import CheckoutForm


class _EveryFlag(FlaskForm):
    """The flags the macro writes that no form of the shop uses yet (minlength, an optional field)."""

    code = StringField("Code", validators=[Length(min=4, max=8)])
    note = StringField("Note", validators=[Optional()])
    secret = PasswordField("Secret", validators=[InputRequired(), Length(min=12)])


FORMS: list[type[FlaskForm]] = [
    _EveryFlag,
    CheckoutForm,
    LoginForm,
    RegisterForm,
    UpgradeForm,
    ChangeEmailForm,
    ChangePasswordForm,
]
TEXT_LIKE = {"text", "email", "password"}
# Text a shopper might type, with everything HTML would need escaped.
TYPED = 'Zoë "Z" <b>O\'Neil</b> & co'


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.labels: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))
        elif tag == "label":
            self.labels.append(dict(attrs))


def _parse(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    return parser


def _text_fields(form: FlaskForm) -> list[Field]:
    return [f for f in form if getattr(f.widget, "input_type", None) in TEXT_LIKE]


def _wtforms_input(f: Field, autocomplete: str) -> dict[str, str | None]:
    extra = {"aria-describedby": f"{f.id}-error", "aria-invalid": "true"} if f.errors else {}
    [attrs] = _parse(str(f(autocomplete=autocomplete, **extra))).inputs
    return attrs


@pytest.mark.parametrize("form_class", FORMS, ids=lambda form: form.__name__)
@pytest.mark.parametrize("with_errors", [False, True], ids=["fresh", "with-errors"])
def test_the_macro_writes_what_wtforms_would(
    app: Flask, form_class: type[FlaskForm], with_errors: bool
) -> None:
    with app.test_request_context("/", method="POST", data={}):
        form = form_class(meta={"csrf": False})
        names = [f.name for f in _text_fields(form)]
    assert names, f"{form_class.__name__} has no text-like field"
    body = {name: TYPED for name in names}
    if with_errors:
        body = {name: "" for name in names}  # required fields left empty: every one has an error
    with app.test_request_context("/", method="POST", data=body):
        form = form_class(meta={"csrf": False})
        if with_errors:
            form.validate()
        for f in _text_fields(form):
            rendered = render_template_string(
                '{% from "_form_field.html" import field %}{{ field(f, autocomplete="on") }}', f=f
            )
            parsed = _parse(rendered)
            [mine] = parsed.inputs
            assert mine == _wtforms_input(f, "on"), f.name
            assert parsed.labels == [{"for": f.id}]
            assert f.label.text in rendered
            assert (f'id="{f.id}-error"' in rendered) == bool(f.errors)
        if with_errors:
            assert any(f.errors for f in _text_fields(form))


def test_values_are_escaped(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data={"full_name": TYPED}):
        form = CheckoutForm(meta={"csrf": False})
        rendered = render_template_string(
            '{% from "_form_field.html" import field %}{{ field(form.full_name) }}', form=form
        )
    assert "<b>" not in rendered
    [attrs] = _parse(rendered).inputs
    assert attrs["value"] == TYPED
    assert "autocomplete" not in attrs  # no autocomplete="None" when none is given
