"""The security extension's rows: profiles and pending credentials, certificates, requests.

* ``cp_security``: per charge point its security profile (1, 2 or 3) and what is
  pending: a new AuthorizationKey hash or a higher profile the charge point accepted but
  has not connected with yet (the old values stay valid until it has).
* ``issued_certificates``: every ChargePointCertificate the CSMS's CA signed.
* ``installed_certificates``: GetInstalledCertificateIds answers, per certificate type.
* ``log_requests``, ``signed_firmware``: GetLog and SignedUpdateFirmware requests and the
  statuses reported for them (by requestId).

The tables are step 2 of the schema (``schema.py``).
"""

from __future__ import annotations

import json
from typing import Any

from bench.csms.store.base import Database


class SecurityRows(Database):
    # -- profile and pending credentials ------------------------------------------------------

    def security(self, cp_id: str) -> dict[str, Any] | None:
        rows = self._all("SELECT * FROM cp_security WHERE cp_id = ?", (cp_id,))
        return rows[0] if rows else None

    def all_security(self) -> dict[str, dict[str, Any]]:
        return {r["cp_id"]: r for r in self._all("SELECT * FROM cp_security")}

    def set_security_profile(self, cp_id: str, profile: int) -> None:
        """The charge point's profile; clears whatever was pending."""
        with self._db:
            self._db.execute(
                "INSERT INTO cp_security (cp_id, profile) VALUES (?, ?) ON CONFLICT (cp_id) DO "
                "UPDATE SET profile = excluded.profile, pending_profile = NULL",
                (cp_id, profile),
            )

    def set_pending_security(
        self,
        cp_id: str,
        ts: str,
        *,
        password_hash: str | None = None,
        profile: int | None = None,
    ) -> None:
        """Remember a new key or profile the charge point may connect with from now on."""
        with self._db:
            if password_hash is not None:
                self._db.execute(
                    "UPDATE cp_security SET pending_hash = ?, pending_ts = ? WHERE cp_id = ?",
                    (password_hash, ts, cp_id),
                )
            if profile is not None:
                self._db.execute(
                    "UPDATE cp_security SET pending_profile = ?, pending_ts = ? WHERE cp_id = ?",
                    (profile, ts, cp_id),
                )

    def clear_pending_security(
        self, cp_id: str, *, key: bool = False, profile: bool = False
    ) -> None:
        with self._db:
            if key:
                self._db.execute(
                    "UPDATE cp_security SET pending_hash = NULL WHERE cp_id = ?", (cp_id,)
                )
            if profile:
                self._db.execute(
                    "UPDATE cp_security SET pending_profile = NULL WHERE cp_id = ?", (cp_id,)
                )

    def remove_security(self, cp_id: str) -> None:
        with self._db:
            for table in ("cp_security", "installed_certificates"):
                self._db.execute(f"DELETE FROM {table} WHERE cp_id = ?", (cp_id,))

    # -- certificates ---------------------------------------------------------------------------

    def add_issued_certificate(
        self, cp_id: str, serial: str, subject: str, not_after: str, pem: str, ts: str
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO issued_certificates (cp_id, serial, subject, not_after, pem,"
                " issued_ts) VALUES (?, ?, ?, ?, ?, ?)",
                (cp_id, serial, subject, not_after, pem, ts),
            )

    def issued_certificates(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM issued_certificates WHERE (? IS NULL OR cp_id = ?) ORDER BY id",
            (cp_id, cp_id),
        )

    def record_installed_certificates(
        self, cp_id: str, certificate_type: str, status: str, hash_data: list[Any], ts: str
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO installed_certificates VALUES (?, ?, ?, ?, ?)",
                (cp_id, certificate_type, json.dumps(hash_data), status, ts),
            )

    def installed_certificates(self, cp_id: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM installed_certificates WHERE cp_id = ? ORDER BY certificate_type",
            (cp_id,),
        )
        for row in rows:
            row["hash_data"] = json.loads(row["hash_data"])
        return rows

    # -- GetLog and SignedUpdateFirmware requests ----------------------------------------------

    def next_request_id(self) -> int:
        row = self._db.execute(
            "SELECT max(m) FROM (SELECT max(request_id) AS m FROM log_requests"
            " UNION ALL SELECT max(request_id) FROM signed_firmware)"
        ).fetchone()
        return int(row[0] or 0) + 1

    def add_log_request(
        self, request_id: int, cp_id: str, log_type: str, location: str, ts: str
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO log_requests (request_id, cp_id, log_type, location,"
                " status, requested_ts, status_ts) VALUES (?, ?, ?, ?, 'Requested', ?, ?)",
                (request_id, cp_id, log_type, location, ts, ts),
            )

    def add_signed_firmware(
        self, request_id: int, cp_id: str, firmware: str | None, location: str, ts: str
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO signed_firmware (request_id, cp_id, firmware, location,"
                " status, requested_ts, status_ts) VALUES (?, ?, ?, ?, 'Requested', ?, ?)",
                (request_id, cp_id, firmware, location, ts, ts),
            )

    def set_request_status(
        self,
        table: str,
        cp_id: str,
        request_id: int | None,
        status: str,
        ts: str,
        file_name: str | None = None,
    ) -> None:
        """Status of a GetLog (``log_requests``) or SignedUpdateFirmware (``signed_firmware``)
        request; without a requestId, of the charge point's latest one."""
        if table not in ("log_requests", "signed_firmware"):
            raise ValueError(table)
        if request_id is None:
            row = self._db.execute(
                f"SELECT max(request_id) FROM {table} WHERE cp_id = ?", (cp_id,)
            ).fetchone()
            request_id = row[0]
        with self._db:
            self._db.execute(
                f"UPDATE {table} SET status = ?, status_ts = ? WHERE request_id = ? AND cp_id = ?",
                (status, ts, request_id, cp_id),
            )
            if file_name is not None and table == "log_requests":
                self._db.execute(
                    "UPDATE log_requests SET file_name = ? WHERE request_id = ? AND cp_id = ?",
                    (file_name, request_id, cp_id),
                )

    def log_requests(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM log_requests WHERE (? IS NULL OR cp_id = ?) ORDER BY request_id",
            (cp_id, cp_id),
        )

    def signed_firmware(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM signed_firmware WHERE (? IS NULL OR cp_id = ?) ORDER BY request_id",
            (cp_id, cp_id),
        )
