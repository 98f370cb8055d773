"""One Modbus bus (an RS-485 pair, a TCP gateway): one client and one lock for its meters.

Two meters on one RS-485 pair must not be polled by two clients: two processes or two
file descriptors on one serial port interleave their frames, and even one client must
not have two requests in flight on a half-duplex line. Every :class:`ModbusMeter` on a
line reads through its :class:`ModbusLine`, which serialises the requests with a lock
and reconnects after a transport failure on the next read.
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from charger.hw.config import MeterConfig
from charger.hw.interfaces import MeterError

log = logging.getLogger(__name__)

Client = AsyncModbusTcpClient | AsyncModbusSerialClient
EXCEPTION_NAMES = {
    1: "(illegal function)",
    2: "(illegal data address)",
    3: "(illegal data value)",
    4: "(device failure)",
    6: "(busy)",
    10: "(gateway path unavailable)",
    11: "(gateway target did not respond)",
}


class ModbusLine:
    """The client of one bus, shared by the meters on it; ``read`` holds the bus's lock."""

    def __init__(self, config: MeterConfig) -> None:
        self.config = config  # transport settings (the first meter's; all must agree)
        self.key = config.line()
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self.requests = 0

    def _new_client(self) -> Client:
        cfg = self.config
        # retries=0 and reconnect_delay=0: timeout_s is the whole budget of a read and
        # reconnecting is ours to decide (on the next read), not a background task's.
        if cfg.transport == "tcp":
            return AsyncModbusTcpClient(
                cfg.host, port=cfg.port or 502, timeout=cfg.timeout_s, retries=0, reconnect_delay=0
            )
        return AsyncModbusSerialClient(
            cfg.device or "",
            framer=FramerType.RTU,
            baudrate=cfg.baudrate,
            timeout=cfg.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    def lock(self) -> asyncio.Lock:
        """The bus's lock, made for the running loop (tests run several loops)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._drop()
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    async def _connected(self) -> Client:
        if self._client is not None and not self._client.connected:
            self._drop()
        if self._client is None:
            client = self._new_client()
            try:
                ok = await asyncio.wait_for(client.connect(), self.config.timeout_s * 2)
            except (TimeoutError, OSError, ModbusException) as exc:
                client.close()
                raise MeterError(f"cannot connect: {exc}") from exc
            if not ok:
                client.close()
                # pymodbus swallows the serial port's OSError; find it for the diagnosis.
                if self.config.transport == "rtu":
                    try:
                        open(self.config.device or "", "rb").close()  # noqa: SIM115
                    except OSError as exc:
                        raise MeterError(f"cannot open: {exc}") from exc
                raise MeterError("cannot connect")
            self._client = client
        return self._client

    async def read(self, function_code: int, start: int, count: int, unit: int) -> list[int]:
        """``count`` registers of device ``unit``; raises :class:`MeterError` on any failure."""
        async with self.lock():
            client = await self._connected()
            reader = (
                client.read_holding_registers if function_code == 3 else client.read_input_registers
            )
            self.requests += 1
            try:
                rr = await asyncio.wait_for(
                    reader(start, count=count, device_id=unit),
                    self.config.timeout_s * 2,  # belt and braces over pymodbus' own timeout
                )
            except (TimeoutError, ModbusException, OSError) as exc:
                self._drop()
                raise MeterError(f"no valid answer from unit {unit}: {exc}") from exc
        if rr.isError():
            code = getattr(rr, "exception_code", None)
            name = EXCEPTION_NAMES.get(code or 0, "")
            raise MeterError(f"unit {unit} answers Modbus exception code {code} {name}".rstrip())
        return list(getattr(rr, "registers", []) or [])

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken transport must not mask the real error
                log.debug("%s: close failed", self.key, exc_info=True)

    async def close(self) -> None:
        self._drop()
