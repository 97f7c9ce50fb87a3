"""Static files: content-fingerprinted URLs with year-long caching, the favicon, and compression.

``url_for('static', filename=...)`` adds ``?v=<first 12 hex digits of the file's SHA-256>``. A
request carrying the file's current fingerprint is answered with ``Cache-Control: public,
max-age=31536000, immutable``: the URL changes whenever the content does, so a browser never has to
ask again. Anything else (no ``v``, an old one) keeps Flask's revalidating default. A query string,
not a renamed file, carries the fingerprint, so there is no build step and no manifest to ship.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import current_app
from flask import Flask
from flask import request
from flask import Response
from flask import send_from_directory

from .extensions import compress

FINGERPRINT_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
# /favicon.ico is asked for by name (browsers, crawlers), so it cannot be fingerprinted: a day.
FAVICON_CACHE = "public, max-age=86400"

# filename -> (modification time, fingerprint): a file is read again only when it changes.
_fingerprints: dict[str, tuple[int, str]] = {}


def fingerprint(static_folder: str, filename: str) -> str | None:
    """The content fingerprint of a static file, ``None`` if there is no such file."""
    path = os.path.join(static_folder, filename)
    try:
        modified = os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None
    cached = _fingerprints.get(path)
    if cached is not None and cached[0] == modified:
        return cached[1]
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()[:FINGERPRINT_LENGTH]
    _fingerprints[path] = (modified, digest)
    return digest


def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    """``url_defaults``: a static URL carries its file's fingerprint."""
    if endpoint != "static" or "v" in values or current_app.static_folder is None:
        return
    filename = values.get("filename")
    if isinstance(filename, str) and (digest := fingerprint(current_app.static_folder, filename)):
        values["v"] = digest


def prepare_static(response: Response) -> Response:
    """``after_request``, before compression: year-long, immutable caching for a static file asked
    for by its current fingerprint.

    The file is also read whole (they are a few KiB): Flask-Compress then compresses it as it does a
    page, and the file is closed with the response. Streamed, its compressor replaces the file's
    iterator and the file is never closed.
    """
    if request.endpoint not in ("static", "favicon") or current_app.static_folder is None:
        return response
    if response.direct_passthrough:
        response.make_sequence()
        response.direct_passthrough = False
    if request.endpoint != "static" or response.status_code != 200:
        return response
    filename = (request.view_args or {}).get("filename")
    wanted = request.args.get("v")
    if wanted and isinstance(filename, str) and wanted == fingerprint(current_app.static_folder, filename):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def favicon() -> Response:
    """``/favicon.ico``, where browsers and crawlers look for it whatever the page says."""
    assert current_app.static_folder is not None
    response = send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon")
    response.headers["Cache-Control"] = FAVICON_CACHE
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(add_fingerprint)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    # after_request functions run last-registered first: prepare_static runs before compression.
    compress.init_app(app)
    app.after_request(prepare_static)
