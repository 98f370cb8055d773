"""PICS: what a device under test declares it supports, as on its certificate.

A case needing an item the device does not declare is "not applicable", never
"pass". Files here are TOML with the certificate's item ids as keys; a user's file
(format in ``docs/pics.md``) is checked first: an item the bench does not know is an
error (a typo would otherwise make cases silently n/a).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED = ("agent", "seed-charger", "csms", "seed-csms")


ROLES = ("cs", "csms")
#: Items a case reads with a default rather than requires (see docs/pics.md).
READ_ITEMS = {
    "cs": {"ORS-4", "ORS-5", "AQ-1", "C-03", "C-05", "SEC-3"},
    "csms": {"response-timeout", "milliseconds-in-timestamps"},
}
#: Families of items whose names the user chooses (``idtag.valid``, ``security.url.2``).
ITEM_PREFIXES = {"cs": (), "csms": ("idtag.", "security.url.")}


class PicsError(ValueError):
    """A PICS file the bench cannot take (one line: the file and what is wrong)."""


def _shipped(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text()
    return tomllib.loads(text)


def known_items(role: str) -> set[str]:
    """Every item a PICS of ``role`` may declare: the shipped PICS' items, what the
    catalogue's cases require, and what they read."""
    from bench.scenarios.registry import all_scenarios

    known = set(READ_ITEMS[role])
    for name in SHIPPED:
        data = _shipped(name)
        if data.get("role", "cs") == role:
            known.update(data.get("items", {}))
    for case in all_scenarios().values():
        if case.role == role:
            known.update(item.lstrip("!") for item in case.requires)
    return known


def validate_pics(data: dict[str, Any], source: str) -> None:
    """Refuse a PICS with unknown top-level keys, a wrong role or an unknown item."""
    unknown_top = set(data) - {"name", "role", "items"}
    if unknown_top:
        raise PicsError(
            f"{source}: unknown key(s) {sorted(unknown_top)}; expected name, role, [items]"
        )
    role = data.get("role", "cs")
    if role not in ROLES:
        raise PicsError(f"{source}: role {role!r} is not cs or csms")
    items = data.get("items", {})
    if not isinstance(items, dict):
        raise PicsError(f"{source}: [items] must be a table of item = value")
    known = known_items(role)
    unknown = sorted(
        item for item in items if item not in known and not item.startswith(ITEM_PREFIXES[role])
    )
    if unknown:
        raise PicsError(
            f"{source}: unknown {role} PICS item(s) {', '.join(unknown)} (docs/pics.md lists them)"
        )
    for item, value in items.items():
        if not isinstance(value, bool | int | float | str | list):
            raise PicsError(f"{source}: item {item} has a {type(value).__name__} value")


def load_pics(name_or_path: str) -> dict[str, Any]:
    """A shipped profile by name (``agent``, ``seed-charger``, ``csms``) or a TOML file
    (validated: :class:`PicsError` for an unknown item or an unreadable file)."""
    if name_or_path in SHIPPED:
        data = _shipped(name_or_path)
    else:
        try:
            with Path(name_or_path).open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise PicsError(f"PICS file {name_or_path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PicsError(f"PICS file {name_or_path} is not TOML: {exc}") from None
        validate_pics(data, name_or_path)
    items = dict(data.get("items", {}))
    items["_name"] = data.get("name", name_or_path)
    items["_role"] = data.get("role", "cs")
    return items
