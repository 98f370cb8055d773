"""Each charge point's local authorization list and its version."""

from __future__ import annotations

import json
from typing import Any

from bench.csms.store.base import Database


class LocalListRows(Database):
    def local_list(self, cp_id: str) -> dict[str, Any]:
        row = self._one("SELECT * FROM local_lists WHERE cp_id = ?", (cp_id,))
        if row is None:
            return {
                "cp_id": cp_id,
                "version": None,
                "entries": {},
                "last_update_type": None,
                "last_status": None,
                "updated_ts": None,
                "reported_version": None,
                "reported_ts": None,
            }
        row["entries"] = json.loads(row["entries"])
        return row

    def save_local_list(
        self,
        cp_id: str,
        version: int | None,
        entries: dict[str, Any],
        update_type: str,
        status: str,
        ts: str,
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO local_lists (cp_id, version, entries, last_update_type,"
                " last_status, updated_ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cp_id) DO UPDATE"
                " SET version = excluded.version, entries = excluded.entries,"
                " last_update_type = excluded.last_update_type,"
                " last_status = excluded.last_status, updated_ts = excluded.updated_ts",
                (cp_id, version, json.dumps(entries), update_type, status, ts),
            )

    def record_local_list_version(self, cp_id: str, version: int, ts: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO local_lists (cp_id, reported_version, reported_ts) VALUES (?, ?, ?)"
                " ON CONFLICT (cp_id) DO UPDATE SET reported_version = excluded.reported_version,"
                " reported_ts = excluded.reported_ts",
                (cp_id, version, ts),
            )
