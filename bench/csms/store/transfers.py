"""Firmware updates and diagnostics uploads, with their status notifications."""

from __future__ import annotations

from typing import Any

from bench.csms.store.base import Database


class TransferRows(Database):
    def add_firmware_update(
        self,
        cp_id: str,
        firmware: str | None,
        location: str,
        retrieve_date: str,
        status: str,
        ts: str,
    ) -> int:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO firmware_updates (cp_id, firmware, location, retrieve_date,"
                " requested_ts, status, status_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cp_id, firmware, location, retrieve_date, ts, status, ts),
            )
        return int(cur.lastrowid or 0)

    def set_firmware_status(self, cp_id: str, status: str, ts: str, update_id: int | None = None):
        """The status of ``update_id`` (default: the charge point's latest update)."""
        with self._db:
            self._db.execute(
                "UPDATE firmware_updates SET status = ?, status_ts = ? WHERE id = COALESCE(?,"
                " (SELECT MAX(id) FROM firmware_updates WHERE cp_id = ?))",
                (status, ts, update_id, cp_id),
            )

    def firmware_updates(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM firmware_updates WHERE (? IS NULL OR cp_id = ?) ORDER BY id",
            (cp_id, cp_id),
        )

    def add_diagnostics_request(self, cp_id: str, location: str, status: str, ts: str) -> int:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO diagnostics_requests (cp_id, location, requested_ts, status,"
                " status_ts) VALUES (?, ?, ?, ?, ?)",
                (cp_id, location, ts, status, ts),
            )
        return int(cur.lastrowid or 0)

    def set_diagnostics_status(
        self,
        cp_id: str,
        status: str,
        ts: str,
        request_id: int | None = None,
        file_name: str | None = None,
    ) -> None:
        with self._db:
            self._db.execute(
                "UPDATE diagnostics_requests SET status = ?, status_ts = ?,"
                " file_name = COALESCE(?, file_name) WHERE id = COALESCE(?,"
                " (SELECT MAX(id) FROM diagnostics_requests WHERE cp_id = ?))",
                (status, ts, file_name, request_id, cp_id),
            )

    def diagnostics_requests(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM diagnostics_requests WHERE (? IS NULL OR cp_id = ?) ORDER BY id",
            (cp_id, cp_id),
        )
