"""The Central System's SQLite database.

One connection, used from the event loop thread only (queries are small and local).
WAL lets the web panel read the file from another process while the CSMS writes.
Timestamps sent by a charger are kept verbatim (they are evidence); the CSMS's own
are ``iso(clock.now())``. Rows come back as plain dicts.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS charge_points (
    id TEXT PRIMARY KEY,
    password_hash TEXT,
    boot_policy TEXT NOT NULL DEFAULT 'Accepted'
        CHECK (boot_policy IN ('Accepted', 'Pending', 'Rejected')),
    heartbeat_interval INTEGER NOT NULL DEFAULT 60,
    last_boot TEXT,            -- JSON of the last BootNotification payload
    last_boot_ts TEXT,
    last_heartbeat_ts TEXT
);
CREATE TABLE IF NOT EXISTS id_tags (
    id_tag TEXT PRIMARY KEY COLLATE NOCASE,   -- IdToken is a CiString20
    status TEXT NOT NULL CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
    expiry_date TEXT,
    parent_id_tag TEXT
);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start INTEGER NOT NULL,
    start_ts TEXT NOT NULL,
    reservation_id INTEGER,
    start_status TEXT,
    start_received_ts TEXT,
    meter_stop INTEGER,
    stop_ts TEXT,
    stop_reason TEXT,
    stop_id_tag TEXT,
    stop_received_ts TEXT,
    -- identity of the StartTransaction.req: a retried request maps to the same row
    UNIQUE (cp_id, connector_id, id_tag, start_ts, meter_start)
);
CREATE TABLE IF NOT EXISTS unknown_stops (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    meter_stop INTEGER NOT NULL,
    stop_ts TEXT NOT NULL,
    stop_reason TEXT,
    id_tag TEXT,
    received_ts TEXT NOT NULL,
    UNIQUE (cp_id, transaction_id, stop_ts, meter_stop)
);
CREATE TABLE IF NOT EXISTS meter_values (
    id INTEGER PRIMARY KEY,
    transaction_id INTEGER,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    ts TEXT NOT NULL,
    measurand TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT,
    context TEXT NOT NULL,
    phase TEXT,
    location TEXT NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL       -- MeterValues or StopTransaction (transactionData)
);
-- A retried MeterValues.req, or transactionData repeating samples, is stored once.
CREATE UNIQUE INDEX IF NOT EXISTS meter_values_once ON meter_values (
    cp_id, connector_id, COALESCE(transaction_id, -1), ts, measurand,
    COALESCE(phase, ''), location, context, format
);
CREATE INDEX IF NOT EXISTS meter_values_tx ON meter_values (transaction_id);
CREATE TABLE IF NOT EXISTS status_notifications (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    info TEXT,
    vendor_id TEXT,
    vendor_error_code TEXT,
    ts TEXT,
    received_ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_by_connector
    ON status_notifications (cp_id, connector_id, id);
CREATE TABLE IF NOT EXISTS notifications (  -- firmware, diagnostics, log, security events
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT,
    payload TEXT NOT NULL,
    received_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (  -- every CSMS-initiated request and its outcome
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    action TEXT NOT NULL,
    request TEXT NOT NULL,     -- JSON, as sent
    response TEXT,             -- JSON, as received (NULL until answered / on error)
    error TEXT,                -- NotConnected, Timeout, CALLERROR <code>, ...
    requested_ts TEXT NOT NULL,
    answered_ts TEXT
);
CREATE INDEX IF NOT EXISTS operations_by_cp ON operations (cp_id, id);
CREATE TABLE IF NOT EXISTS firmware_updates (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    firmware TEXT,             -- file name in the FTP store, if the CSMS built the location
    location TEXT NOT NULL,
    retrieve_date TEXT NOT NULL,
    requested_ts TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, Refused, then the FirmwareStatusNotification status
    status_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS diagnostics_requests (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    location TEXT NOT NULL,
    file_name TEXT,            -- GetDiagnostics.conf fileName
    requested_ts TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, NoFile, Refused, then DiagnosticsStatusNotification
    status_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY,    -- the reservationId
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, the ReserveNow.conf status, Cancelled, Used
    created_ts TEXT NOT NULL,
    ended_ts TEXT,
    transaction_id INTEGER
);
CREATE TABLE IF NOT EXISTS local_lists (
    cp_id TEXT PRIMARY KEY,
    version INTEGER,           -- of the last SendLocalList the charge point accepted
    entries TEXT NOT NULL DEFAULT '{}',  -- JSON idTag -> idTagInfo it holds since then
    last_update_type TEXT,
    last_status TEXT,
    updated_ts TEXT,
    reported_version INTEGER,  -- from the last GetLocalListVersion
    reported_ts TEXT
);
CREATE TABLE IF NOT EXISTS charging_profiles (  -- installed on the charge point, as we know it
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    stack_level INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    kind TEXT NOT NULL,
    transaction_id INTEGER,
    profile TEXT NOT NULL,     -- JSON ChargingProfile
    installed_ts TEXT
);
CREATE TABLE IF NOT EXISTS composite_checks (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    checked_ts TEXT NOT NULL,
    expected TEXT,             -- JSON ChargingSchedule the CSMS predicted
    reported TEXT,             -- JSON GetCompositeSchedule.conf
    problems TEXT NOT NULL,    -- JSON list; empty = the charge point agrees
    ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS configuration (  -- keys as last reported by GetConfiguration
    cp_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    readonly INTEGER,
    reported_ts TEXT NOT NULL,
    PRIMARY KEY (cp_id, key)
);
"""

