"""List answers with PocketBase's parameters: ``page``, ``perPage``, ``sort``, ``filter``, ``skipTotal``.

The answer is ``{"page", "perPage", "totalItems", "totalPages", "items"}``. ``sort`` is a comma list
of fields, ``-`` before one for descending. ``filter`` is a subset of PocketBase's filter language,
enough for what a shop's client asks: comparisons ``field op value`` with ``=``, ``!=``, ``>``,
``>=``, ``<``, ``<=``, ``~`` (contains, case-insensitive) and ``!~``, joined by ``&&`` and ``||``,
grouped with parentheses; values are quoted text, numbers, ``true``, ``false`` or ``null``. Each
collection names the fields a client may sort and filter on; anything else is a 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import UTC
from typing import Any

from flask import request
from sqlalchemy import and_
from sqlalchemy import ColumnElement
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from ..extensions import db
from .errors import ApiError

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000  # PocketBase's: a larger perPage is lowered to it
MAX_FILTER_LENGTH = 2000
MAX_FILTER_DEPTH = 20
MAX_PAGE = 10**9  # beyond it the row offset overflows what a database can skip

Column = InstrumentedAttribute[Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<text>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>&&|\|\||!=|>=|<=|!~|=|>|<|~|\(|\))
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"=", "!=", ">", ">=", "<", "<=", "~", "!~"}


class BadQuery(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadQuery(f"Invalid {name} parameter: use a whole number.") from None


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    skip_total: bool


def page_args() -> Page:
    """``page`` (from 1) and ``perPage`` (1 to 1000, default 30), normalised as PocketBase does."""
    number = _int_arg("page", 1)
    per_page = _int_arg("perPage", DEFAULT_PER_PAGE)
    if number < 1:
        number = 1
    if number > MAX_PAGE:
        raise BadQuery("Invalid page parameter: that page is out of range.")
    if per_page < 1:
        per_page = DEFAULT_PER_PAGE
    per_page = min(per_page, MAX_PER_PAGE)
    skip_total = request.args.get("skipTotal", "").lower() in {"1", "true"}
    return Page(number, per_page, skip_total)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise BadQuery("Invalid filter parameters.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _FilterParser:
    """Recursive descent over the tokens: ``or := and ('||' and)*``, ``and := atom ('&&' atom)*``,
    ``atom := '(' or ')' | field op value``."""

    def __init__(self, tokens: list[tuple[str, str]], columns: Mapping[str, Column]) -> None:
        self.tokens = tokens
        self.position = 0
        self.columns = columns
        self.depth = 0

    def parse(self) -> ColumnElement[bool]:
        expression = self._or()
        if self.position != len(self.tokens):
            raise BadQuery("Invalid filter parameters.")
        return expression

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise BadQuery("Invalid filter parameters.")
        self.position += 1
        return token

    def _or(self) -> ColumnElement[bool]:
        parts = [self._and()]
        while self._peek() == ("op", "||"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def _and(self) -> ColumnElement[bool]:
        parts = [self._atom()]
        while self._peek() == ("op", "&&"):
            self._next()
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def _atom(self) -> ColumnElement[bool]:
        if self._peek() == ("op", "("):
            self._next()
            self.depth += 1
            if self.depth > MAX_FILTER_DEPTH:
                raise BadQuery("Invalid filter parameters: too deeply nested.")
            inner = self._or()
            if self._next() != ("op", ")"):
                raise BadQuery("Invalid filter parameters.")
            self.depth -= 1
            return inner
        kind, name = self._next()
        if kind != "word" or name not in self.columns:
            raise BadQuery(f"Invalid filter parameters: {name!r} is not a field you can filter on.")
        kind, op = self._next()
        if kind != "op" or op not in _COMPARISONS:
            raise BadQuery("Invalid filter parameters.")
        return _compare(self.columns[name], op, _value(self._next()))


def _value(token: tuple[str, str]) -> Any:
    kind, raw = token
    if kind == "text":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if kind == "number":
        number = float(raw) if "." in raw else int(raw)
        if isinstance(number, int) and abs(number) > 2**31 - 1:
            raise BadQuery("Invalid filter parameters: the number is out of range.")
        return number
    if kind == "word" and raw in {"true", "false", "null"}:
        return {"true": True, "false": False, "null": None}[raw]
    raise BadQuery("Invalid filter parameters.")


def _like_pattern(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{text}%"


def _compare(column: Column, op: str, value: Any) -> ColumnElement[bool]:
    python_type = _python_type(column)
    if op in {"~", "!~"}:
        if python_type is not str or value is None:
            raise BadQuery("Invalid filter parameters: ~ and !~ compare text fields with text.")
        contains = func.lower(column).like(_like_pattern(value).lower(), escape="\\")
        return contains if op == "~" else ~contains
    if python_type is datetime and isinstance(value, str):
        value = _datetime(value)
    if isinstance(value, bool) and python_type is not bool:
        raise BadQuery(f"Invalid filter parameters: {value!r} is not a valid value for that field.")
    if value is not None and python_type is not None and not isinstance(value, python_type):
        if python_type is int and isinstance(value, float):
            pass  # a price compared with 12.5 is a fair question
        else:
            raise BadQuery(f"Invalid filter parameters: {value!r} is not a valid value for that field.")
    comparisons: dict[str, Callable[[], ColumnElement[bool]]] = {
        "=": lambda: column.is_(None) if value is None else column == value,
        "!=": lambda: column.is_not(None) if value is None else column != value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
    }
    if value is None and op not in {"=", "!="}:
        raise BadQuery("Invalid filter parameters: null can only be compared with = or !=.")
    return comparisons[op]()


def _datetime(text: str) -> datetime:
    """A time as PocketBase writes it (``2026-12-01 14:09:39.013Z``) or any ISO 8601 form; UTC if bare."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"Invalid filter parameters: {text!r} is not a date.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _python_type(column: Column) -> type | None:
    try:
        python_type: type = column.type.python_type
    except NotImplementedError:
        return None
    return python_type


