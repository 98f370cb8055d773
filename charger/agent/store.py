"""The agent's non-volatile memory: configuration, transactions and the outbox.

Everything a charger must not lose on power loss is written here, and committed,
before the matching OCPP message leaves: a kill -9 at any point leaves either the
old state or the new one, never a message sent for a transaction it forgot.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charger.agent.migrations import migrate


@dataclass(frozen=True)
class StoredTransaction:
    local_id: int
    connector_id: int
    id_tag: str
    meter_start: int
    start_ts: str
    csms_id: int | None
    state: str


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    local_tx: int | None
    action: str
    payload: dict[str, Any]
    attempts: int


class AgentStore:
    def __init__(self, path: Path | str) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        migrate(self.db)
        with contextlib.suppress(OSError):  # the AuthorizationKey lives here: owner only
            os.chmod(path, 0o600)

    def close(self) -> None:
        self.db.close()

    # --- configuration -----------------------------------------------------

    def config(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM config"))

    def set_config(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO config(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def del_config(self, key: str) -> None:
        self.db.execute("DELETE FROM config WHERE key=?", (key,))

    # --- transactions -------------------------------------------------------

    def begin_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        start_ts: str,
        reservation_id: int | None = None,
    ) -> int:
        """Record the transaction and queue its StartTransaction in one commit."""
        with self._atomic():
            cur = self.db.execute(
                "INSERT INTO transactions(connector_id, id_tag, meter_start, start_ts) "
                "VALUES (?, ?, ?, ?)",
                (connector_id, id_tag, meter_start, start_ts),
            )
            assert cur.lastrowid is not None
            local_id = int(cur.lastrowid)
            payload = {
                "connector_id": connector_id,
                "id_tag": id_tag,
                "meter_start": meter_start,
                "timestamp": start_ts,
            }
            if reservation_id is not None:
                payload["reservation_id"] = reservation_id
            self._enqueue(local_id, "StartTransaction", payload)
        return local_id

    def end_transaction(
        self,
        local_id: int,
        meter_stop: int,
        stop_ts: str,
        reason: str,
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
        max_values: int | None = None,
    ) -> None:
        """Queue the StopTransaction with the samples kept so far plus ``transaction_data``
        (at most ``max_values`` of them: StopTransactionMaxMeterValues, the latest)."""
        with self._atomic():
            self.db.execute(
                "UPDATE transactions SET state='stopped', meter_stop=?, stop_ts=?, stop_reason=? "
                "WHERE local_id=? AND state='active'",
                (meter_stop, stop_ts, reason, local_id),
            )
            payload: dict[str, Any] = {
                "meter_stop": meter_stop,
                "timestamp": stop_ts,
                "reason": reason,
            }
            if id_tag:
                payload["id_tag"] = id_tag
            row = self.db.execute(
                "SELECT tx_data FROM transactions WHERE local_id=?", (local_id,)
            ).fetchone()
            data = (json.loads(row[0]) if row else []) + list(transaction_data or [])
            if max_values is not None and max_values > 0:
                data = data[-max_values:]
            if data:
                payload["transaction_data"] = data
            self._enqueue(local_id, "StopTransaction", payload)

    def add_tx_data(self, local_id: int, meter_value: dict[str, Any]) -> None:
        """A sample for the StopTransaction's transactionData, kept across a reboot."""
        self.db.execute(
            "UPDATE transactions SET tx_data = json_insert(tx_data, '$[#]', json(?)) "
            "WHERE local_id=?",
            (json.dumps(meter_value), local_id),
        )

    def active_transactions(self) -> list[StoredTransaction]:
        rows = self.db.execute(
            "SELECT local_id, connector_id, id_tag, meter_start, start_ts, csms_id, state "
            "FROM transactions WHERE state='active' ORDER BY local_id"
        )
        return [StoredTransaction(*row) for row in rows]

    def transaction(self, local_id: int) -> StoredTransaction | None:
        row = self.db.execute(
            "SELECT local_id, connector_id, id_tag, meter_start, start_ts, csms_id, state "
            "FROM transactions WHERE local_id=?",
            (local_id,),
        ).fetchone()
        return StoredTransaction(*row) if row else None

    def set_csms_id(self, local_id: int, csms_id: int) -> None:
        self.db.execute("UPDATE transactions SET csms_id=? WHERE local_id=?", (csms_id, local_id))

    def local_id_for_csms(self, csms_id: int) -> int | None:
        row = self.db.execute(
            "SELECT local_id FROM transactions WHERE csms_id=? ORDER BY local_id DESC", (csms_id,)
        ).fetchone()
        return int(row[0]) if row else None

    # --- authorization cache -------------------------------------------------

    def cache_get(self, id_tag: str) -> dict[str, Any] | None:
        return self._id_tag_info("auth_cache", id_tag)

    def cache_put(self, id_tag: str, info: dict[str, Any], now: float) -> None:
        self.db.execute(
            "INSERT INTO auth_cache(id_tag, status, expiry, parent, updated) VALUES (?,?,?,?,?) "
            "ON CONFLICT(id_tag) DO UPDATE SET status=excluded.status, expiry=excluded.expiry,"
            " parent=excluded.parent, updated=excluded.updated",
            (id_tag, info["status"], info.get("expiryDate"), info.get("parentIdTag"), now),
        )

    def cache_clear(self) -> None:
        self.db.execute("DELETE FROM auth_cache")

    # --- local authorization list -----------------------------------------------

    def list_get(self, id_tag: str) -> dict[str, Any] | None:
        return self._id_tag_info("local_list", id_tag)

    def _id_tag_info(self, table: str, id_tag: str) -> dict[str, Any] | None:
        """idTagInfo (wire form) as the cache or the local list holds it."""
        row = self.db.execute(
            f"SELECT status, expiry, parent FROM {table} WHERE id_tag=?",  # noqa: S608
            (id_tag,),
        ).fetchone()
        if row is None:
            return None
        info: dict[str, Any] = {"status": row[0]}
        if row[1]:
            info["expiryDate"] = row[1]
        if row[2]:
            info["parentIdTag"] = row[2]
        return info

    def list_size(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM local_list").fetchone()[0])

    def list_update(
        self, version: int, full: bool, entries: list[tuple[str, dict[str, Any] | None]]
    ) -> None:
        """Apply a SendLocalList in one commit: a full list replaces, a differential
        one adds, updates, or (entry without idTagInfo) removes."""
        with self._atomic():
            if full:
                self.db.execute("DELETE FROM local_list")
            for id_tag, info in entries:
                if info is None:
                    self.db.execute("DELETE FROM local_list WHERE id_tag=?", (id_tag,))
                    continue
                self.db.execute(
                    "INSERT INTO local_list(id_tag, status, expiry, parent) VALUES (?,?,?,?) "
                    "ON CONFLICT(id_tag) DO UPDATE SET status=excluded.status,"
                    " expiry=excluded.expiry, parent=excluded.parent",
                    (id_tag, info["status"], info.get("expiryDate"), info.get("parentIdTag")),
                )
            self.db.execute(
                "INSERT INTO config(key, value) VALUES ('_LocalListVersion', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )

    # --- reservations ----------------------------------------------------------

    def reservations(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT reservation_id, connector_id, id_tag, parent, expiry FROM reservations"
        )
        keys = ("reservation_id", "connector_id", "id_tag", "parent", "expiry")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def reserve(self, reservation: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO reservations VALUES (?,?,?,?,?)",
            (
                reservation["reservation_id"],
                reservation["connector_id"],
                reservation["id_tag"],
                reservation.get("parent"),
                reservation["expiry"],
            ),
        )

    def unreserve(self, reservation_id: int) -> bool:
        cur = self.db.execute("DELETE FROM reservations WHERE reservation_id=?", (reservation_id,))
        return cur.rowcount > 0

    # --- outbox --------------------------------------------------------------

    def enqueue(self, local_tx: int | None, action: str, payload: dict[str, Any]) -> int:
        with self._atomic():
            return self._enqueue(local_tx, action, payload)

    def _enqueue(self, local_tx: int | None, action: str, payload: dict[str, Any]) -> int:
        cur = self.db.execute(
            "INSERT INTO outbox(local_tx, action, payload) VALUES (?, ?, ?)",
            (local_tx, action, json.dumps(payload)),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def head(self) -> OutboxItem | None:
        row = self.db.execute(
            "SELECT seq, local_tx, action, payload, attempts FROM outbox ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return OutboxItem(row[0], row[1], row[2], json.loads(row[3]), row[4])

    def pending(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def count_attempt(self, seq: int) -> int:
        self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq=?", (seq,))
        row = self.db.execute("SELECT attempts FROM outbox WHERE seq=?", (seq,)).fetchone()
        return int(row[0]) if row else 0

    def done(self, seq: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE seq=?", (seq,))

    def _atomic(self) -> _Atomic:
        return _Atomic(self.db)


class _Atomic:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
