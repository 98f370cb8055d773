"""Charge points: registration, boot policy, boots and heartbeats."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.csms.store.base import Database

HEARTBEAT_WRITE_S = 1.0  # Heartbeats are written in one commit at most this often


class ChargePointRows(Database):
    def put_charge_point(self, cp_id: str, password_hash: str | None) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO charge_points (id, password_hash) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash",
                (cp_id, password_hash),
            )

    def charge_point(self, cp_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM charge_points WHERE id = ?", (cp_id,))
        if row is not None and row["last_boot"] is not None:
            row["last_boot"] = json.loads(row["last_boot"])
        return row

    def set_boot_policy(self, cp_id: str, status: str, interval: int) -> None:
        with self._db:
            cur = self._db.execute(
                "UPDATE charge_points SET boot_policy = ?, heartbeat_interval = ? WHERE id = ?",
                (status, interval, cp_id),
            )
        if cur.rowcount == 0:
            raise KeyError(f"unknown charge point {cp_id!r}")

    def record_boot(self, cp_id: str, payload: dict[str, Any], received_ts: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE charge_points SET last_boot = ?, last_boot_ts = ? WHERE id = ?",
                (json.dumps(payload), received_ts, cp_id),
            )

    def record_heartbeat(self, cp_id: str, received_ts: str) -> None:
        """Noted in memory and written with others at most every ``HEARTBEAT_WRITE_S``
        (and before any read): a Heartbeat changes one timestamp, it need not commit."""
        self._beats[cp_id] = received_ts
        if time.monotonic() - self._beats_written >= HEARTBEAT_WRITE_S:
            self.write_heartbeats()

    def charge_points(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT id, boot_policy, heartbeat_interval, last_boot, last_boot_ts,"
            " last_heartbeat_ts FROM charge_points ORDER BY id"
        )
        for row in rows:
            row["last_boot"] = json.loads(row["last_boot"]) if row["last_boot"] else None
        return rows
