"""The countries a delivery can go to: ISO 3166-1 from pycountry, not a list kept by hand."""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def country_choices() -> list[tuple[str, str]]:
    """``(alpha-2 code, name)`` of every country, by name; the shorter common name where ISO's
    official one reads awkwardly ("Bolivia", not "Bolivia, Plurinational State of")."""
    countries = [
        (country.alpha_2, getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    ]
    return sorted(countries, key=lambda choice: choice[1].casefold())


@cache
def _names() -> dict[str, str]:
    return dict(country_choices())


def country_name(code: str | None) -> str | None:
    """The name of the country with this alpha-2 code, ``None`` for no such country."""
    return _names().get(code or "")


def country_code(name: str | None) -> str | None:
    """The alpha-2 code of a country named exactly as in the list (any case), else ``None``."""
    wanted = (name or "").strip().casefold()
    return next((code for code, label in country_choices() if label.casefold() == wanted), None)
