"""The Core profile's Central-System-initiated operations (OCPP 1.6 §5).

Remote start/stop, Reset, ChangeAvailability, Get/ChangeConfiguration, UnlockConnector,
ClearCache and DataTransfer; the decisions are :class:`~charger.agent.station.Station`'s,
this module answers and carries them out. What it needs of the rest of the charger is
the small :class:`StationPort`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from ocpp.exceptions import OccurenceConstraintViolationError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.agent.authorization import Authorizer
from charger.agent.commands import SendStatus
from charger.agent.feature import Context, Feature
from charger.agent.features.smart_charging import to_wire
from charger.agent.station import Station
from charger.charging_profiles.schedule import check_profile
from charger.clock import iso

log = logging.getLogger("charger.agent")

REBOOT_REASON = "_RebootReason"  # internal config key: why the last shutdown happened
AVAILABILITY = "_Availability"  # internal config key: operative state per connector


class StationPort(Protocol):
    """What the Core operations need of the running charger."""

    station: Station
    authorizer: Authorizer
    local_tx: dict[int, int]  # connector -> local transaction id
    pending_tx_profile: dict[int, dict[str, Any]]  # RemoteStart's TxProfile, per connector

    def registration(self) -> str | None: ...
    def report_status(self, status: SendStatus) -> None: ...
    def statuses(self) -> Mapping[int, SendStatus]: ...
    def meter_value(self, cid: int, context: str, measurands: list[str]) -> dict[str, Any]: ...
    def boot_payload(self) -> Any: ...


def saved_availability(ctx: Context) -> dict[int, bool]:
    raw = ctx.config.values.get(AVAILABILITY)
    return {int(k): bool(v) for k, v in json.loads(raw).items()} if raw else {}


class CoreOperations(Feature):
    def __init__(self, ctx: Context, port: StationPort) -> None:
        super().__init__(ctx)
        self.port = port

    # --- transactions ----------------------------------------------------------------

    @on(Action.remote_start_transaction)
    def on_remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict | None = None,
        **_: Any,
    ):
        return call_result.RemoteStartTransaction(
            status=self.remote_start(id_tag, connector_id, charging_profile)
        )

    def remote_start(
        self, id_tag: str, connector_id: int | None, profile: dict[str, Any] | None
    ) -> str:
        if self.port.registration() != "Accepted":
            return "Rejected"  # §4.2.1: no RemoteStartTransaction while Pending
        wire_profile = to_wire(profile) if profile else None
        if wire_profile is not None and (
            wire_profile.get("chargingProfilePurpose") != "TxProfile"
            or wire_profile.get("transactionId") is not None
            or check_profile(wire_profile)
        ):
            return "Rejected"  # only a TxProfile without transactionId (§5.11)
        authorizer = self.port.authorizer
        parent = authorizer.parent.get(id_tag.upper())
        decision = self.port.station.remote_start(id_tag, connector_id, parent)
        target = decision.connector
        if decision.status != "Accepted" or target is None:
            return "Rejected"
        clock = self.ctx.clock
        if decision.learn_parent:

            async def learn_parent_then_start() -> None:
                info = await authorizer.authorize(id_tag)
                learnt = info.get("parentIdTag")
                if info.get("status") == "Accepted" and target.accepts(id_tag, learnt):
                    target.authorize(id_tag, clock.monotonic(), learnt)

            self.ctx.spawn(learn_parent_then_start())
            return "Accepted"
        if wire_profile is not None:
            self.port.pending_tx_profile[target.connector_id] = wire_profile
        if self.ctx.config.bool("AuthorizeRemoteTxRequests"):

            async def authorize_first() -> None:
                info = await authorizer.authorize(id_tag)
                if info.get("status") == "Accepted":
                    target.authorize(id_tag, clock.monotonic(), info.get("parentIdTag"))

            self.ctx.spawn(authorize_first())
        else:
            target.authorize(id_tag, clock.monotonic(), parent)
        return "Accepted"

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any):
        status = "Rejected"
        if self.port.registration() == "Accepted":  # §4.2.1
            local = self.ctx.store.local_id_for_csms(transaction_id)
            for cid, tx in self.port.local_tx.items():
                if tx == local:
                    self.ctx.connectors[cid].request_stop("Remote", self.ctx.clock.monotonic())
                    status = "Accepted"
        return call_result.RemoteStopTransaction(status=status)

    # --- Reset --------------------------------------------------------------------------

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any):
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        """The Reset answer has left: now go down."""
        self.ctx.spawn(self._restart(type))

    async def _restart(self, kind: str) -> None:
        """Soft: end every transaction and deliver it, then restart. Hard: restart now;
        open transactions are reported after the reboot with reason HardReset."""
        clock, store = self.ctx.clock, self.ctx.store
        if kind == "Soft":
            now = clock.monotonic()
            for logic in self.ctx.connectors.values():
                logic.request_stop("SoftReset", now)
            for _ in range(100):
                if not store.active_transactions():  # SQLite, not the logic: the
                    break  # StopTransaction is only safe once it is stored
                await clock.sleep(0.1)
            for _ in range(100):
                if store.pending() == 0 or not self.ctx.accepted.is_set():
                    break
                await clock.sleep(0.1)
        else:
            self.ctx.config.set_internal(REBOOT_REASON, "HardReset")
        self.ctx.reboot.set()  # the runtime closes the connection (1001) and exits

    # --- availability -----------------------------------------------------------------

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any):
        operative = type == "Operative"
        status, targets = self.port.station.change_availability(connector_id, operative)
        if targets:
            saved = saved_availability(self.ctx)
            for cid in targets:
                saved[cid] = operative  # what it must be after a reboot too
            self.ctx.config.set_internal(AVAILABILITY, json.dumps(saved))
        if connector_id == 0 and status == "Accepted":
            self.port.report_status(SendStatus(0, self.port.station.status()))
        return call_result.ChangeAvailability(status=status)

    # --- configuration ------------------------------------------------------------------

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any):
        limit = self.ctx.config.int("GetConfigurationMaxKeys")
        if key and len(key) > limit:
            raise OccurenceConstraintViolationError(
                description=f"at most {limit} keys per GetConfiguration"
            )
        found, unknown = self.ctx.config.report(key)
        kwargs: dict[str, Any] = {"configuration_key": found}
        if unknown:
            kwargs["unknown_key"] = unknown
        return call_result.GetConfiguration(**kwargs)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any):
        return call_result.ChangeConfiguration(status=self.ctx.config.change(key, value))

    # --- the rest of Core ----------------------------------------------------------------

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any):
        """Fixed cables (HFS-2): there is no lock to open."""
        return call_result.UnlockConnector(status="NotSupported")

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any):
        self.ctx.store.cache_clear()
        return call_result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any):
        """No vendor extensions: every vendorId is unknown to this charger."""
        return call_result.DataTransfer(status="UnknownVendorId")

    # --- what TriggerMessage may ask of Core ---------------------------------------------

    def triggered(self, requested: str, connector_id: int | None) -> list[Any] | None:
        if requested == "BootNotification":
            return [self.port.boot_payload()]
        if requested == "Heartbeat":
            return [call.Heartbeat()]
        if requested == "StatusNotification":
            every = {0: SendStatus(0, self.port.station.status()), **self.port.statuses()}
            wanted = [connector_id] if connector_id is not None else sorted(every)
            return [status_call(every[c], self.ctx) for c in wanted if c in every]
        if requested == "MeterValues":
            wanted = [connector_id] if connector_id else sorted(self.ctx.connectors)
            out = []
            for cid in wanted:
                measurands = self.ctx.config.csl("MeterValuesSampledData")
                value = self.port.meter_value(cid, "Trigger", measurands)
                kwargs: dict[str, Any] = {"connector_id": cid, "meter_value": [value]}
                local = self.port.local_tx.get(cid)
                tx = self.ctx.store.transaction(local) if local is not None else None
                if tx is not None and tx.csms_id is not None:
                    kwargs["transaction_id"] = tx.csms_id
                out.append(call.MeterValues(**kwargs))
            return out
        return None


def status_call(status: SendStatus, ctx: Context) -> call.StatusNotification:
    return call.StatusNotification(
        connector_id=status.connector,
        error_code=status.error_code,
        status=status.status,
        info=status.info,
        timestamp=iso(ctx.clock.now()),
    )
