"""Modbus meter driver (pymodbus async client): one block read per reading.

Every failure becomes :class:`MeterError` so the agent has one thing to catch; after a
transport failure the line's client is dropped and the next :meth:`ModbusMeter.read`
reconnects, which is what a meter that was power-cycled or a loose RS-485 pair needs.
The meter reports to the health board: ok, or what is wrong (two failed reads in a row).
"""

from __future__ import annotations

import logging
import math

from charger.hw.config import MeterConfig
from charger.hw.health import HealthBoard
from charger.hw.interfaces import MeterError, MeterReading
from charger.hw.meter.line import ModbusLine
from charger.hw.meter.registers import RegisterMap, decode, register_map, with_energy_unit

log = logging.getLogger(__name__)

# Plausibility limits for a DC charger meter; beyond them the data is garbage.
MAX_VOLTAGE_V = 1500.0
MAX_CURRENT_A = 1000.0
MAX_POWER_W = 1_500_000.0


class ModbusMeter:
    """:class:`charger.hw.interfaces.Meter` over Modbus TCP or RTU.

    Meters on one bus are given the same :class:`ModbusLine` (``open_hardware`` does
    that); a meter given none gets a line of its own.
    """

    def __init__(
        self,
        config: MeterConfig,
        regmap: RegisterMap | None = None,
        *,
        line: ModbusLine | None = None,
        health: HealthBoard | None = None,
        connector: int | None = None,
    ) -> None:
        self.config = config
        regmap = regmap or register_map(config.model)
        self.map = with_energy_unit(regmap, config.energy_wh_per_count)
        self.line = line or ModbusLine(config)
        self.health = health
        self.part = f"meter {connector}" if connector is not None else "meter"
        self.connectors = (connector,) if connector is not None else ()
        self._last: MeterReading | None = None
        self._failures = 0

    def _where(self) -> str:
        return f"{self.config.model} {self.line.key}#{self.config.unit}"

    async def read(self) -> MeterReading:
        """One reading; raises :class:`MeterError` on timeout, exception or nonsense."""
        try:
            reading = await self._read()
        except MeterError as exc:
            self._failures += 1
            # One lost answer on a noisy line is not news; two in a row, or no line, is.
            if self.health is not None and (self._failures >= 2 or "cannot" in str(exc)):
                self.health.failed(
                    self.part,
                    self._where(),
                    "modbus",
                    exc,
                    error_code="PowerMeterFailure",
                    connectors=self.connectors,
                )
            raise
        self._failures = 0
        if self.health is not None:
            self.health.ok(self.part, self._where(), self.connectors)
        return reading

    async def _read(self) -> MeterReading:
        m = self.map
        try:
            regs = await self.line.read(m.function_code, m.start, m.count, self.config.unit)
        except MeterError as exc:
            raise MeterError(f"meter {self._where()}: {exc}") from exc
        try:
            values = decode(m, regs)
        except ValueError as exc:
            raise MeterError(f"meter {self._where()}: {exc}") from exc
        reading = MeterReading(**values)
        self._check(reading)
        self._last = reading
        return reading

    def _check(self, r: MeterReading) -> None:
        problems = []
        for name in ("voltage_v", "current_a", "power_w", "energy_import_wh", "energy_export_wh"):
            if not math.isfinite(getattr(r, name)):
                problems.append(f"{name} not finite")
        if not -1.0 <= r.voltage_v <= MAX_VOLTAGE_V:
            problems.append(f"voltage {r.voltage_v} V")
        if abs(r.current_a) > MAX_CURRENT_A:
            problems.append(f"current {r.current_a} A")
        if abs(r.power_w) > MAX_POWER_W:
            problems.append(f"power {r.power_w} W")
        if r.energy_import_wh < 0 or r.energy_export_wh < 0:
            problems.append("negative energy")
        last = self._last
        if last is not None and (
            r.energy_import_wh < last.energy_import_wh or r.energy_export_wh < last.energy_export_wh
        ):
            problems.append(
                f"energy went backwards ({last.energy_import_wh} -> {r.energy_import_wh} Wh)"
            )
        if problems:
            raise MeterError(f"meter {self._where()}: implausible reading: {', '.join(problems)}")

    async def close(self) -> None:
        await self.line.close()
