"""Transactions, stops of unknown transactions, and their meter values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.csms.store.base import Database

METER_VALUE_COLUMNS = (
    "transaction_id",
    "cp_id",
    "connector_id",
    "ts",
    "measurand",
    "value",
    "unit",
    "context",
    "phase",
    "location",
    "format",
    "source",
)


class TransactionRows(Database):
    def start_transaction(
        self,
        cp_id: str,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        start_ts: str,
        reservation_id: int | None,
        start_status: str,
        received_ts: str,
    ) -> tuple[int, bool]:
        """(transaction id, created); a repeated request returns the first one's id."""
        key = (cp_id, connector_id, id_tag, start_ts, meter_start)
        with self._durable():  # the answer promises it is kept
            cur = self._db.execute(
                "INSERT OR IGNORE INTO transactions (cp_id, connector_id, id_tag, start_ts,"
                " meter_start, reservation_id, start_status, start_received_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, reservation_id, start_status, received_ts),
            )
            row = self._db.execute(
                "SELECT id FROM transactions WHERE cp_id = ? AND connector_id = ?"
                " AND id_tag = ? AND start_ts = ? AND meter_start = ?",
                key,
            ).fetchone()
        return int(row["id"]), cur.rowcount == 1

    def stop_transaction(
        self,
        transaction_id: int,
        meter_stop: int,
        stop_ts: str,
        reason: str,
        id_tag: str | None,
        received_ts: str,
    ) -> bool:
        """Close an open transaction; False if it was already stopped (a retry)."""
        with self._durable():  # the answer promises it is kept
            cur = self._db.execute(
                "UPDATE transactions SET meter_stop = ?, stop_ts = ?, stop_reason = ?,"
                " stop_id_tag = ?, stop_received_ts = ? WHERE id = ? AND stop_ts IS NULL",
                (meter_stop, stop_ts, reason, id_tag, received_ts, transaction_id),
            )
        return cur.rowcount == 1

    def record_unknown_stop(
        self,
        cp_id: str,
        transaction_id: int,
        meter_stop: int,
        stop_ts: str,
        reason: str,
        id_tag: str | None,
        received_ts: str,
    ) -> bool:
        """Keep a StopTransaction for a transaction we never started; False on a retry."""
        with self._durable():  # the answer promises it is kept
            cur = self._db.execute(
                "INSERT OR IGNORE INTO unknown_stops (cp_id, transaction_id, meter_stop,"
                " stop_ts, stop_reason, id_tag, received_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cp_id, transaction_id, meter_stop, stop_ts, reason, id_tag, received_ts),
            )
        return cur.rowcount == 1

    def transaction(self, transaction_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM transactions WHERE id = ?", (transaction_id,))

    def transactions(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        if cp_id is None:
            return self._all("SELECT * FROM transactions ORDER BY id")
        return self._all("SELECT * FROM transactions WHERE cp_id = ? ORDER BY id", (cp_id,))

    def unknown_stops(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        if cp_id is None:
            return self._all("SELECT * FROM unknown_stops ORDER BY id")
        return self._all("SELECT * FROM unknown_stops WHERE cp_id = ? ORDER BY id", (cp_id,))

    def open_transaction(self, cp_id: str, connector_id: int) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM transactions WHERE cp_id = ? AND connector_id = ? AND stop_ts IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (cp_id, connector_id),
        )

    def add_meter_values(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert sampled values (dicts with METER_VALUE_COLUMNS); returns how many were new."""
        sql = (
            f"INSERT OR IGNORE INTO meter_values ({', '.join(METER_VALUE_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(METER_VALUE_COLUMNS))})"
        )
        with self._durable():
            before = self._db.total_changes
            self._db.executemany(sql, [tuple(r[c] for c in METER_VALUE_COLUMNS) for r in rows])
            return self._db.total_changes - before

    def meter_values(self, transaction_id: int) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM meter_values WHERE transaction_id = ? ORDER BY id", (transaction_id,)
        )

    def all_meter_values(
        self, cp_id: str | None = None, transaction_id: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM meter_values WHERE (? IS NULL OR cp_id = ?)"
            " AND (? IS NULL OR transaction_id = ?) ORDER BY id DESC LIMIT ?",
            (cp_id, cp_id, transaction_id, transaction_id, limit),
        )
        return rows[::-1]
