"""Reservations and their outcome."""

from __future__ import annotations

from typing import Any

from bench.csms.store.base import Database


class ReservationRows(Database):
    def next_reservation_id(self) -> int:
        row = self._one("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM reservations")
        return int(row["next"]) if row else 1

    def put_reservation(
        self,
        reservation_id: int,
        cp_id: str,
        connector_id: int,
        id_tag: str,
        parent_id_tag: str | None,
        expiry_date: str,
        status: str,
        ts: str,
    ) -> None:
        """A new reservation (one with the same id is replaced, as on the charge point)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO reservations (id, cp_id, connector_id, id_tag,"
                " parent_id_tag, expiry_date, status, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reservation_id,
                    cp_id,
                    connector_id,
                    id_tag,
                    parent_id_tag,
                    expiry_date,
                    status,
                    ts,
                ),
            )

    def set_reservation_status(
        self,
        reservation_id: int,
        status: str,
        ended_ts: str | None = None,
        transaction_id: int | None = None,
    ) -> None:
        with self._db:
            self._db.execute(
                "UPDATE reservations SET status = ?, ended_ts = COALESCE(?, ended_ts),"
                " transaction_id = COALESCE(?, transaction_id) WHERE id = ?",
                (status, ended_ts, transaction_id, reservation_id),
            )

    def reservation(self, reservation_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM reservations WHERE id = ?", (reservation_id,))

    def reservations(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM reservations WHERE (? IS NULL OR cp_id = ?) ORDER BY id",
            (cp_id, cp_id),
        )
