"""The charger's I/O: samples the hardware, runs the logic, talks OCPP.

One asyncio loop. The hardware loop ticks every ``tick_s`` of simulated time;
meters are polled on their own cadence; every outgoing OCPP message goes through
one ordered pump so that the CSMS sees them in the order they happened.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from bench.agent import actions as act
from bench.agent.config_keys import KeyTable
from bench.agent.configuration import Configuration
from bench.agent.connector import ConnectorLogic, Inputs
from bench.agent.link import AgentLink
from bench.agent.settings import AgentSettings
from bench.agent.store import AgentStore
from bench.clock import Clock, iso
from bench.hw.interfaces import (
    Hardware,
    HardwareError,
    MeterReading,
    TagEvent,
)
from bench.protocol.errors import CallErrorReceived, NotConnected

log = logging.getLogger("bench.agent")

TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")
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


class Charger:
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

    # --- lifecycle -----------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.hw.power.start()
        await self._recover_after_power_loss()
        self.hw.rfid.start(self._tag_from_thread)
        for cid in self.connectors:
            self.tasks.append(asyncio.create_task(self._poll_meter(cid), name=f"meter{cid}"))
        self.tasks += [
            asyncio.create_task(self._hardware_loop(), name="hardware"),
            asyncio.create_task(self._connection_loop(), name="connection"),
            asyncio.create_task(self._pump(), name="pump"),
        ]
        try:
            await asyncio.gather(*self.tasks)
        finally:
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
        """Transactions open at power loss end now with reason PowerLoss (AQ-7.2)."""
        for tx in self.store.active_transactions():
            reading = await self._read_meter_patiently(tx.connector_id)
            meter_stop = round(reading.energy_import_wh) if reading else tx.meter_start
            self.store.end_transaction(tx.local_id, meter_stop, iso(self.clock.now()), "PowerLoss")
            log.info("transaction %s ended by power loss at %s Wh", tx.local_id, meter_stop)

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
            for cid, logic in self.connectors.items():
                hw = self.hw.connectors[cid]
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
                    power_age_s=self.hw.power.age_s(cid),
                    meter_ok=self.meter_failures[cid] < METER_FAILURES_BEFORE_FAULT,
                )
                for action in logic.tick(inputs, timeout):
                    try:
                        await self._execute(action)
                    except HardwareError as exc:
                        # The connector logic sees the consequence (stale status, fault).
                        log.warning("connector %s: %s failed: %s", cid, type(action).__name__, exc)
                self._maybe_sample(cid, now)
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
            case act.StartTransaction(connector=cid, id_tag=tag):
                meter_start = await self._fresh_energy(cid)
                local = self.store.begin_transaction(cid, tag, meter_start, iso(self.clock.now()))
                self.local_tx[cid] = local
                self.last_sample[cid] = self.clock.monotonic()
                self.fifo.put_nowait(_OutboxMarker())
                log.info("connector %s: transaction %s started for %s", cid, local, tag)
            case act.StopTransaction(connector=cid, reason=reason, id_tag=tag):
                local = self.local_tx.pop(cid, None)
                if local is None:
                    return
                meter_stop = await self._fresh_energy(cid)
                data = [
                    self._meter_value(cid, "Transaction.End", self.config.csl("StopTxnSampledData"))
                ]
                self.store.end_transaction(
                    local, meter_stop, iso(self.clock.now()), reason, tag, data
                )
                self.fifo.put_nowait(_OutboxMarker())
                log.info("connector %s: transaction %s stopped (%s)", cid, local, reason)

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
        now = self.clock.monotonic()
        for logic in self.connectors.values():
            if logic.tx_active and logic.tx_tag == event.uid:
                logic.request_stop("Local", now, event.uid)
                return
        self._spawn(self._authorize_and_route(event.uid))

    async def _authorize_and_route(self, id_tag: str) -> None:
        status = await self.authorize(id_tag)
        if status != "Accepted":
            log.info("idTag %s not accepted: %s", id_tag, status)
            return
        self.pending_tag = (id_tag, self.clock.monotonic())
        self._route_pending_tag(self.clock.monotonic(), self.config.int("ConnectionTimeOut"))

    def _route_pending_tag(self, now: float, timeout: float) -> None:
        """An accepted tag goes to a plugged free connector, else the first one plugged."""
        if self.pending_tag is None:
            return
        tag, since = self.pending_tag
        if now - since > timeout:
            self.pending_tag = None
            return
        free = [c for c in self.connectors.values() if c.is_free()]
        target = next((c for c in free if c.plugged), None)
        if target is None and len(free) == 1:
            target = free[0]  # the only possible connector shows Preparing at once
        if target is not None:
            target.authorize(tag, since)
            self.pending_tag = None

    async def authorize(self, id_tag: str) -> str:
        if not self.accepted.is_set():
            return "Invalid"  # offline authorization arrives with the Core issue
        try:
            response = await self.request(call.Authorize(id_tag=id_tag))
        except (CallErrorReceived, OCPPError, TimeoutError, ConnectionError) as exc:
            log.warning("Authorize failed: %s", exc)
            return "Invalid"
        return response["idTagInfo"]["status"]

    def remote_start(self, id_tag: str, connector_id: int | None) -> str:
        if connector_id is not None:
            logic = self.connectors.get(connector_id)
            if logic is None or not logic.is_free():
                return "Rejected"
        else:
            free = [c for c in self.connectors.values() if c.is_free()]
            logic = next((c for c in free if c.plugged), free[0] if free else None)
            if logic is None:
                return "Rejected"
        target = logic
        if self.config.bool("AuthorizeRemoteTxRequests"):

            async def authorize_first() -> None:
                if await self.authorize(id_tag) == "Accepted":
                    target.authorize(id_tag, self.clock.monotonic())

            self._spawn(authorize_first())
        else:
            target.authorize(id_tag, self.clock.monotonic())
        return "Accepted"

    def remote_stop(self, transaction_id: int) -> str:
        local = self.store.local_id_for_csms(transaction_id)
        for cid, tx in self.local_tx.items():
            if tx == local:
                self.connectors[cid].request_stop("Remote", self.clock.monotonic())
                return "Accepted"
        return "Rejected"

    # --- outgoing messages -----------------------------------------------------

    def _send_status(self, status: act.SendStatus) -> None:
        override = self.settings.quirks.get("status_override", {})
        if status.status in override:  # DUT double: reports a wrong status
            status = act.SendStatus(status.connector, override[status.status], status.error_code)
            self.status[status.connector] = status
        if not self.accepted.is_set():
            return  # the current status of every connector is sent after boot
        self.fifo.put_nowait(_Direct(self._status_call(status)))

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
            if item.action == "StopTransaction" and self.settings.quirks.get(
                "drop_stop_transaction"
            ):
                self.store.done(item.seq)  # DUT double: the StopTransaction is never sent
                continue
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
            if item.action == "StartTransaction":
                self.store.set_csms_id(item.local_tx, int(response["transactionId"]))
                self._check_start_authorization(item.local_tx, response)
            self.store.done(item.seq)

    def _check_start_authorization(self, local_tx: int, response: dict[str, Any]) -> None:
        """StopTransactionOnInvalidId: a start the CSMS does not accept ends now."""
        status = response.get("idTagInfo", {}).get("status", "Accepted")
        if status == "Accepted" or not self.config.bool("StopTransactionOnInvalidId"):
            return
        for cid, local in self.local_tx.items():
            if local == local_tx:
                log.info("connector %s: idTag %s at start; stopping", cid, status)
                self.connectors[cid].request_stop("DeAuthorized", self.clock.monotonic())

    # --- connection --------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.settings.csms_url.startswith("wss://"):
            return None
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
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
        link = AgentLink(
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
            self.fifo.put_nowait(_Direct(self._status_call(act.SendStatus(0, "Available"))))
            for status in self.status.values():
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
                    firmware_version=s.firmware_version,
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
