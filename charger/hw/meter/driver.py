"""Modbus meter driver (pymodbus async client): one block read per reading.

Every failure becomes :class:`MeterError` so the agent has one thing to catch; after a
transport failure the client is dropped and the next :meth:`ModbusMeter.read`
reconnects, which is what a meter that was power-cycled or a loose RS-485 pair needs.
"""

from __future__ import annotations

import asyncio
import logging
import math

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from charger.hw.config import MeterConfig
from charger.hw.interfaces import MeterError, MeterReading
from charger.hw.meter.registers import RegisterMap, decode, register_map

log = logging.getLogger(__name__)

# Plausibility limits for a DC charger meter; beyond them the data is garbage.
MAX_VOLTAGE_V = 1500.0
MAX_CURRENT_A = 1000.0
MAX_POWER_W = 1_500_000.0


class ModbusMeter:
    """:class:`charger.hw.interfaces.Meter` over Modbus TCP or RTU."""

    def __init__(self, config: MeterConfig, regmap: RegisterMap | None = None) -> None:
        self.config = config
        self.map = regmap or register_map(config.model)
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last: MeterReading | None = None

    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        cfg = self.config
        # retries=0 and reconnect_delay=0: timeout_s is the whole budget of a read and
        # reconnecting is ours to decide (on the next read), not a background task's.
        if cfg.transport == "tcp":
            return AsyncModbusTcpClient(
                cfg.host,
                port=cfg.port or 502,
                timeout=cfg.timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        return AsyncModbusSerialClient(
            cfg.device or "",
            framer=FramerType.RTU,
            baudrate=cfg.baudrate,
            timeout=cfg.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    async def _connected(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        loop = asyncio.get_running_loop()
        if self._client is not None and (self._loop is not loop or not self._client.connected):
            self._drop()
        if self._client is None:
            client = self._new_client()
            try:
                ok = await asyncio.wait_for(client.connect(), self.config.timeout_s * 2)
            except (TimeoutError, OSError, ModbusException) as exc:
                client.close()
                raise MeterError(f"meter {self._where()}: cannot connect: {exc}") from exc
            if not ok:
                client.close()
                raise MeterError(f"meter {self._where()}: cannot connect")
            self._client, self._loop = client, loop
        return self._client

    def _where(self) -> str:
        cfg = self.config
        if cfg.transport == "tcp":
            return f"{cfg.host}:{cfg.port or 502}#{cfg.unit}"
        return f"{cfg.device}#{cfg.unit}"

    def _drop(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken transport must not mask the real error
                log.debug("meter %s: close failed", self._where(), exc_info=True)

    async def read(self) -> MeterReading:
        """One reading; raises :class:`MeterError` on timeout, exception or nonsense."""
        client = await self._connected()
        m = self.map
        reader = (
            client.read_holding_registers if m.function_code == 3 else client.read_input_registers
        )
        try:
            rr = await asyncio.wait_for(
                reader(m.start, count=m.count, device_id=self.config.unit),
                self.config.timeout_s * 2,  # belt and braces over pymodbus' own timeout
            )
        except (TimeoutError, ModbusException, OSError) as exc:
            self._drop()
            raise MeterError(f"meter {self._where()}: no valid answer: {exc}") from exc
        if rr.isError():
            code = getattr(rr, "exception_code", None)
            raise MeterError(f"meter {self._where()}: Modbus exception code {code}")
        regs = list(getattr(rr, "registers", []) or [])
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
        self._drop()