def filter_clause(columns: Mapping[str, Column]) -> ColumnElement[bool] | None:
    """The request's ``filter`` as a WHERE clause over ``columns``, or None when there is none."""
    raw = request.args.get("filter", "").strip()
    if not raw:
        return None
    if len(raw) > MAX_FILTER_LENGTH or "\x00" in raw:
        raise BadQuery("Invalid filter parameters: the filter is too long.")
    return _FilterParser(_tokens(raw), columns).parse()


def sort_clauses(columns: Mapping[str, Column], default: str) -> list[ColumnElement[Any]]:
    """The request's ``sort`` (``-price,name``) as ORDER BY clauses over ``columns``."""
    raw = request.args.get("sort", "").strip() or default
    clauses: list[ColumnElement[Any]] = []
    for part in raw.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-")
        if name not in columns:
            raise BadQuery(f"Invalid sort parameter: {name!r} is not a field you can sort by.")
        clauses.append(columns[name].desc() if descending else columns[name].asc())
    return clauses


def list_answer(
    query: Select[Any],
    columns: Mapping[str, Column],
    to_dict: Callable[[Any], dict[str, Any]],
    *,
    default_sort: str,
    tie_breaker: Column,
) -> dict[str, Any]:
    """Run ``query`` (which selects one entity) with the request's parameters and build the answer."""
    page = page_args()
    condition = filter_clause(columns)
    if condition is not None:
        query = query.where(condition)
    total = -1
    if not page.skip_total:
        total = db.session.execute(
            select(func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
    ordered = query.order_by(*sort_clauses(columns, default_sort), tie_breaker)
    rows = db.session.execute(ordered.limit(page.per_page).offset((page.number - 1) * page.per_page))
    items = [to_dict(item) for item in rows.scalars().unique()]
    return {
        "page": page.number,
        "perPage": page.per_page,
        "totalItems": total,
        "totalPages": -1 if total < 0 else math.ceil(total / page.per_page),
        "items": items,
    }
