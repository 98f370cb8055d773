"""Saved selections of scenarios, shared by every panel user: ``STATE/web/selections.json``."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from web.errors import BenchError
from web.live_state import now_iso

SELECTION_NAME = re.compile(r"^[\w .:-]{1,60}$")


class Selections:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def all(self) -> dict[str, Any]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def save(self, name: Any, ids: list[str], user: str) -> None:
        if not isinstance(name, str) or not SELECTION_NAME.match(name):
            raise BenchError("a selection name is 1-60 letters, digits, spaces or . : _ -")
        with self._lock:
            data = self._read()
            data[name] = {"cases": ids, "saved_by": user, "saved": now_iso()}
            self._write(data)

    def delete(self, name: str) -> None:
        with self._lock:
            data = self._read()
            if name not in data:
                raise BenchError(f"no selection {name!r}", 404)
            del data[name]
            self._write(data)

    def cases(self, name: str) -> list[str]:
        saved = self.all().get(name)
        if saved is None:
            raise BenchError(f"no selection {name!r}", 404)
        return list(saved["cases"])
