"""``?fields=``: every successful JSON answer keeps only the fields a client asks for, as PocketBase.

``fields=token,record.id`` keeps ``token`` and the ``id`` of ``record``; ``*`` keeps every key of its
level that no other path names (``*,record.id``: everything, but of ``record`` only ``id``); a path
into a list applies to each of its items; in a list answer (``{"page", ..., "items"}``) the paths
apply to each item, so the same ``fields`` serves a list and a single record. PocketBase's value
modifiers (``description:excerpt(200)``) are not supported: the field is kept whole.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import request
from flask import Response

MAX_FIELDS_LENGTH = 1000


def parse_fields(raw: str) -> list[str]:
    """The paths of a ``fields`` value, each without its modifier."""
    paths = []
    for part in raw[:MAX_FIELDS_LENGTH].split(","):
        path = part.split(":", 1)[0].strip()
        if path:
            paths.append(path)
    return paths


def pick(data: Any, paths: list[str]) -> Any:
    """``data`` with only ``paths`` kept (see the module docstring)."""
    if not paths:
        return data
    if isinstance(data, list):
        return [pick(item, paths) for item in data]
    if not isinstance(data, dict):
        return data
    kept: dict[str, Any] = {}
    star = "*" in paths
    for key, value in data.items():
        rests = [path[len(key) + 1 :] for path in paths if path.startswith(key + ".")]
        if key in paths or (star and not rests):
            kept[key] = value
        elif rests:
            kept[key] = pick(value, rests)
    return kept


def api_json(data: Any, status: int = 200, *, list_result: bool = False) -> Response:
    """A JSON answer, trimmed by the request's ``fields`` parameter."""
    paths = parse_fields(request.args.get("fields", ""))
    if paths:
        if list_result and isinstance(data, dict):
            data = {**data, "items": pick(data.get("items", []), paths)}
        else:
            data = pick(data, paths)
    response = jsonify(data)
    response.status_code = status
    return response
