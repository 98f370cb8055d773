"""The charger's I/O: samples the hardware, runs the logic, talks OCPP.

One asyncio loop. The hardware loop ticks every ``tick_s`` of simulated time;
meters are polled on their own cadence; every outgoing OCPP message goes through
one ordered pump so that the CSMS sees them in the order they happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from charger.agent import REBOOT_EXIT_CODE
from charger.agent import actions as act
from charger.agent.authorization import is_valid, may_stop, offline_decision, parse_time
from charger.agent.config_keys import KeyTable
from charger.agent.configuration import Configuration
from charger.agent.connector import ConnectorLogic, Inputs
from charger.agent.diagnostics import Diagnostics
from charger.agent.firmware import FirmwareManager
from charger.agent.link import AgentLink
from charger.agent.settings import AgentSettings
from charger.agent.smart_charging import SmartCharging, to_wire
from charger.agent.store import AgentStore
from charger.clock import Clock, iso
from charger.hw.interfaces import (
    Hardware,
    HardwareError,
    MeterReading,
    TagEvent,
)
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.smartcharging.schedule import Transaction
from charger.smartcharging.schedule import check_profile as sc_problems

log = logging.getLogger("charger.agent")

TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")
REBOOT_REASON = "_RebootReason"  # internal config key: why the last shutdown happened
AVAILABILITY = "_Availability"  # internal config key: operative state per connector
MEASURAND_UNITS = {
    "Energy.Active.Import.Register": ("Wh", "Outlet"),
    "Voltage": ("V", "Outlet"),
    "Current.Import": ("A", "Outlet"),
    "Power.Active.Import": ("W", "Outlet"),
    "SoC": ("Percent", "EV"),
    "Current.Offered": ("A", "Outlet"),
    "Power.Offered": ("W", "Outlet"),
}
METER_FAILURES_BEFORE_FAULT = 2


@dataclass
class _Direct:
    """A message that is not kept across power loss (status, heartbeat, authorize)."""

    payload: Any
    future: asyncio.Future | None = None


class _OutboxMarker:
    """Deliver what the SQLite outbox holds, in order, before anything queued later."""


def _matches(reservation: dict[str, Any], id_tag: str, parent: str | None) -> bool:
    if reservation["id_tag"].upper() == id_tag.upper():
        return True
    return bool(parent and reservation.get("parent") and reservation["parent"] == parent)


def _wire_info(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """idTagInfo as the ocpp package hands it (snake_case) back to its wire form."""
    if info is None:
        return None
    out = {"status": info["status"]}
    if info.get("expiry_date"):
        out["expiryDate"] = info["expiry_date"]
    if info.get("parent_id_tag"):
        out["parentIdTag"] = info["parent_id_tag"]
    return out


class Charger:
    #: The OCPP link this charger answers through (a test double may wrap it).
    link_class: type[AgentLink] = AgentLink

    def __init__(self, settings: AgentSettings, hardware: Hardware, clock: Clock) -> None:
        self.settings = settings
        self.hw = hardware
        self.clock = clock
        state = Path(settings.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        self.store = AgentStore(state / "agent.sqlite")
        ids = sorted(hardware.connectors)
        self.config = Configuration(self.store, KeyTable(len(ids)), settings.initial_config)
        if settings.initial_password and not self.config.get("AuthorizationKey"):
            self.config.set_internal("AuthorizationKey", settings.initial_password)
        self.connectors = {cid: ConnectorLogic(cid, settings.limits) for cid in ids}
        self.readings: dict[int, MeterReading | None] = {cid: None for cid in ids}
        self.meter_failures: dict[int, int] = {cid: 0 for cid in ids}
        self.local_tx: dict[int, int] = {}  # connector -> local transaction id
        self.last_sample: dict[int, float] = {}
        self.status: dict[int, act.SendStatus] = {}
        self.link: AgentLink | None = None
        self.accepted = asyncio.Event()
        self.fifo: asyncio.Queue[_Direct | _OutboxMarker] = asyncio.Queue()
        self.pending_tag: tuple[str, float] | None = None  # authorized, waiting for a plug
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task] = []
        self.booted = False  # BootNotification is once per power-up, not per connection
        self.background: set[asyncio.Task] = set()
        self.reboot = asyncio.Event()  # set by Reset: the process exits to be restarted
        self.exit_code = 0
        self.tag_parent: dict[str, str | None] = {}  # idTag -> parentIdTag, as last learnt
        self.energy_cap: dict[int, int] = {}  # connector -> Wh at which to stop offering
        self.tx_data: dict[int, list[dict[str, Any]]] = {}  # transactionData in the making
        self.pending_status: dict[int, tuple[act.SendStatus, float]] = {}
        self.sent_status: dict[int, tuple[str, str]] = {}
        self.station_reservation: dict[str, Any] | None = None  # ReserveNow on connector 0
        self.smart = SmartCharging(self.config, ids)
        self.tx_started: dict[int, datetime] = {}
        self.pending_tx_profile: dict[int, dict[str, Any]] = {}  # from RemoteStart
        for r in self.store.reservations():
            self._hold(r)
        for cid, operative in self._saved_availability().items():
            if cid in self.connectors:
                self.connectors[cid].operative = operative

    # --- lifecycle -----------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.started_at = self.clock.monotonic()
        await self.hw.power.start()
        await self._recover_after_power_loss()
        FirmwareManager.of(self).resume()  # an update interrupted by a reboot or power loss
        self.hw.rfid.start(self._tag_from_thread)
        for cid in self.connectors:
            self.tasks.append(asyncio.create_task(self._poll_meter(cid), name=f"meter{cid}"))
        self.tasks += [
            asyncio.create_task(self._hardware_loop(), name="hardware"),
            asyncio.create_task(self._connection_loop(), name="connection"),
            asyncio.create_task(self._pump(), name="pump"),
            asyncio.create_task(self._clock_aligned(), name="aligned"),
        ]
        everything = asyncio.gather(*self.tasks)
        rebooting = asyncio.create_task(self.reboot.wait())
        try:
            await asyncio.wait({everything, rebooting}, return_when=asyncio.FIRST_COMPLETED)
            if self.reboot.is_set():
                self.exit_code = REBOOT_EXIT_CODE
                log.info("rebooting")
            else:
                everything.result()
        finally:
            rebooting.cancel()
            everything.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await everything
            await self.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.hw.rfid.close()
        await self.hw.power.close()
        for conn in self.hw.connectors.values():
            await conn.meter.close()
            conn.pilot.close()
        self.store.close()

    async def _recover_after_power_loss(self) -> None:
        """Transactions open at power loss (or a hard reset) end now (AQ-7.2)."""
        reason = self.config.values.pop(REBOOT_REASON, None) or "PowerLoss"
        self.store.del_config(REBOOT_REASON)
        for tx in self.store.active_transactions():
            reading = await self._read_meter_patiently(tx.connector_id)
            meter_stop = round(reading.energy_import_wh) if reading else tx.meter_start
            self.store.end_transaction(tx.local_id, meter_stop, iso(self.clock.now()), reason)
            log.info("transaction %s ended (%s) at %s Wh", tx.local_id, reason, meter_stop)

    async def _read_meter_patiently(self, cid: int) -> MeterReading | None:
        for _ in range(5):
            try:
                return await self.hw.connectors[cid].meter.read()
            except HardwareError as exc:
                log.warning("meter %s: %s", cid, exc)
                await self.clock.sleep(0.5)
        return None

    # --- hardware ------------------------------------------------------------

    async def _poll_meter(self, cid: int) -> None:
        meter = self.hw.connectors[cid].meter
        while True:
            try:
                self.readings[cid] = await meter.read()
                self.meter_failures[cid] = 0
            except HardwareError as exc:
                self.meter_failures[cid] += 1
                log.warning("meter %s read failed: %s", cid, exc)
            await self.clock.sleep(self.settings.meter_poll_s)

    async def _hardware_loop(self) -> None:
        while True:
            now = self.clock.monotonic()
            timeout = self.config.int("ConnectionTimeOut")
            self._route_pending_tag(now, timeout)
            stop_on_disconnect = self.config.bool("StopTransactionOnEVSideDisconnect")
            for cid, logic in self.connectors.items():
                hw = self.hw.connectors[cid]
                logic.stop_on_ev_disconnect = stop_on_disconnect
                cap = self.energy_cap.get(cid)
                if cap is not None and logic.tx_active:
                    logic.evse_suspended = self._energy_now(cid) >= cap
                logic.limit_a = self._limit_a(cid)
                try:
                    cp = hw.pilot.cp()
                    pp = hw.pilot.pp()
                except HardwareError as exc:
                    log.warning("pilot %s: %s", cid, exc)
                    cp = pp = None
                inputs = Inputs(
                    now=now,
                    cp=cp,
                    pp=pp,
                    ev=self.hw.power.ev(cid),
                    power=self.hw.power.status(cid),
                    # no status frame yet right after boot is not yet silence
                    power_age_s=min(self.hw.power.age_s(cid), now - self.started_at),
                    meter_ok=self.meter_failures[cid] < METER_FAILURES_BEFORE_FAULT,
                )
                for action in logic.tick(inputs, timeout):
                    try:
                        await self._execute(action)
                    except HardwareError as exc:
                        # The connector logic sees the consequence (stale status, fault).
                        log.warning("connector %s: %s failed: %s", cid, type(action).__name__, exc)
                self._maybe_sample(cid, now)
            self._flush_status(now)
            self._expire_reservations()
            self._place_station_reservation()
            await self.clock.sleep(self.settings.tick_s)

    async def _execute(self, action: act.Action) -> None:
        power = self.hw.power
        match action:
            case act.SetDuty(connector=cid, duty=duty):
                self.hw.connectors[cid].pilot.set_duty(duty)
            case act.SetContactors(connector=cid, closed=closed):
                await power.set_contactors(cid, closed)
            case act.SetOutput(connector=cid, voltage_v=v, current_a=i):
                await power.set_output(cid, v, i)
            case act.SetEvse(connector=cid, command=command):
                await power.set_evse(cid, command)
            case act.SendStatus():
                self.status[action.connector] = action
                self._send_status(action)
            case act.StartTransaction(connector=cid, id_tag=tag, reservation_id=rid):
                meter_start = await self._fresh_energy(cid)
                local = self.store.begin_transaction(
                    cid, tag, meter_start, iso(self.clock.now()), rid
                )
                if rid is not None:
                    self.store.unreserve(rid)
                    station = self.station_reservation
                    if station is not None and station["reservation_id"] == rid:
                        self.station_reservation = None
                self.tx_started[cid] = self.clock.now()
                profile = self.pending_tx_profile.pop(cid, None)
                if profile is not None:  # RemoteStartTransaction's chargingProfile
                    self.smart.install(cid, profile, self.clock.now())
                self.local_tx[cid] = local
                self.last_sample[cid] = self.clock.monotonic()
                self.energy_cap.pop(cid, None)
                begin = self.config.csl("StopTxnSampledData")
                self.tx_data[cid] = (
                    [self._meter_value(cid, "Transaction.Begin", begin)] if begin else []
                )
                self.fifo.put_nowait(_OutboxMarker())
                log.info("connector %s: transaction %s started for %s", cid, local, tag)
            case act.StopTransaction(connector=cid, reason=reason, id_tag=tag):
                local = self.local_tx.pop(cid, None)
                if local is None:
                    return
                ended = self.store.transaction(local)
                self.smart.transaction_ended(ended.csms_id if ended else None, cid)
                self.tx_started.pop(cid, None)
                meter_stop = await self._fresh_energy(cid)
                data = [
                    self._meter_value(cid, "Transaction.End", self.config.csl("StopTxnSampledData"))
                ]
                self.store.end_transaction(
                    local, meter_stop, iso(self.clock.now()), reason, tag, data
                )
                self.fifo.put_nowait(_OutboxMarker())
                log.info("connector %s: transaction %s stopped (%s)", cid, local, reason)

    def _energy_now(self, cid: int) -> int:
        reading = self.readings[cid]
        return round(reading.energy_import_wh) if reading else 0

    async def _clock_aligned(self) -> None:
        """Sample.Clock meter values at every ClockAlignedDataInterval past midnight UTC."""
        while True:
            interval = self.config.int("ClockAlignedDataInterval")
            if interval <= 0:
                await self.clock.sleep(1.0)
                continue
            now = self.clock.time()
            await self.clock.sleep(interval - now % interval)
            if self.config.int("ClockAlignedDataInterval") != interval:
                continue  # changed while waiting: realign
            measurands = self.config.csl("MeterValuesAlignedData")
            stop_aligned = self.config.csl("StopTxnAlignedData")
            for cid in self.connectors:
                value = self._meter_value(cid, "Sample.Clock", measurands)
                if not value["sampled_value"]:
                    continue
                local = self.local_tx.get(cid)
                if local is not None:
                    self.store.enqueue(
                        local, "MeterValues", {"connector_id": cid, "meter_value": [value]}
                    )
                    self.fifo.put_nowait(_OutboxMarker())
                    if stop_aligned and cid in self.tx_data:
                        self.tx_data[cid].append(
                            self._meter_value(cid, "Sample.Clock", stop_aligned)
                        )
                elif self.accepted.is_set():
                    self.fifo.put_nowait(
                        _Direct(call.MeterValues(connector_id=cid, meter_value=[value]))
                    )

    async def _fresh_energy(self, cid: int) -> int:
        """meterStart/meterStop come from a read now, not from the last poll."""
        try:
            self.readings[cid] = await self.hw.connectors[cid].meter.read()
        except HardwareError as exc:
            log.warning("meter %s: %s; using the last reading", cid, exc)
        reading = self.readings[cid]
        return round(reading.energy_import_wh) if reading else 0

    def _maybe_sample(self, cid: int, now: float) -> None:
        local = self.local_tx.get(cid)
        interval = self.config.int("MeterValueSampleInterval")
        if local is None or interval <= 0:
            return
        if now - self.last_sample.get(cid, now) < interval:
            return
        self.last_sample[cid] = now
        value = self._meter_value(cid, "Sample.Periodic", self.config.csl("MeterValuesSampledData"))
        self.store.enqueue(local, "MeterValues", {"connector_id": cid, "meter_value": [value]})
        self.fifo.put_nowait(_OutboxMarker())
        stop_sampled = self.config.csl("StopTxnSampledData")
        if stop_sampled and cid in self.tx_data:
            self.tx_data[cid].append(self._meter_value(cid, "Sample.Periodic", stop_sampled))

    def _meter_value(self, cid: int, context: str, measurands: list[str]) -> dict[str, Any]:
        reading = self.readings[cid]
        ev = self.hw.power.ev(cid)
        logic = self.connectors[cid]
        values = {
            "Energy.Active.Import.Register": reading.energy_import_wh if reading else None,
            "Voltage": reading.voltage_v if reading else None,
            "Current.Import": reading.current_a if reading else None,
            "Power.Active.Import": reading.power_w if reading else None,
            "SoC": ev.soc_percent if ev.soc_percent > 0 else None,
            "Current.Offered": logic.offered_current_a,
            "Power.Offered": logic.limits.max_power_w,
        }
        sampled = []
        for measurand in measurands:
            value = values.get(measurand)
            if value is None:
                continue
            unit, location = MEASURAND_UNITS[measurand]
            text = (
                f"{round(value)}"
                if measurand == "Energy.Active.Import.Register"
                else f"{value:.1f}"
            )
            sampled.append(
                {
                    "value": text,
                    "context": context,
                    "format": "Raw",
                    "measurand": measurand,
                    "location": location,
                    "unit": unit,
                }
            )
        return {"timestamp": iso(self.clock.now()), "sampled_value": sampled}

    # --- authorization -------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _tag_from_thread(self, event: TagEvent) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._on_tag, event)

    def _on_tag(self, event: TagEvent) -> None:
        if event.kind != "present":
            return
        event = TagEvent(event.kind, event.uid.upper())
        now = self.clock.monotonic()
        for logic in self.connectors.values():
            if logic.tx_active and not logic.stopping and (logic.tx_tag or "").upper() == event.uid:
                logic.request_stop("Local", now, event.uid)
                return
        self._spawn(self._tag_presented(event.uid.upper()))

    async def _tag_presented(self, id_tag: str) -> None:
        if self._blocked_by_reservation(id_tag):
            log.info("idTag %s: the plugged connector is reserved for another tag", id_tag)
            return
        info = await self.authorize(id_tag)
        now = self.clock.monotonic()
        if info.get("status") != "Accepted":
            log.info("idTag %s not accepted: %s", id_tag, info.get("status"))
            return
        for logic in self.connectors.values():
            tx_tag = logic.tx_tag
            if logic.tx_active and not logic.stopping and tx_tag is not None:
                if may_stop(id_tag, info.get("parentIdTag"), tx_tag, self.tag_parent.get(tx_tag)):
                    logic.request_stop("Local", now, id_tag)  # same group: parentIdTag
                    return
        self.pending_tag = (id_tag, now)
        self._route_pending_tag(now, self.config.int("ConnectionTimeOut"))

    def _blocked_by_reservation(self, id_tag: str) -> bool:
        """No connector this card could use: the plugged ones (else every free one) are
        reserved for someone else (OCTT 046_1: no Authorize is sent for such a card)."""
        parent = self.tag_parent.get(id_tag)

        def held_for_others(c: ConnectorLogic) -> bool:
            held = c.held()
            if held is None or c.holds_reservation_for(id_tag, parent):
                return False
            return not (held.get("parent") and parent is None)  # else: Authorize tells

        free = [c for c in self.connectors.values() if c.is_free()]
        plugged = [c for c in free if c.plugged]
        in_hand = plugged or free  # the connector the driver stands at, else any free one
        return bool(in_hand) and all(held_for_others(c) for c in in_hand)

    def _route_pending_tag(self, now: float, timeout: float) -> None:
        """An accepted tag goes to a plugged free connector, else the first one plugged."""
        if self.pending_tag is None:
            return
        tag, since = self.pending_tag
        if now - since > timeout:
            self.pending_tag = None
            return
        parent = self.tag_parent.get(tag)
        free = [c for c in self.connectors.values() if c.accepts(tag, parent)]
        station = self.station_reservation
        redeems = station is not None and _matches(station, tag, parent)
        if station is not None and not redeems:
            # connector 0 is reserved: someone else may only take a connector if one
            # stays free for the reservation
            free = free if len(free) > 1 else []
        target = next((c for c in free if c.plugged), None)
        if target is None and len(free) == 1:
            target = free[0]  # the only possible connector shows Preparing at once
        if target is not None:
            target.authorize(tag, since, parent)
            if redeems and station is not None and target.authorized_reservation is None:
                target.authorized_reservation = station["reservation_id"]
                self.station_reservation = None
                self.store.unreserve(station["reservation_id"])
            self.pending_tag = None

    def _remember(self, id_tag: str, info: dict[str, Any]) -> None:
        """What the CSMS said of a tag: kept for parentIdTag and in the cache."""
        self.tag_parent[id_tag.upper()] = info.get("parentIdTag")
        if self.config.bool("AuthorizationCacheEnabled"):
            self.store.cache_put(id_tag.upper(), info, self.clock.time())

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """idTagInfo for a tag: from the CSMS when online, else by the offline rules."""
        now = self.clock.now()
        cache_on = self.config.bool("AuthorizationCacheEnabled")
        cached = self.store.cache_get(id_tag.upper()) if cache_on else None
        listed = (
            self.store.list_get(id_tag.upper())
            if self.config.bool("LocalAuthListEnabled")
            else None
        )
        known = listed if listed is not None else cached  # the list wins over the cache
        if listed is not None:
            self.tag_parent[id_tag.upper()] = listed.get("parentIdTag")
        if self.accepted.is_set():
            if known is not None and self.config.bool("LocalPreAuthorize") and is_valid(known, now):
                return known
            try:
                response = await self.request(call.Authorize(id_tag=id_tag))
            except (CallErrorReceived, OCPPError, TimeoutError, ConnectionError) as exc:
                log.warning("Authorize failed (%s); deciding offline", exc)
            else:
                info = response["idTagInfo"]
                self._remember(id_tag, info)
                return info
        info = offline_decision(
            cached,
            now,
            listed=listed,
            local_authorize_offline=self.config.bool("LocalAuthorizeOffline"),
            allow_unknown=self.config.bool("AllowOfflineTxForUnknownId"),
        )
        if info["status"] == "Accepted":
            self.tag_parent.setdefault(id_tag.upper(), info.get("parentIdTag"))
        return info

    # --- operations the CSMS asks for ------------------------------------------------

    def remote_start(
        self, id_tag: str, connector_id: int | None, profile: dict[str, Any] | None = None
    ) -> str:
        parent = self.tag_parent.get(id_tag.upper())
        wire_profile = to_wire(profile) if profile else None
        if wire_profile is not None and (
            wire_profile.get("chargingProfilePurpose") != "TxProfile"
            or wire_profile.get("transactionId") is not None
            or sc_problems(wire_profile)
        ):
            return "Rejected"  # only a TxProfile without transactionId (§5.11)
        if connector_id is not None:
            logic = self.connectors.get(connector_id)
            if logic is None:
                return "Rejected"
            if not logic.accepts(id_tag, parent):
                held = logic.held()
                if not (logic.is_free() and held and held.get("parent") and parent is None):
                    return "Rejected"
                # reserved for a parentIdTag: an Authorize tells whether this tag belongs
                target = logic

                async def learn_parent_then_start() -> None:
                    info = await self.authorize(id_tag)
                    learnt = info.get("parentIdTag")
                    if info.get("status") == "Accepted" and target.accepts(id_tag, learnt):
                        target.authorize(id_tag, self.clock.monotonic(), learnt)

                self._spawn(learn_parent_then_start())
                return "Accepted"
        else:
            free = [c for c in self.connectors.values() if c.accepts(id_tag, parent)]
            logic = next((c for c in free if c.plugged), free[0] if free else None)
            if logic is None:
                return "Rejected"
        target = logic
        if wire_profile is not None:
            self.pending_tx_profile[target.connector_id] = wire_profile
        if self.config.bool("AuthorizeRemoteTxRequests"):

            async def authorize_first() -> None:
                info = await self.authorize(id_tag)
                if info.get("status") == "Accepted":
                    target.authorize(id_tag, self.clock.monotonic(), info.get("parentIdTag"))

            self._spawn(authorize_first())
        else:
            target.authorize(id_tag, self.clock.monotonic(), parent)
        return "Accepted"

    def remote_stop(self, transaction_id: int) -> str:
        local = self.store.local_id_for_csms(transaction_id)
        for cid, tx in self.local_tx.items():
            if tx == local:
                self.connectors[cid].request_stop("Remote", self.clock.monotonic())
                return "Accepted"
        return "Rejected"

    def reset(self, kind: str) -> str:
        self._spawn(self._restart(kind))
        return "Accepted"

    async def _restart(self, kind: str) -> None:
        """Soft: end every transaction and deliver it, then restart. Hard: restart now;
        open transactions are reported after the reboot with reason HardReset."""
        await self.clock.sleep(0.5)  # the Reset answer leaves first
        if kind == "Soft":
            now = self.clock.monotonic()
            for logic in self.connectors.values():
                logic.request_stop("SoftReset", now)
            for _ in range(100):
                if not self.store.active_transactions():  # SQLite, not the logic: the
                    break  # StopTransaction is only safe once it is stored
                await self.clock.sleep(0.1)
            for _ in range(100):
                if self.store.pending() == 0 or not self.accepted.is_set():
                    break
                await self.clock.sleep(0.1)
        else:
            self.config.set_internal(REBOOT_REASON, "HardReset")
        self.reboot.set()

    def _saved_availability(self) -> dict[int, bool]:
        raw = self.config.values.get(AVAILABILITY)
        if not raw:
            return {}
        return {int(k): bool(v) for k, v in json.loads(raw).items()}

    def change_availability(self, connector_id: int, kind: str) -> str:
        operative = kind == "Operative"
        if connector_id == 0:
            targets = list(self.connectors.values())
        elif connector_id in self.connectors:
            targets = [self.connectors[connector_id]]
        else:
            return "Rejected"
        answers = [logic.change_availability(operative) for logic in targets]
        saved = self._saved_availability()
        for logic in targets:
            saved[logic.connector_id] = operative  # what it must be after a reboot too
        self.config.set_internal(AVAILABILITY, json.dumps(saved))
        if connector_id == 0 and "Scheduled" not in answers:
            station = "Available" if operative else "Unavailable"
            self._send_status(act.SendStatus(0, station))
        return "Scheduled" if "Scheduled" in answers else "Accepted"

    # reservations

    def _hold(self, r: dict[str, Any]) -> None:
        held = {
            "reservation_id": r["reservation_id"],
            "id_tag": r["id_tag"],
            "parent": r.get("parent"),
            "expiry": r["expiry"],
        }
        if r["connector_id"] == 0:
            self.station_reservation = held
        elif r["connector_id"] in self.connectors:
            self.connectors[r["connector_id"]].reservation = held

    def reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
    ) -> str:
        """ReserveNow: Accepted, Faulted, Occupied, Rejected or Unavailable (§5.13)."""
        if connector_id == 0:
            if not self.config.bool("ReserveConnectorZeroSupported"):
                return "Rejected"
            logics = list(self.connectors.values())
        elif connector_id in self.connectors:
            logics = [self.connectors[connector_id]]
        else:
            return "Rejected"
        if all(c.fault is not None for c in logics):
            return "Faulted"
        if all(not c.operative for c in logics):
            return "Unavailable"
        held = [c.reservation for c in logics] + (
            [self.station_reservation] if connector_id == 0 else []
        )
        if any(r is not None and r["reservation_id"] != reservation_id for r in held):
            return "Occupied"
        if not any(c.is_free() and not c.plugged for c in logics):
            return "Occupied"
        self._cancel(reservation_id)  # a new ReserveNow with the same id replaces it
        reservation = {
            "reservation_id": reservation_id,
            "connector_id": connector_id,
            "id_tag": id_tag.upper(),
            "parent": parent_id_tag,
            "expiry": expiry_date,
        }
        self.store.reserve(reservation)
        self._hold(reservation)
        return "Accepted"

    def _cancel(self, reservation_id: int) -> bool:
        found = False
        for logic in self.connectors.values():
            if logic.reservation and logic.reservation["reservation_id"] == reservation_id:
                logic.reservation = None
                found = True
        station = self.station_reservation
        if station and station["reservation_id"] == reservation_id:
            self.station_reservation = None
            found = True
        return self.store.unreserve(reservation_id) or found

    def cancel_reservation(self, reservation_id: int) -> str:
        return "Accepted" if self._cancel(reservation_id) else "Rejected"

    def _place_station_reservation(self) -> None:
        """A reservation of connector 0 keeps one connector free: when only one is
        left, that one is Reserved (and only the reserved tag may use it)."""
        station = self.station_reservation
        free = [c for c in self.connectors.values() if c.is_free() and c.reservation is None]
        for logic in self.connectors.values():
            logic.station_reservation = (
                station if station and len(free) == 1 and logic in free else None
            )

    def _expire_reservations(self) -> None:
        now = self.clock.now()
        for r in self.store.reservations():
            expiry = parse_time(r["expiry"])
            if expiry is not None and expiry <= now:
                log.info("reservation %s expired", r["reservation_id"])
                self._cancel(r["reservation_id"])

    # local authorization list

    def local_list_version(self) -> int:
        if not self.config.bool("LocalAuthListEnabled"):
            return -1
        if self.store.list_size() == 0:
            return 0  # 0: there is no list (§5.9), whatever version emptied it
        return int(self.config.values.get("_LocalListVersion") or 0)

    def send_local_list(
        self, list_version: int, update_type: str, entries: list[dict[str, Any]]
    ) -> str:
        """SendLocalList: Accepted, Failed, NotSupported or VersionMismatch (§5.15)."""
        if not self.config.bool("LocalAuthListEnabled"):
            return "NotSupported"
        if len(entries) > self.config.int("SendLocalListMaxLength"):
            return "Failed"
        full = update_type == "Full"
        if not full and list_version <= self.local_list_version():
            return "VersionMismatch"
        changes = [(e["id_tag"].upper(), _wire_info(e.get("id_tag_info"))) for e in entries]
        size = 0 if full else self.store.list_size()
        adds = {tag for tag, info in changes if info is not None}
        if not full:
            adds -= {tag for tag in adds if self.store.list_get(tag) is not None}
        if size + len(adds) > self.config.int("LocalAuthListMaxLength"):
            return "Failed"
        if full and any(info is None for _, info in changes):
            return "Failed"  # a full list carries idTagInfo for every entry
        self.store.list_update(list_version, full, changes)
        self.config.values["_LocalListVersion"] = str(list_version)
        return "Accepted"

    # remote trigger

    def trigger(self, requested: str, connector_id: int | None) -> str:
        """TriggerMessage: Accepted (then the message follows), Rejected or NotImplemented."""
        if connector_id is not None and connector_id not in (0, *self.connectors):
            return "Rejected"
        builders = {
            "BootNotification": self._trigger_boot,
            "Heartbeat": lambda _: [call.Heartbeat()],
            "StatusNotification": self._trigger_status,
            "MeterValues": self._trigger_meter_values,
            "FirmwareStatusNotification": lambda _: [
                call.FirmwareStatusNotification(status=self.firmware_status())
            ],
            "DiagnosticsStatusNotification": lambda _: [
                call.DiagnosticsStatusNotification(status=self.diagnostics_status())
            ],
        }
        build = builders.get(requested)
        if build is None:
            return "NotImplemented"
        messages = build(connector_id)
        if not messages:
            return "Rejected"

        async def send_after_answer() -> None:
            await self.clock.sleep(0.05)  # the TriggerMessage answer leaves first
            for message in messages:
                self.fifo.put_nowait(_Direct(message))

        self._spawn(send_after_answer())
        return "Accepted"

    def _trigger_boot(self, _: int | None) -> list[Any]:
        s = self.settings
        return [
            call.BootNotification(
                charge_point_vendor=s.vendor,
                charge_point_model=s.model,
                charge_point_serial_number=s.serial_number,
                firmware_version=self.firmware_version(),
            )
        ]

    def _trigger_status(self, connector_id: int | None) -> list[Any]:
        station = act.SendStatus(0, self._station_status())
        every = {0: station, **self.status}
        wanted = [connector_id] if connector_id is not None else sorted(every)
        return [self._status_call(every[c]) for c in wanted if c in every]

    def _trigger_meter_values(self, connector_id: int | None) -> list[Any]:
        wanted = [connector_id] if connector_id else sorted(self.connectors)
        out = []
        for cid in wanted:
            value = self._meter_value(cid, "Trigger", self.config.csl("MeterValuesSampledData"))
            kwargs: dict[str, Any] = {"connector_id": cid, "meter_value": [value]}
            tx = self.store.transaction(self.local_tx[cid]) if cid in self.local_tx else None
            if tx is not None and tx.csms_id is not None:
                kwargs["transaction_id"] = tx.csms_id
            out.append(call.MeterValues(**kwargs))
        return out

    def firmware_status(self) -> str:
        return FirmwareManager.of(self).status()

    def diagnostics_status(self) -> str:
        return Diagnostics.of(self).status()

    def firmware_version(self) -> str:
        """The active A/B slot's version (the settings' when running from the tree)."""
        return FirmwareManager.of(self).running_version()

    # smart charging

    def _transaction(self, cid: int) -> Transaction | None:
        if cid not in self.local_tx or cid not in self.tx_started:
            return None
        tx = self.store.transaction(self.local_tx[cid])
        return Transaction(self.tx_started[cid], tx.csms_id if tx else None)

    def _voltage(self, cid: int) -> float:
        reading = self.readings[cid]
        if reading and reading.voltage_v > 50:
            return reading.voltage_v
        target = self.hw.power.ev(cid).target_voltage_v
        return target if target > 50 else 400.0

    def _limit_a(self, cid: int) -> float | None:
        return self.smart.limit_a(cid, self.clock.now(), self._voltage(cid), self._transaction(cid))

    def set_charging_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        wire = to_wire(profile)
        active: int | bool | None = None
        if connector_id in self.local_tx:
            tx = self._transaction(connector_id)
            active = tx.transaction_id if tx and tx.transaction_id is not None else True
        why = self.smart.validate(connector_id, wire, active)
        if why is not None:
            log.info("SetChargingProfile rejected: %s", why)
            return "Rejected"
        self.smart.install(connector_id, wire, self.clock.now())
        return "Accepted"

    def clear_charging_profile(
        self,
        id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str:
        removed = self.smart.clear(id, connector_id, purpose, stack_level)
        return "Accepted" if removed else "Unknown"

    def composite_schedule(self, connector_id: int, duration: int, unit: str | None) -> dict:
        cid = connector_id if connector_id in self.connectors else None
        return self.smart.composite(
            connector_id,
            duration,
            {"Current": "A", "Power": "W"}.get(unit or "", unit),
            self.clock.now(),
            self._voltage(cid) if cid else 400.0,
            self._transaction(cid) if cid else None,
            self.settings.limits.max_current_a,
        )

    def unlock_connector(self, connector_id: int) -> str:
        """Fixed cables (HFS-2): there is no lock to open."""
        return "NotSupported"

    def clear_cache(self) -> str:
        self.store.cache_clear()
        return "Accepted"

    # --- outgoing messages -----------------------------------------------------

    def _send_status(self, status: act.SendStatus) -> None:
        """Report a status once it has held for MinimumStatusDuration (0: at once)."""
        self.pending_status[status.connector] = (status, self.clock.monotonic())
        self._flush_status(self.clock.monotonic())

    def _flush_status(self, now: float) -> None:
        hold = self.config.int("MinimumStatusDuration")
        for cid, (status, since) in list(self.pending_status.items()):
            if self.sent_status.get(cid) == (status.status, status.error_code):
                del self.pending_status[cid]  # changed and changed back: nothing to say
                continue
            if now - since < hold:
                continue
            del self.pending_status[cid]
            if not self.accepted.is_set():
                continue  # the current status of every connector is sent after boot
            self.sent_status[cid] = (status.status, status.error_code)
            self.fifo.put_nowait(_Direct(self._status_call(status)))

    def _station_status(self) -> str:
        operative = any(c.operative for c in self.connectors.values())
        return "Available" if operative else "Unavailable"

    def _status_call(self, status: act.SendStatus) -> call.StatusNotification:
        return call.StatusNotification(
            connector_id=status.connector,
            error_code=status.error_code,
            status=status.status,
            info=status.info,
            timestamp=iso(self.clock.now()),
        )

    async def request(self, payload: Any) -> Any:
        """Send a non-transaction CALL through the ordered pump and wait for its answer."""
        assert self.loop is not None
        future = self.loop.create_future()
        self.fifo.put_nowait(_Direct(payload, future))
        return await future

    async def _pump(self) -> None:
        while True:
            await self.accepted.wait()
            item = await self.fifo.get()
            if isinstance(item, _OutboxMarker):
                await self._drain_outbox()
                continue
            link = self.link
            if link is None:
                if item.future and not item.future.done():
                    item.future.set_exception(ConnectionError("offline"))
                continue
            try:
                response = await link.request(item.payload)
            except Exception as exc:  # noqa: BLE001 - the caller decides what it means
                if item.future and not item.future.done():
                    item.future.set_exception(exc)
                else:
                    log.warning("%s failed: %s", type(item.payload).__name__, exc)
                continue
            if item.future and not item.future.done():
                item.future.set_result(response)

    async def _drain_outbox(self) -> None:
        while self.accepted.is_set():
            item = self.store.head()
            if item is None:
                return
            link = self.link
            if link is None:
                return
            payload = dict(item.payload)
            if item.action != "StartTransaction":
                tx = self.store.transaction(item.local_tx) if item.local_tx else None
                if tx is None or tx.csms_id is None:
                    log.error("dropping %s: its StartTransaction was never confirmed", item.action)
                    self.store.done(item.seq)
                    continue
                payload["transaction_id"] = tx.csms_id
            try:
                response = await link.request(getattr(call, item.action)(**payload))
            except (CallErrorReceived, OCPPError, TimeoutError) as exc:
                if link is not self.link:
                    continue  # the connection went away: not the CSMS's failure to process
                attempts = self.store.count_attempt(item.seq)
                log.warning("%s attempt %s failed: %s", item.action, attempts, exc)
                if attempts >= max(1, self.config.int("TransactionMessageAttempts")):
                    log.error("giving up on %s after %s attempts", item.action, attempts)
                    self.store.done(item.seq)
                else:
                    await self.clock.sleep(
                        self.config.int("TransactionMessageRetryInterval") * attempts
                    )
                continue
            except (NotConnected, websockets.ConnectionClosed):
                return
            tag = item.payload.get("id_tag")
            if tag and "idTagInfo" in response:
                self._remember(tag, response["idTagInfo"])
            if item.action == "StartTransaction":
                self.store.set_csms_id(item.local_tx, int(response["transactionId"]))
                self._check_start_authorization(item.local_tx, response)
            self.store.done(item.seq)

    def _check_start_authorization(self, local_tx: int, response: dict[str, Any]) -> None:
        """A start the CSMS does not accept (e.g. begun offline) ends now
        (StopTransactionOnInvalidId) or may take MaxEnergyOnInvalidId more."""
        status = response.get("idTagInfo", {}).get("status", "Accepted")
        if status == "Accepted":
            return
        tx = self.store.transaction(local_tx)
        for cid, local in self.local_tx.items():
            if local != local_tx:
                continue
            if self.config.bool("StopTransactionOnInvalidId"):
                log.info("connector %s: idTag %s at start; stopping", cid, status)
                self.connectors[cid].request_stop("DeAuthorized", self.clock.monotonic())
            else:
                cap = self.config.int("MaxEnergyOnInvalidId")
                self.energy_cap[cid] = (tx.meter_start if tx else 0) + cap
                log.info("connector %s: idTag %s; energy capped at %s Wh", cid, status, cap)

    # --- connection --------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.settings.csms_url.startswith("wss://"):
            return None
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.settings.client_cert_file:  # security profile 3
            context.load_cert_chain(self.settings.client_cert_file, self.settings.client_key_file)
        return context

    def _auth_header(self) -> dict[str, str]:
        password = self.config.get("AuthorizationKey")
        if not password or self.config.int("SecurityProfile") == 0:
            return {}
        raw = f"{self.settings.charge_point_id}:{password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    async def _connection_loop(self) -> None:
        backoff = 1.0
        url = self.settings.csms_url.rstrip("/") + "/" + self.settings.charge_point_id
        while True:
            ping = self.config.int("WebSocketPingInterval") or None
            try:
                async with websockets.connect(
                    url,
                    subprotocols=["ocpp1.6"],
                    ssl=self._ssl_context(),
                    additional_headers=self._auth_header(),
                    ping_interval=ping,
                    open_timeout=10,
                    proxy=None,
                ) as ws:
                    backoff = 1.0
                    await self._session(ws)
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("CSMS connection: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bad answer must not kill the charger
                log.exception("CSMS session failed")
            await self.clock.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 30.0)

    async def _session(self, ws: Any) -> None:
        link = self.link_class(
            self.settings.charge_point_id,
            ws,
            self,
            response_timeout=self.settings.response_timeout_s,
        )
        reader = asyncio.create_task(link.run())
        heartbeat: asyncio.Task | None = None
        try:
            booted = asyncio.create_task(self._boot(link) if not self.booted else asyncio.sleep(0))
            done, _ = await asyncio.wait({reader, booted}, return_when=asyncio.FIRST_COMPLETED)
            if booted not in done:
                booted.cancel()
                return
            booted.result()
            self.booted = True
            self.link = link
            self.accepted.set()
            everyone = [act.SendStatus(0, self._station_status()), *self.status.values()]
            for status in everyone:
                self.sent_status[status.connector] = (status.status, status.error_code)
                self.pending_status.pop(status.connector, None)
                self.fifo.put_nowait(_Direct(self._status_call(status)))
            self.fifo.put_nowait(_OutboxMarker())
            heartbeat = asyncio.create_task(self._heartbeats())
            await reader
        finally:
            self.accepted.clear()
            self.link = None
            for task in (reader, heartbeat):
                if task is not None:
                    task.cancel()
            self._fail_direct_items()

    def _fail_direct_items(self) -> None:
        while not self.fifo.empty():
            item = self.fifo.get_nowait()
            if isinstance(item, _Direct) and item.future and not item.future.done():
                item.future.set_exception(ConnectionError("connection lost"))

    async def _boot(self, link: AgentLink) -> None:
        s = self.settings
        while True:
            response = await link.request(
                call.BootNotification(
                    charge_point_vendor=s.vendor,
                    charge_point_model=s.model,
                    charge_point_serial_number=s.serial_number,
                    firmware_version=self.firmware_version(),
                ),
            )
            interval = int(response.get("interval", 0))
            if response["status"] == "Accepted":
                if interval > 0:
                    self.config.set_internal("HeartbeatInterval", str(interval))
                log.info("boot accepted; heartbeat every %s s", interval)
                return
            wait = interval if interval > 0 else 30
            log.info("boot %s; retrying in %s s", response["status"], wait)
            await self.clock.sleep(wait)

    async def _heartbeats(self) -> None:
        while True:
            await self.clock.sleep(self.config.int("HeartbeatInterval"))
            try:
                await self.request(call.Heartbeat())
            except (CallErrorReceived, OCPPError, TimeoutError, ConnectionError) as exc:
                log.warning("heartbeat: %s", exc)
