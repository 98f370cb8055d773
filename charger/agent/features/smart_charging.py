"""Smart charging on the charger: the installed profiles, their rules, the limit in force.

The composite-schedule maths is ``charger.charging_profiles`` (shared with the CSMS, which
predicts what this charger should report). Here: what a DC charge point accepts,
where profiles persist, and turning the limit into amperes for the power modules
with the measured DC voltage (one "phase": W = V x A).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from charger.agent.configuration import Configuration
from charger.agent.feature import Context, Feature
from charger.charging_profiles import schedule as sc
from charger.protocol.link import plain

log = logging.getLogger("charger.agent")

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


class SmartChargingFeature(Feature):
    """SetChargingProfile, ClearChargingProfile, GetCompositeSchedule (§5.16, §3.13).

    ``transaction_of(cid)`` says which transaction runs on a connector (its start and
    Central System id); ``voltage_of(cid)`` the DC voltage that turns W into A.
    """

    def __init__(
        self,
        ctx: Context,
        smart: SmartCharging,
        transaction_of: Callable[[int], sc.Transaction | None],
        voltage_of: Callable[[int], float],
    ) -> None:
        super().__init__(ctx)
        self.smart = smart
        self.transaction_of = transaction_of
        self.voltage_of = voltage_of

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_: Any):
        wire = to_wire(cs_charging_profiles)
        active: int | bool | None = None  # the transaction on it: its id, or True (unknown)
        tx = self.transaction_of(connector_id) if connector_id in self.ctx.connectors else None
        if tx is not None:
            active = tx.transaction_id if tx.transaction_id is not None else True
        why = self.smart.validate(connector_id, wire, active)
        if why is not None:
            log.info("SetChargingProfile rejected: %s", why)
            return call_result.SetChargingProfile(status="Rejected")
        self.smart.install(connector_id, wire, self.ctx.clock.now())
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ):
        removed = self.smart.clear(id, connector_id, charging_profile_purpose, stack_level)
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ):
        cid = connector_id if connector_id in self.ctx.connectors else None
        answer = self.smart.composite(
            connector_id,
            duration,
            {"Current": "A", "Power": "W"}.get(charging_rate_unit or "", charging_rate_unit),
            self.ctx.clock.now(),
            self.voltage_of(cid) if cid else 400.0,
            self.transaction_of(cid) if cid else None,
            self.ctx.settings.limits.max_current_a,
        )
        if answer.get("status") != "Accepted":
            if cid is not None or connector_id == 0:  # a known connector, no limit on it
                return call_result.GetCompositeSchedule(
                    status="Accepted", connector_id=connector_id
                )
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=answer["connectorId"],
            schedule_start=answer["scheduleStart"],
            charging_schedule=camel_to_snake_case(answer["chargingSchedule"]),
        )
