"""StatusNotifications (history and current per connector) and other notifications."""

from __future__ import annotations

import json
from typing import Any

from bench.csms.store.base import Database


class StatusRows(Database):
    def add_status(
        self,
        cp_id: str,
        connector_id: int,
        status: str,
        error_code: str,
        info: str | None,
        vendor_id: str | None,
        vendor_error_code: str | None,
        ts: str | None,
        received_ts: str,
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO status_notifications (cp_id, connector_id, status, error_code,"
                " info, vendor_id, vendor_error_code, ts, received_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cp_id,
                    connector_id,
                    status,
                    error_code,
                    info,
                    vendor_id,
                    vendor_error_code,
                    ts,
                    received_ts,
                ),
            )

    def connector_status(self, cp_id: str, connector_id: int) -> str | None:
        row = self._one(
            "SELECT status FROM status_notifications WHERE cp_id = ? AND connector_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (cp_id, connector_id),
        )
        return row["status"] if row else None

    def status_history(self, cp_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM status_notifications WHERE cp_id = ? ORDER BY id", (cp_id,))

    def connector_statuses(self, cp_id: str) -> dict[int, dict[str, Any]]:
        """The latest StatusNotification of each connector."""
        rows = self._all(
            "SELECT s.* FROM status_notifications s JOIN (SELECT connector_id, MAX(id) AS id"
            " FROM status_notifications WHERE cp_id = ? GROUP BY connector_id) m ON s.id = m.id"
            " ORDER BY s.connector_id",
            (cp_id,),
        )
        return {r["connector_id"]: r for r in rows}

    def add_notification(
        self,
        cp_id: str,
        action: str,
        status: str | None,
        payload: dict[str, Any],
        received_ts: str,
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO notifications (cp_id, action, status, payload, received_ts)"
                " VALUES (?, ?, ?, ?, ?)",
                (cp_id, action, status, json.dumps(payload), received_ts),
            )

    def notifications(
        self, cp_id: str | None = None, action: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM notifications WHERE (? IS NULL OR cp_id = ?)"
            " AND (? IS NULL OR action = ?) ORDER BY id",
            (cp_id, cp_id, action, action),
        )
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows
