"""PICS: what a device under test declares it supports, as on its certificate.

A case needing an item the device does not declare is "not applicable", never
"pass". Files here are TOML with the certificate's item ids as keys.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED = ("agent", "seed-charger", "csms", "seed-csms")


def load_pics(name_or_path: str) -> dict[str, Any]:
    """A shipped profile by name (``agent``, ``seed-charger``, ``csms``) or a TOML file."""
    if name_or_path in SHIPPED:
        text = resources.files(__package__).joinpath(f"{name_or_path}.toml").read_text()
        data = tomllib.loads(text)
    else:
        with Path(name_or_path).open("rb") as handle:
            data = tomllib.load(handle)
    items = dict(data.get("items", {}))
    items["_name"] = data.get("name", name_or_path)
    items["_role"] = data.get("role", "cs")
    return items
