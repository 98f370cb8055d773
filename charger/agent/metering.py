"""Meter readings and MeterValues: polled, sampled, clock-aligned, kept for StopTransaction.

Transaction meter values go to the SQLite outbox (and, for StopTxn*Data, to the
transaction's own transactionData), so a power cut loses none of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ocpp.v16 import call

from charger.agent.configuration import Configuration
from charger.agent.connector import ConnectorLogic
from charger.agent.outbox import Outbox
from charger.agent.store import AgentStore
from charger.clock import Clock, iso
from charger.hw.interfaces import Hardware, HardwareError, MeterReading

log = logging.getLogger("charger.agent")

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
# A meter is real I/O: its silence is judged in wall time, whatever the clock's speed
# (at speed 4 two failed polls are half a second, less than a busy host can stall).
METER_SILENCE_WALL_S = 2.0


class Metering:
    def __init__(
        self,
        hw: Hardware,
        config: Configuration,
        clock: Clock,
        store: AgentStore,
        outbox: Outbox,
        connectors: Mapping[int, ConnectorLogic],
        local_tx: Mapping[int, int],
        meter_poll_s: float,
    ) -> None:
        self.hw = hw
        self.config = config
        self.clock = clock
        self.store = store
        self.outbox = outbox
        self.connectors = connectors
        self.local_tx = local_tx  # connector -> local transaction id (the runtime's)
        self.meter_poll_s = meter_poll_s
        self.readings: dict[int, MeterReading | None] = {cid: None for cid in connectors}
        self.failures: dict[int, int] = {cid: 0 for cid in connectors}
        self.answered_at: dict[int, float] = {cid: time.monotonic() for cid in connectors}
        self.last_sample: dict[int, float] = {}

    def meter_ok(self, cid: int) -> bool:
        silent = time.monotonic() - self.answered_at[cid] >= METER_SILENCE_WALL_S
        return self.failures[cid] < METER_FAILURES_BEFORE_FAULT or not silent

    def energy_now(self, cid: int) -> int:
        reading = self.readings[cid]
        return round(reading.energy_import_wh) if reading else 0

    async def poll(self, cid: int) -> None:
        meter = self.hw.connectors[cid].meter
        while True:
            try:
                self.readings[cid] = await meter.read()
                self.failures[cid] = 0
                self.answered_at[cid] = time.monotonic()
            except HardwareError as exc:
                self.failures[cid] += 1
                # the first failures of an outage are news; the rest of it is in the
                # health report (and on the bench's console)
                level = logging.WARNING if self.failures[cid] <= 3 else logging.DEBUG
                log.log(level, "meter %s read failed: %s", cid, exc)
            await self.clock.sleep(self.meter_poll_s)

    async def read_patiently(self, cid: int) -> MeterReading | None:
        """A reading at boot, when the meter may still be waking up."""
        for _ in range(5):
            try:
                return await self.hw.connectors[cid].meter.read()
            except HardwareError as exc:
                log.warning("meter %s: %s", cid, exc)
                await self.clock.sleep(0.5)
        return None

    async def fresh_energy(self, cid: int) -> int:
        """meterStart/meterStop come from a read now, not from the last poll."""
        try:
            self.readings[cid] = await self.hw.connectors[cid].meter.read()
        except HardwareError as exc:
            log.warning("meter %s: %s; using the last reading", cid, exc)
        return self.energy_now(cid)

    def transaction_started(self, cid: int, local: int) -> None:
        self.last_sample[cid] = self.clock.monotonic()
        begin = self.config.csl("StopTxnSampledData")
        if begin:
            self.store.add_tx_data(local, self.value(cid, "Transaction.Begin", begin))

    def end_value(self, cid: int) -> dict[str, Any]:
        return self.value(cid, "Transaction.End", self.config.csl("StopTxnSampledData"))

    def maybe_sample(self, cid: int, now: float) -> None:
        """Sample.Periodic every MeterValueSampleInterval during a transaction."""
        local = self.local_tx.get(cid)
        interval = self.config.int("MeterValueSampleInterval")
        if local is None or interval <= 0:
            return
        if now - self.last_sample.get(cid, now) < interval:
            return
        self.last_sample[cid] = now
        value = self.value(cid, "Sample.Periodic", self.config.csl("MeterValuesSampledData"))
        self.outbox.send_durable(
            "MeterValues", {"connector_id": cid, "meter_value": [value]}, local_tx=local
        )
        stop_sampled = self.config.csl("StopTxnSampledData")
        if stop_sampled:
            self.store.add_tx_data(local, self.value(cid, "Sample.Periodic", stop_sampled))

    async def clock_aligned(self) -> None:
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
                value = self.value(cid, "Sample.Clock", measurands)
                if not value["sampled_value"]:
                    continue
                local = self.local_tx.get(cid)
                if local is not None:
                    self.outbox.send_durable(
                        "MeterValues", {"connector_id": cid, "meter_value": [value]}, local_tx=local
                    )
                    if stop_aligned:
                        self.store.add_tx_data(local, self.value(cid, "Sample.Clock", stop_aligned))
                elif self.outbox.accepted.is_set():
                    self.outbox.send(call.MeterValues(connector_id=cid, meter_value=[value]))

    def value(self, cid: int, context: str, measurands: list[str]) -> dict[str, Any]:
        """One MeterValue of ``measurands`` (those this charger can measure now)."""
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
