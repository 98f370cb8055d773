"""The log of CSMS-initiated operations and their outcomes."""

from __future__ import annotations

import json
from typing import Any

from bench.csms.store.base import Database


class OperationLogRows(Database):
    def add_operation(self, cp_id: str, action: str, request: dict[str, Any], ts: str) -> int:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO operations (cp_id, action, request, requested_ts) VALUES (?, ?, ?, ?)",
                (cp_id, action, json.dumps(request), ts),
            )
        return int(cur.lastrowid or 0)

    def finish_operation(
        self, op_id: int, response: dict[str, Any] | None, error: str | None, ts: str
    ) -> None:
        with self._db:
            self._db.execute(
                "UPDATE operations SET response = ?, error = ?, answered_ts = ? WHERE id = ?",
                (None if response is None else json.dumps(response), error, ts, op_id),
            )

    def operations(self, cp_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM operations WHERE (? IS NULL OR cp_id = ?) ORDER BY id DESC LIMIT ?",
            (cp_id, cp_id, limit),
        )
        for row in rows:
            row["request"] = json.loads(row["request"])
            row["response"] = json.loads(row["response"]) if row["response"] else None
        return rows[::-1]
