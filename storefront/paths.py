"""Where the app finds the folders that sit beside the package.

In a source checkout (and an editable install) ``templates/``, ``static/`` and ``migrations/`` live at
the top of the repository; a built wheel carries them inside the package (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> str:
    """Return the folder ``name`` from inside the package if it is there, else from the repository."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return str(inside)
    return str(_PACKAGE.parent / name)