HEARTBEAT_WRITE_S = 1.0  # Heartbeats are written in one commit at most this often

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


class Store:
    """Typed access to the CSMS tables; each write method commits."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        self._db = sqlite3.connect(self.path)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._beats: dict[str, str] = {}  # Heartbeats not yet written
        self._beats_written = time.monotonic()

    def close(self) -> None:
        self.write_heartbeats()
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for the tables other modules keep (``security_store``)."""
        self.write_heartbeats()  # what they read is current
        return self._db

    @contextlib.contextmanager
    def _durable(self) -> Iterator[None]:
        """One commit that is on disk before it returns (fsync), for transaction messages.

        Everything else commits with ``synchronous=NORMAL`` (WAL): safe from a crash of
        the process, not from a power cut, and no fsync on the message path.
        """
        if self.path == ":memory:":
            with self._db:
                yield
            return
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._db:
                yield
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    def _one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        self.write_heartbeats()  # no-op unless some wait
        row = self._db.execute(sql, tuple(args)).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        self.write_heartbeats()
        return [dict(r) for r in self._db.execute(sql, tuple(args))]

    # -- charge points ---------------------------------------------------------

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
        """Noted in memory, written with others at most every ``HEARTBEAT_WRITE_S``: a
        Heartbeat changes one timestamp and need not wait for a commit."""
        self._beats[cp_id] = received_ts
        if time.monotonic() - self._beats_written >= HEARTBEAT_WRITE_S:
            self.write_heartbeats()

    def write_heartbeats(self) -> None:
        if not self._beats:
            return
        self._beats_written = time.monotonic()
        beats, self._beats = self._beats, {}
        with self._db:
            self._db.executemany(
                "UPDATE charge_points SET last_heartbeat_ts = ? WHERE id = ?",
                [(ts, cp_id) for cp_id, ts in beats.items()],
            )

    # -- id tags -----------------------------------------------------------------

    def put_id_tag(
        self, id_tag: str, status: str, expiry_date: str | None, parent_id_tag: str | None
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO id_tags VALUES (?, ?, ?, ?)",
                (id_tag, status, expiry_date, parent_id_tag),
            )

    def id_tag(self, id_tag: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM id_tags WHERE id_tag = ?", (id_tag,))

    # -- transactions ------------------------------------------------------------

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
        with self._durable():
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
        with self._durable():
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
        with self._durable():
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

    # -- meter values --------------------------------------------------------------

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

    # -- status and notifications ---------------------------------------------------

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

    # -- operations log ---------------------------------------------------------------

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

    # -- charge points, listing ----------------------------------------------------------

    def charge_points(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT id, boot_policy, heartbeat_interval, last_boot, last_boot_ts,"
            " last_heartbeat_ts FROM charge_points ORDER BY id"
        )
        for row in rows:
            row["last_boot"] = json.loads(row["last_boot"]) if row["last_boot"] else None
        return rows

    def connector_statuses(self, cp_id: str) -> dict[int, dict[str, Any]]:
        """The latest StatusNotification of each connector."""
        rows = self._all(
            "SELECT s.* FROM status_notifications s JOIN (SELECT connector_id, MAX(id) AS id"
            " FROM status_notifications WHERE cp_id = ? GROUP BY connector_id) m ON s.id = m.id"
            " ORDER BY s.connector_id",
            (cp_id,),
        )
        return {r["connector_id"]: r for r in rows}

    def open_transaction(self, cp_id: str, connector_id: int) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM transactions WHERE cp_id = ? AND connector_id = ? AND stop_ts IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (cp_id, connector_id),
        )

    def id_tags(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM id_tags ORDER BY id_tag")

    def all_meter_values(
        self, cp_id: str | None = None, transaction_id: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM meter_values WHERE (? IS NULL OR cp_id = ?)"
            " AND (? IS NULL OR transaction_id = ?) ORDER BY id DESC LIMIT ?",
            (cp_id, cp_id, transaction_id, transaction_id, limit),
        )
        return rows[::-1]

    # -- firmware and diagnostics ------------------------------------------------------------

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

    # -- reservations ------------------------------------------------------------------------

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

    # -- local authorization lists -------------------------------------------------------------

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

    # -- charging profiles ------------------------------------------------------------------------

    def charging_profiles(self, cp_id: str) -> list[dict[str, Any]]:
        """Installed profiles as ``{"connectorId", "chargingProfile", "installedAt"}``."""
        rows = self._all("SELECT * FROM charging_profiles WHERE cp_id = ? ORDER BY id", (cp_id,))
        return [
            {
                "connectorId": r["connector_id"],
                "chargingProfile": json.loads(r["profile"]),
                **({"installedAt": r["installed_ts"]} if r["installed_ts"] else {}),
            }
            for r in rows
        ]

    def replace_charging_profiles(self, cp_id: str, installed: list[dict[str, Any]]) -> None:
        with self._db:
            self._db.execute("DELETE FROM charging_profiles WHERE cp_id = ?", (cp_id,))
            self._db.executemany(
                "INSERT INTO charging_profiles (cp_id, connector_id, profile_id, stack_level,"
                " purpose, kind, transaction_id, profile, installed_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cp_id,
                        item["connectorId"],
                        item["chargingProfile"].get("chargingProfileId", 0),
                        item["chargingProfile"].get("stackLevel", 0),
                        item["chargingProfile"].get("chargingProfilePurpose", ""),
                        item["chargingProfile"].get("chargingProfileKind", ""),
                        item["chargingProfile"].get("transactionId"),
                        json.dumps(item["chargingProfile"]),
                        item.get("installedAt"),
                    )
                    for item in installed
                ],
            )

    def add_composite_check(
        self,
        cp_id: str,
        connector_id: int,
        ts: str,
        expected: dict[str, Any] | None,
        reported: dict[str, Any],
        problems: list[str],
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO composite_checks (cp_id, connector_id, checked_ts, expected,"
                " reported, problems, ok) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cp_id,
                    connector_id,
                    ts,
                    json.dumps(expected),
                    json.dumps(reported),
                    json.dumps(problems),
                    int(not problems),
                ),
            )

    def composite_checks(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM composite_checks WHERE (? IS NULL OR cp_id = ?) ORDER BY id",
            (cp_id, cp_id),
        )
        for row in rows:
            for key in ("expected", "reported", "problems"):
                row[key] = json.loads(row[key]) if row[key] else None
            row["ok"] = bool(row["ok"])
        return rows

    # -- configuration as reported ----------------------------------------------------------------

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
