"""Meter twin: a pymodbus TCP server whose registers show integrated energy.

The bench's physics calls :meth:`MeterTwin.update` with the DC voltage and current it
computes; the twin integrates energy at full float precision and serves the
quantised register values the real meter would. Meter energy is non-volatile, so
the twin persists it to a JSON file (atomically, at most about once a second and on
close) and reloads it on construction: a simulated charger power cut keeps the count.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from bench.twins.rs485 import Rs485Line
from charger.hw.meter.registers import ACREL_DJSF1352_RN, RegisterMap, encode

log = logging.getLogger(__name__)

Fault = Literal["timeout", "exception"] | None
SAVE_INTERVAL_S = 1.0


class MeterTwin:
    """A Modbus TCP meter on 127.0.0.1; start with ``await twin.start()``."""

    def __init__(
        self,
        state_path: str | os.PathLike[str],
        regmap: RegisterMap = ACREL_DJSF1352_RN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unit: int = 1,
    ) -> None:
        self.map = regmap
        self.state_path = Path(state_path)
        self.host = host
        self._want_port = port
        self.unit = unit
        self._lock = threading.Lock()
        self._voltage_v = 0.0
        self._current_a = 0.0
        self._import_wh = 0.0
        self._export_wh = 0.0
        self._fault: Fault = None
        self._dirty = False
        self._last_save = 0.0
        self._server: ModbusTcpServer | None = None
        self.requests = 0
        self._load()

    # -- physics side -----------------------------------------------------------

    def update(self, voltage_v: float, current_a: float, dt_s: float) -> None:
        """Set the present V and I and integrate ``dt_s`` seconds of energy at them.

        Positive current is import (EV charging); negative current counts as export.
        """
        with self._lock:
            self._voltage_v = voltage_v
            self._current_a = current_a
            if dt_s > 0:
                wh = voltage_v * current_a * dt_s / 3600.0
                if wh >= 0:
                    self._import_wh += wh
                else:
                    self._export_wh -= wh
                self._dirty = True
        if self._dirty and time.monotonic() - self._last_save >= SAVE_INTERVAL_S:
            self.save()

    @property
    def energy_import_wh(self) -> float:
        return self._import_wh

    @property
    def energy_export_wh(self) -> float:
        return self._export_wh

    def set_fault(self, kind: Fault) -> None:
        """None: healthy; "timeout": stop answering; "exception": Modbus exception 0x04."""
        if kind not in (None, "timeout", "exception"):
            raise ValueError(f"unknown meter fault {kind!r}")
        log.info("meter twin %s: fault %s", self.port if self._server else "-", kind)
        self._fault = kind

    def registers(self) -> list[int]:
        """The register block as the meter would serve it now."""
        with self._lock:
            power = self._voltage_v * self._current_a
            values: dict[str, object] = {
                "voltage_v": self._voltage_v,
                "current_a": self._current_a,
                "power_w": power,
                "energy_import_wh": self._import_wh,
                "energy_export_wh": self._export_wh,
            }
        n = len(self.map.phases)
        if n:
            # A three-phase meter: the same power drawn evenly from every phase at the
            # twin's voltage (L1 is what ``voltage_v``/``current_a`` show).
            values["phase_voltage_v"] = (values["voltage_v"],) * n
            values["phase_current_a"] = (self._current_a / n,) * n
            values["phase_power_w"] = (power / n,) * n
            values["current_a"] = self._current_a / n
        return encode(self.map, values)

    # -- persistence --------------------------------------------------------------

    def _load(self) -> None:
        try:
            data = json.loads(self.state_path.read_text())
            self._import_wh = float(data["energy_import_wh"])
            self._export_wh = float(data.get("energy_export_wh", 0.0))
            log.info("meter twin: loaded %.3f Wh from %s", self._import_wh, self.state_path)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, OSError) as exc:
            bad = self.state_path.with_suffix(self.state_path.suffix + ".corrupt")
            log.error(
                "meter twin: %s unreadable (%s); starting at 0, kept as %s",
                self.state_path,
                exc,
                bad,
            )
            try:
                os.replace(self.state_path, bad)
            except OSError:
                pass

    def save(self) -> None:
        """Write the energy registers' backing store atomically (tmp file + rename)."""
        with self._lock:
            data = {
                "model": self.map.model,
                "energy_import_wh": self._import_wh,
                "energy_export_wh": self._export_wh,
            }
            self._dirty = False
        self._last_save = time.monotonic()
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".meter-", dir=self.state_path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # -- Modbus server --------------------------------------------------------------

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Called by pymodbus on each access: refresh the block or refuse the request."""
        self.requests += 1
        if self._fault == "exception":
            return ExcCodes.DEVICE_FAILURE
        if function_code != self.map.function_code:
            return ExcCodes.ILLEGAL_FUNCTION
        regs = self.registers()
        current_registers[: len(regs)] = regs
        return None

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self._fault == "timeout":
            return b""  # the request was heard, the answer never leaves
        return data

    def device(self) -> SimDevice:
        """This meter as a Modbus device (unit ``self.unit``) for a server."""
        return SimDevice(
            id=self.unit,
            simdata=[
                SimData(
                    address=self.map.start,
                    count=self.map.count,
                    values=0,
                    datatype=DataType.REGISTERS,
                    readonly=True,
                )
            ],
            action=self._action,
        )

    async def start(self) -> None:
        self._server = ModbusTcpServer(
            self.device(), address=(self.host, self._want_port), trace_packet=self._trace_packet
        )
        await _listen(self._server, self.host, self._want_port)
        log.info("meter twin %s listening on %s:%d", self.map.model, self.host, self.port)

    @property
    def port(self) -> int:
        """The bound TCP port (useful with ``port=0``)."""
        if self._server is None or self._server.transport is None:
            raise RuntimeError("meter twin not started")
        return self._server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()
        self.save()


class MeterLineTwin:
    """Several meters on one RS-485 line: behind one Modbus TCP gateway (``tcp``) or
    on a simulated pair of wires (``rtu``: an :class:`Rs485Line`, RTU framing).

    Each :class:`MeterTwin` answers as its own unit id; ``connections`` counts the TCP
    connections made, ``max_in_flight`` the most requests ever outstanding at once
    (a half-duplex line allows one).
    """

    def __init__(
        self,
        meters: list[MeterTwin],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        transport: Literal["tcp", "rtu"] = "tcp",
        baudrate: int = 9600,
    ) -> None:
        units = [m.unit for m in meters]
        if len(set(units)) != len(units):
            raise ValueError(f"meters on one line need distinct unit ids, got {units}")
        self.meters = meters
        self.host = host
        self._want_port = port
        self.transport = transport
        self.baudrate = baudrate
        self.line: Rs485Line | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self.in_flight = max(0, self.in_flight - 1)
        else:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return data

    def _trace_connect(self, connected: bool) -> None:
        if connected:
            self.connections += 1

    async def start(self) -> None:
        devices = [m.device() for m in self.meters]
        if self.transport == "rtu":
            self.line = Rs485Line()
            self._server = ModbusSerialServer(
                devices,
                framer=FramerType.RTU,
                port=self.line.meters_path,
                baudrate=self.baudrate,
                trace_packet=self._trace_packet,
                trace_connect=self._trace_connect,
            )
        else:
            self._server = ModbusTcpServer(
                devices,
                address=(self.host, self._want_port),
                trace_packet=self._trace_packet,
                trace_connect=self._trace_connect,
            )
        await _listen(self._server, self.host, self._want_port)

    @property
    def device_path(self) -> str:
        """rtu: the serial device the agent opens."""
        if self.line is None:
            raise RuntimeError("not an rtu line twin, or not started")
        return self.line.device_path

    @property
    def port(self) -> int:
        if self._server is None or self._server.transport is None:
            raise RuntimeError("meter line twin not started")
        return self._server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()
        if self.line is not None:
            self.line.close()
        for meter in self.meters:
            meter.save()


async def _listen(server: ModbusTcpServer | ModbusSerialServer, host: str, port: int) -> None:
    """Start ``server``; a TCP port someone took meanwhile is EADDRINUSE naming the port
    (pymodbus says only "Could not start listen"), which the CLI reports in one line."""
    try:
        await server.serve_forever(background=True)
    except RuntimeError as exc:
        if isinstance(server, ModbusSerialServer):
            raise
        raise OSError(
            errno.EADDRINUSE, f"the meter twin cannot listen on {host}:{port} ({exc})"
        ) from exc
