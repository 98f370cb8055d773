"""Configuration keys as each charge point last reported them."""

from __future__ import annotations

from typing import Any

from bench.csms.store.base import Database


class ConfigurationRows(Database):
    def record_configuration(self, cp_id: str, keys: list[dict[str, Any]], ts: str) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO configuration (cp_id, key, value, readonly, reported_ts)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (cp_id, k["key"], k.get("value"), int(bool(k.get("readonly"))), ts)
                    for k in keys
                    if "key" in k
                ],
            )

    def configuration(self, cp_id: str) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM configuration WHERE cp_id = ? ORDER BY key", (cp_id,))
        for row in rows:
            row["readonly"] = bool(row["readonly"])
        return rows
