"""The running charger: hardware in, connector and station logic, features, uplink out.

One asyncio loop. The hardware loop ticks every ``tick_s`` of simulated time and
feeds each :class:`ConnectorLogic`; what the logic decides is carried out here
(pilot, contactors, power modules, transactions). Everything else has its own
module: the station's rules (``station``), metering, authorization, the ordered
outbox, the uplink, and one feature per OCPP profile (``features/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ocpp.v16 import call

from charger.agent import REBOOT_EXIT_CODE
from charger.agent import commands as act
from charger.agent.authorization import Authorizer, may_stop
from charger.agent.config_keys import KeyTable
from charger.agent.configuration import Configuration
from charger.agent.connector import ConnectorLogic, Inputs
from charger.agent.feature import Context, Feature
from charger.agent.features.core import REBOOT_REASON, CoreOperations, saved_availability
from charger.agent.features.core import status_call as _status_call
from charger.agent.features.diagnostics import Diagnostics
from charger.agent.features.firmware import FirmwareManager
from charger.agent.features.local_list import LocalList
from charger.agent.features.remote_trigger import RemoteTrigger
from charger.agent.features.reservations import Reservations
from charger.agent.features.security.feature import Security
from charger.agent.features.smart_charging import SmartCharging, SmartChargingFeature
from charger.agent.link import AgentLink
from charger.agent.metering import Metering
from charger.agent.outbox import Outbox
from charger.agent.settings import AgentSettings
from charger.agent.station import Station, StatusDebounce
from charger.agent.store import AgentStore
from charger.agent.uplink import Uplink
from charger.charging_profiles.schedule import Transaction
from charger.clock import Clock, iso
from charger.hw.health import HealthBoard
from charger.hw.interfaces import CpReading, Hardware, HardwareError, PpReading, TagEvent

log = logging.getLogger("charger.agent")


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
        self.local_tx: dict[int, int] = {}  # connector -> local transaction id
        self._warned: dict[str, str] = {}  # hardware complaints already logged, by source
        self._station_fault_sent: tuple[str, str] | None = None
        self.tx_started: dict[int, datetime] = {}
        self.pending_tx_profile: dict[int, dict[str, Any]] = {}  # from RemoteStart
        self.energy_cap: dict[int, int] = {}  # connector -> Wh at which to stop offering
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task] = []
        self.exit_code = 0

        self.outbox = Outbox(self.store, self.config, clock)
        self.outbox.on_answer = self._answered
        self.ctx = Context(settings, self.config, self.store, clock, self.connectors, self.outbox)
        self.station = Station(self.connectors)
        self.debounce = StatusDebounce()
        self.authorizer = Authorizer(self.config, self.store, clock, self.outbox)
        self.metering = Metering(
            hardware,
            self.config,
            clock,
            self.store,
            self.outbox,
            self.connectors,
            self.local_tx,
            settings.meter_poll_s,
        )
        self.smart = SmartCharging(self.config, ids)
        self.uplink = Uplink(
            settings,
            self.config,
            clock,
            self.outbox,
            make_link=self._make_link,
            boot_payload=self.boot_payload,
            on_accepted=self._accepted,
        )
        self.reservations = Reservations(self.ctx, self.station)
        self.features: list[Feature] = [
            CoreOperations(self.ctx, self),
            self.reservations,
            LocalList(self.ctx),
            SmartChargingFeature(self.ctx, self.smart, self.transaction_of, self.voltage_of),
            FirmwareManager(self.ctx),
            Diagnostics(self.ctx),
        ]
        trigger = RemoteTrigger(self.ctx, list(self.features))
        self.features.append(trigger)
        # The security extension: its own handlers, and how the uplink connects.
        self.security = Security(self.ctx, trigger, self._firmware(), self.uplink.reconnect)
        self.features.append(self.security)
        self.uplink.plan = self.security.connection
        for cid, operative in saved_availability(self.ctx).items():
            if cid in self.connectors:
                self.connectors[cid].operative = operative

    # --- what the features and the supervisor see ----------------------------------

    def _firmware(self) -> FirmwareManager:
        return next(f for f in self.features if isinstance(f, FirmwareManager))

    @property
    def accepted(self) -> asyncio.Event:
        return self.outbox.accepted

    @property
    def reboot(self) -> asyncio.Event:
        return self.ctx.reboot

    def registration(self) -> str | None:
        return self.uplink.registration

    def statuses(self) -> dict[int, act.SendStatus]:
        return dict(self.debounce.current)

    def meter_value(self, cid: int, context: str, measurands: list[str]) -> dict[str, Any]:
        return self.metering.value(cid, context, measurands)

    def boot_payload(self) -> call.BootNotification:
        s = self.settings
        return call.BootNotification(
            charge_point_vendor=s.vendor,
            charge_point_model=s.model,
            charge_point_serial_number=s.serial_number,
            firmware_version=self.ctx.firmware_version(),
        )

    def report_status(self, status: act.SendStatus) -> None:
        """Report a status once it has held for MinimumStatusDuration (0: at once)."""
        if status.status == "Faulted":
            log.info(
                "connector %s: Faulted %s (%s)", status.connector, status.error_code, status.info
            )
        self.debounce.changed(status, self.clock.monotonic())
        self._flush_status(self.clock.monotonic())

    # --- lifecycle ----------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.started_at = self.clock.monotonic()
        self.started_wall = time.monotonic()  # the CAN link's silence is wall time (real I/O)
        await self.hw.power.start()
        await self._recover_after_power_loss()
        for feature in self.features:
            await feature.start()
        self.hw.rfid.start(self._tag_from_thread)
        for cid in self.connectors:
            self.tasks.append(asyncio.create_task(self.metering.poll(cid), name=f"meter{cid}"))
        self.tasks += [
            asyncio.create_task(self._hardware_loop(), name="hardware"),
            asyncio.create_task(self.uplink.run(), name="connection"),
            asyncio.create_task(self.outbox.run(), name="pump"),
            asyncio.create_task(self.metering.clock_aligned(), name="aligned"),
        ]
        everything: asyncio.Future[Any] = asyncio.gather(*self.tasks)
        rebooting: asyncio.Future[Any] = asyncio.ensure_future(self.reboot.wait())
        try:
            await asyncio.wait([everything, rebooting], return_when=asyncio.FIRST_COMPLETED)
            if self.reboot.is_set():
                self.exit_code = REBOOT_EXIT_CODE
                log.info("rebooting")
                await self.uplink.close()  # 1001 going away, not 1011
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
        for feature in self.features:
            feature.close()
        self.hw.rfid.close()
        await self.hw.power.close()
        for conn in self.hw.connectors.values():
            await conn.meter.close()
            conn.pilot.close()
        self.store.close()

    async def _recover_after_power_loss(self) -> None:
        """Transactions open at power loss (or a hard reset) end now (AQ-7.2), with the
        transactionData kept so far."""
        reason = self.config.values.pop(REBOOT_REASON, None) or "PowerLoss"
        self.store.del_config(REBOOT_REASON)
        for tx in self.store.active_transactions():
            reading = await self.metering.read_patiently(tx.connector_id)
            meter_stop = round(reading.energy_import_wh) if reading else tx.meter_start
            self.store.end_transaction(
                tx.local_id,
                meter_stop,
                iso(self.clock.now()),
                reason,
                max_values=self.config.int("StopTransactionMaxMeterValues"),
            )
            log.info("transaction %s ended (%s) at %s Wh", tx.local_id, reason, meter_stop)

    # --- hardware -------------------------------------------------------------------

    async def _hardware_loop(self) -> None:
        while True:
            now = self.clock.monotonic()
            timeout = self.config.int("ConnectionTimeOut")
            redeemed = self.station.route_pending_tag(now, timeout, self.authorizer.parent)
            if redeemed is not None:
                self.store.unreserve(redeemed)
            stop_on_disconnect = self.config.bool("StopTransactionOnEVSideDisconnect")
            for cid, logic in self.connectors.items():
                hw = self.hw.connectors[cid]
                logic.stop_on_ev_disconnect = stop_on_disconnect
                cap = self.energy_cap.get(cid)
                if cap is not None and logic.tx_active:
                    logic.evse_suspended = self.metering.energy_now(cid) >= cap
                logic.limit_a = self._limit_a(cid)
                cp: CpReading | None
                pp: PpReading | None
                try:
                    cp = hw.pilot.cp()
                    pp = hw.pilot.pp()
                except HardwareError as exc:
                    self._warn_once(f"pilot {cid}", str(exc))
                    cp = pp = None
                inputs = Inputs(
                    now=now,
                    cp=cp,
                    pp=pp,
                    ev=self.hw.power.ev(cid),
                    power=self.hw.power.status(cid),
                    # no status frame yet right after boot is not yet silence
                    power_age_s=min(self.hw.power.age_s(cid), time.monotonic() - self.started_wall),
                    meter_ok=self.metering.meter_ok(cid),
                    hardware_fault=self._hardware_fault(cid),
                    wall=time.monotonic(),
                )
                was_plugged = logic.plugged
                actions = logic.tick(inputs, timeout)
                if logic.unplugged_readings == 1:
                    log.info(
                        "connector %s: one pilot reading without the plug (CP %s); read again",
                        cid,
                        "unreadable" if cp is None else f"{cp.state} {cp.high_v:+.1f} V",
                    )
                if logic.plugged != was_plugged:
                    # what the pilot read when the plug came or went: a lab's first question
                    log.info(
                        "connector %s: %s (CP %s)",
                        cid,
                        "plugged" if logic.plugged else "unplugged",
                        "unreadable" if cp is None else f"{cp.state} {cp.high_v:+.1f} V",
                    )
                for action in actions:
                    try:
                        await self._execute(action)
                    except HardwareError as exc:
                        # The connector logic sees the consequence (stale status, fault).
                        self._warn_once(f"connector {cid} {type(action).__name__}", str(exc))
                self.metering.maybe_sample(cid, now)
            self._check_station_parts()
            self._flush_status(now)
            self.reservations.tick()
            await self.clock.sleep(self.settings.tick_s)

    def _station_fault(self) -> tuple[str, str] | None:
        """A part of the whole station (the RFID reader) that is down: code and why."""
        health = self.hw.extras.get("health")
        if not isinstance(health, HealthBoard):
            return None
        part = next((p for p in health.parts() if not p.ok and not p.connectors), None)
        if part is None:
            return None
        return (part.error_code or "OtherError", f"{part.part}: {part.problem}"[:50])

    def _station_status(self) -> act.SendStatus:
        """Connector 0: Faulted (ReaderFailure, ...) while a station part is down."""
        fault = self._station_fault()
        if fault is not None:
            return act.SendStatus(0, "Faulted", fault[0], fault[1])
        return act.SendStatus(0, self.station.status())

    def _check_station_parts(self) -> None:
        fault = self._station_fault()
        if fault != self._station_fault_sent:
            self._station_fault_sent = fault
            self.report_status(self._station_status())

    def _hardware_fault(self, cid: int) -> tuple[str, str] | None:
        """A part of connector ``cid`` that cannot be opened: its error code and why."""
        health = self.hw.extras.get("health")
        part = health.fault_of(cid) if isinstance(health, HealthBoard) else None
        if part is None:
            return None
        return (part.error_code or "InternalError", f"{part.part}: {part.problem}")

    def _warn_once(self, key: str, message: str) -> None:
        """Log a hardware complaint when it changes, not on every tick (it is in the
        health report and on the console already)."""
        if self._warned.get(key) != message:
            self._warned[key] = message
            log.warning("%s: %s", key, message)

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
                self.report_status(action)
            case act.StartTransaction(connector=cid, id_tag=tag, reservation_id=rid):
                await self._start_transaction(cid, tag, rid)
            case act.StopTransaction(connector=cid, reason=reason, id_tag=tag):
                await self._stop_transaction(cid, reason, tag)

    async def _start_transaction(self, cid: int, tag: str, rid: int | None) -> None:
        meter_start = await self.metering.fresh_energy(cid)
        local = self.store.begin_transaction(cid, tag, meter_start, iso(self.clock.now()), rid)
        if rid is not None:
            self.store.unreserve(rid)
            self.station.started(rid)
        self.tx_started[cid] = self.clock.now()
        profile = self.pending_tx_profile.pop(cid, None)
        if profile is not None:  # RemoteStartTransaction's chargingProfile
            self.smart.install(cid, profile, self.clock.now())
        self.local_tx[cid] = local
        self.energy_cap.pop(cid, None)
        self.metering.transaction_started(cid, local)
        self.outbox.kick()
        log.info("connector %s: transaction %s started for %s", cid, local, tag)

    async def _stop_transaction(self, cid: int, reason: str, tag: str | None) -> None:
        local = self.local_tx.pop(cid, None)
        if local is None:
            return
        ended = self.store.transaction(local)
        self.smart.transaction_ended(ended.csms_id if ended else None, cid)
        self.tx_started.pop(cid, None)
        meter_stop = await self.metering.fresh_energy(cid)
        self.store.end_transaction(
            local,
            meter_stop,
            iso(self.clock.now()),
            reason,
            tag,
            [self.metering.end_value(cid)],
            max_values=self.config.int("StopTransactionMaxMeterValues"),
        )
        self.outbox.kick()
        log.info("connector %s: transaction %s stopped (%s)", cid, local, reason)

    # --- tags ------------------------------------------------------------------------

    def _tag_from_thread(self, event: TagEvent) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._on_tag, event)

    def _on_tag(self, event: TagEvent) -> None:
        if event.kind != "present":
            return
        uid = event.uid.upper()
        own = self.station.stop_target(uid)
        if own is not None:
            own.request_stop("Local", self.clock.monotonic(), uid)
            return
        self.ctx.spawn(self._tag_presented(uid))

    async def _tag_presented(self, id_tag: str) -> None:
        if self.station.blocked_by_reservation(id_tag, self.authorizer.parent.get(id_tag)):
            log.info("idTag %s: the plugged connector is reserved for another tag", id_tag)
            return
        info = await self.authorizer.authorize(id_tag)
        now = self.clock.monotonic()
        if info.get("status") != "Accepted":
            log.info("idTag %s not accepted: %s", id_tag, info.get("status"))
            return
        parent_of = self.authorizer.parent
        for logic in self.connectors.values():
            tx_tag = logic.tx_tag
            if logic.tx_active and not logic.stopping and tx_tag is not None:
                if may_stop(id_tag, info.get("parentIdTag"), tx_tag, parent_of.get(tx_tag)):
                    logic.request_stop("Local", now, id_tag)  # same group: parentIdTag
                    return
        self.station.present(id_tag, now)
        redeemed = self.station.route_pending_tag(
            now, self.config.int("ConnectionTimeOut"), parent_of
        )
        if redeemed is not None:
            self.store.unreserve(redeemed)

    # --- smart charging ----------------------------------------------------------------

    def transaction_of(self, cid: int) -> Transaction | None:
        if cid not in self.local_tx or cid not in self.tx_started:
            return None
        tx = self.store.transaction(self.local_tx[cid])
        return Transaction(self.tx_started[cid], tx.csms_id if tx else None)

    def voltage_of(self, cid: int) -> float:
        reading = self.metering.readings[cid]
        if reading and reading.voltage_v > 50:
            return reading.voltage_v
        target = self.hw.power.ev(cid).target_voltage_v
        return target if target > 50 else 400.0

    def _limit_a(self, cid: int) -> float | None:
        now = self.clock.now()
        return self.smart.limit_a(cid, now, self.voltage_of(cid), self.transaction_of(cid))

    # --- the link and the outbox ---------------------------------------------------------

    def _make_link(self, ws: Any) -> AgentLink:
        return self.link_class(
            self.settings.charge_point_id,
            ws,
            self.features,
            clock=self.clock,
            response_timeout=self.settings.response_timeout_s,
        )

    @property
    def link(self) -> AgentLink | None:
        return self.outbox.link

    def _accepted(self) -> None:
        """Registered: every connector's status now, then what the outbox holds."""
        for status in self.debounce.everything(self._station_status()):
            self.outbox.send(_status_call(status, self.ctx))
        self.outbox.kick()
        for feature in self.features:
            feature.on_accepted()

    def _flush_status(self, now: float) -> None:
        hold = self.config.int("MinimumStatusDuration")
        for status in self.debounce.due(now, hold, self.outbox.accepted.is_set()):
            self.outbox.send(_status_call(status, self.ctx))

    def _answered(
        self, action: str, sent: dict[str, Any], response: dict[str, Any], local_tx: int | None
    ) -> None:
        """What the Central System answered to an outbox message."""
        tag = sent.get("id_tag")
        if tag and "idTagInfo" in response:
            self.authorizer.remember(tag, response["idTagInfo"])
        if action == "StartTransaction" and local_tx is not None:
            self.store.set_csms_id(local_tx, int(response["transactionId"]))
            self._check_start_authorization(local_tx, response)

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
