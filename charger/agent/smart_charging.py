"""Smart charging on the charger: the installed profiles, their rules, the limit in force.

The composite-schedule maths is ``charger.smartcharging`` (shared with the CSMS, which
predicts what this charger should report). Here: what a DC charge point accepts,
where profiles persist, and turning the limit into amperes for the power modules
with the measured DC voltage (one "phase": W = V x A).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ocpp.charge_point import snake_to_camel_case

from charger.agent.configuration import Configuration
from charger.protocol.link import plain
from charger.smartcharging import schedule as sc

KEY = "_ChargingProfiles"  # internal config key: the installed list, as JSON
DC_PHASES = 1


def to_wire(profile: dict[str, Any]) -> dict[str, Any]:
    """The ocpp package hands handlers snake_case with Decimal numbers; the shared
    module speaks wire JSON, and the profiles are stored as JSON."""
    return plain(snake_to_camel_case(profile))


class SmartCharging:
    def __init__(self, config: Configuration, connector_ids: list[int]) -> None:
        self.config = config
        self.connector_ids = connector_ids
        raw = config.values.get(KEY)
        self.installed: list[dict[str, Any]] = json.loads(raw) if raw else []

    def _save(self) -> None:
        self.config.set_internal(KEY, json.dumps(self.installed))

    def validate(
        self, connector_id: int, profile: dict[str, Any], active_tx: int | None | bool
    ) -> str | None:
        """Why this charger refuses the profile, or None when it accepts it.

        ``active_tx``: the connector's transaction id (True when one runs but has no id
        yet, None when none runs)."""
        if connector_id != 0 and connector_id not in self.connector_ids:
            return f"no connector {connector_id}"
        problems = sc.check_profile(profile, connector_id)
        if problems:
            return "; ".join(problems)
        if profile.get("stackLevel", 0) > self.config.int("ChargeProfileMaxStackLevel"):
            return "stackLevel above ChargeProfileMaxStackLevel"
        schedule = profile["chargingSchedule"]
        if len(schedule["chargingSchedulePeriod"]) > self.config.int("ChargingScheduleMaxPeriods"):
            return "more periods than ChargingScheduleMaxPeriods"
        allowed = self.config.csl("ChargingScheduleAllowedChargingRateUnit")
        unit = {"A": "Current", "W": "Power"}[schedule["chargingRateUnit"]]
        if unit not in allowed:
            return f"chargingRateUnit {unit} not allowed"
        if profile["chargingProfilePurpose"] == "TxProfile":
            if active_tx is None:
                return "a TxProfile needs a transaction on the connector"
            wanted = profile.get("transactionId")
            if wanted is not None and active_tx is not True and wanted != active_tx:
                return f"transactionId {wanted} is not the running transaction"
        others = [
            i
            for i in self.installed
            if i["chargingProfile"].get("chargingProfileId") != profile.get("chargingProfileId")
        ]
        if len(others) >= self.config.int("MaxChargingProfilesInstalled"):
            return "MaxChargingProfilesInstalled reached"
        return None

    def install(self, connector_id: int, profile: dict[str, Any], now: datetime) -> None:
        self.installed = sc.install(self.installed, connector_id, profile, at=now)
        self._save()

    def clear(
        self,
        id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> bool:
        self.installed, removed = sc.clear(self.installed, id, connector_id, purpose, stack_level)
        self._save()
        return bool(removed)

    def transaction_ended(self, transaction_id: int | None, connector_id: int) -> None:
        kept = sc.end_transaction(self.installed, transaction_id, connector_id)
        if len(kept) != len(self.installed):
            self.installed = kept
            self._save()

    def limit_a(
        self,
        connector_id: int,
        now: datetime,
        voltage_v: float,
        transaction: sc.Transaction | None,
    ) -> float | None:
        """Amperes allowed now (None: no profile limits this connector)."""
        if not self.installed:
            return None
        found = sc.limit_for_connector(
            self.installed,
            connector_id,
            now,
            "A",
            transaction=transaction,
            voltage=max(voltage_v, 1.0),
            phases=DC_PHASES,
        )
        return None if found is None else found[0]

    def composite(
        self,
        connector_id: int,
        duration: int,
        unit: str | None,
        now: datetime,
        voltage_v: float,
        transaction: sc.Transaction | None,
        max_current_a: float,
    ) -> dict[str, Any]:
        if connector_id != 0 and connector_id not in self.connector_ids:
            return {"status": "Rejected"}
        wanted = unit or "A"
        default = max_current_a if wanted == "A" else max_current_a * max(voltage_v, 1.0)
        return sc.composite_response(
            self.installed,
            connector_id,
            now,
            duration,
            wanted,
            transaction=transaction,
            default_limit=default if self.installed else None,
            voltage=max(voltage_v, 1.0),
            phases=DC_PHASES,
        )
