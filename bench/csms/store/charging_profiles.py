"""Installed charging profiles and the composite-schedule checks."""

from __future__ import annotations

import json
from typing import Any

from bench.csms.store.base import Database


class ChargingProfileRows(Database):
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
