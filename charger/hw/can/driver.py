"""CanPowerStage: the agent's view of contactors, power modules and SECC over CAN.

Works on any python-can bus: ``socketcan``/``can0`` on the Pi, ``remote`` (the twin's
python-can-remote server) in simulation. A receive thread keeps the latest status
per connector; the last command of each kind is repeated every ``cycle_s`` so the
power stage can treat silence as a dead controller. Frames we cannot use are counted
in :attr:`CanPowerStage.stats` and logged (once per ID at warning level), never raised.
A bus this class opened itself is reopened if it fails (a restarted bench's
python-can-remote server, a USB CAN adapter replugged); meanwhile ``age_s`` grows.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable

import can

from charger.hw.can import frames
from charger.hw.can.frames import (
    ContactorCommand,
    ContactorStatus,
    FrameError,
    ModuleSetpoint,
    ModuleStatus,
    UnknownFrameId,
)
from charger.hw.config import CanConfig
from charger.hw.health import HealthBoard
from charger.hw.interfaces import EvseCommand, EvStatus, HardwareError, PowerStatus

log = logging.getLogger(__name__)

_RX_TIMEOUT_S = 0.02
_REOPEN_DELAY_S = 1.0
SILENCE_S = 2.0  # no status frame for this long: the power stage is reported silent
PART = "power stage"


def check_socketcan(channel: str, bitrate: int) -> None:
    """Refuse a SocketCAN interface that is missing, down, bus-off or at another bitrate.

    python-can ignores ``bitrate`` on SocketCAN (the kernel interface has one), so a
    mismatch would only show as silence; ``ip -details -json link show`` tells it.
    """
    try:
        out = subprocess.run(
            ["ip", "-details", "-json", "link", "show", channel],
            capture_output=True,
            text=True,
            timeout=2,
        )
    except (OSError, subprocess.TimeoutExpired):
        return  # no iproute2: let python-can say what it finds
    if out.returncode != 0:
        raise OSError(errno.ENODEV, f"no CAN interface {channel}")
    try:
        link = json.loads(out.stdout)[0]
    except (ValueError, IndexError):
        return
    info = link.get("linkinfo", {}).get("info_data", {})
    if "UP" not in link.get("flags", []):
        raise OSError(errno.ENETDOWN, f"{channel} is down")
    actual = info.get("bittiming", {}).get("bitrate")
    if actual and int(actual) != bitrate:
        raise HardwareError(f"{channel} runs at bitrate {actual}, the rig file says {bitrate}")
    if info.get("state") == "BUS_OFF":
        raise HardwareError(f"{channel} is bus-off (wrong oscillator or bitrate, no termination)")


COMMAND_FRESH_S = 0.3


class CanPowerStage:
    """:class:`charger.hw.interfaces.PowerStage` over python-can.

    ``bus`` may be given (tests, a shared bus); otherwise :meth:`start` opens one from
    ``config``.
    """

    def __init__(
        self,
        config: CanConfig | None = None,
        connectors: Iterable[int] = (1, 2),
        *,
        bus: can.BusABC | None = None,
        cycle_s: float = 0.1,
        health: HealthBoard | None = None,
    ) -> None:
        if config is None and bus is None:
            raise ValueError("CanPowerStage needs a CanConfig or a bus")
        self.config = config
        self.connectors = tuple(connectors)
        self.cycle_s = cycle_s
        self._bus = bus
        self._owns_bus = bus is None
        self._lock = threading.Lock()
        self._contactors: dict[int, ContactorStatus] = {}
        self._modules: dict[int, ModuleStatus] = {}
        self._ev: dict[int, EvStatus] = {}
        self._last_rx: dict[int, float] = {}
        self._tx: dict[int, frames.Payload] = {}  # frame id -> last command, resent cyclically
        self._tx_at: dict[int, float] = {}  # when the control loop last set each command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned: set[int] = set()
        self.stats: Counter[str] = Counter()
        self.health = health or HealthBoard()
        self.where = f"{config.interface}:{config.channel}" if config else "bus"
        self._opened_at = 0.0

    # -- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Open the bus and start the receive thread; a bus that cannot be opened is
        reported to the health board and retried every second, never raised."""
        if self._thread is not None:
            return
        if self._bus is None:
            try:
                self._bus = self._open()
            except HardwareError as exc:
                log.debug("CAN: %s", exc)  # the health board has said it
        self._thread = threading.Thread(target=self._run, name="can power stage", daemon=True)
        self._thread.start()

    def _open(self) -> can.BusABC:
        assert self.config is not None
        cfg = self.config
        try:
            if cfg.interface == "socketcan":
                check_socketcan(cfg.channel, cfg.bitrate)
            bus = can.Bus(interface=cfg.interface, channel=cfg.channel, bitrate=cfg.bitrate)
        except Exception as exc:  # python-can raises a zoo of types per interface
            self.health.failed(
                PART, self.where, "can", exc, error_code="InternalError", connectors=self.connectors
            )
            raise HardwareError(f"CAN {self.where}: {exc}") from exc
        self._opened_at = time.monotonic()
        return bus

    @property
    def bus_open(self) -> bool:
        """The bus is open (whether or not the power stage talks on it)."""
        return self._bus is not None

    async def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        bus, self._bus = self._bus, None
        if bus is not None:
            self._shutdown_quietly(bus)

    # -- commands ----------------------------------------------------------------------

    def _send(self, payload: frames.Payload, connector: int) -> None:
        fid, data = frames.encode(payload, connector)
        with self._lock:
            self._tx[fid] = payload
            self._tx_at[fid] = time.monotonic()
        self._transmit(fid, data)

    def _transmit(self, fid: int, data: bytes) -> None:
        bus = self._bus
        if bus is None:
            down = self.health.get(PART)
            if down is not None and not down.ok:  # known, reported: no error per command
                self.stats["tx_dropped"] += 1
                return
            raise HardwareError("CAN bus not open")
        try:
            bus.send(can.Message(arbitration_id=fid, data=data, is_extended_id=False))
            self.stats["tx"] += 1
        except Exception as exc:
            self.stats["tx_errors"] += 1
            raise HardwareError(f"CAN send {fid:#05x} failed: {exc}") from exc

    async def set_contactors(self, connector: int, closed: bool) -> None:
        self._send(ContactorCommand(closed, closed), connector)

    async def set_output(self, connector: int, voltage_v: float, current_a: float) -> None:
        """current_a == 0 disables the module."""
        self._send(ModuleSetpoint(voltage_v, max(current_a, 0.0), current_a > 0), connector)

    async def set_evse(self, connector: int, command: EvseCommand) -> None:
        self._send(command, connector)

    # -- status ------------------------------------------------------------------------

    def status(self, connector: int) -> PowerStatus:
        with self._lock:
            c = self._contactors.get(connector, ContactorStatus())
            m = self._modules.get(connector, ModuleStatus())
        return PowerStatus(
            contactors_closed=c.closed,
            contactor_fault=bool(c.faults & ~frames.FAULT_EMERGENCY_STOP),
            emergency_stop=bool(c.faults & frames.FAULT_EMERGENCY_STOP),
            output_voltage_v=m.voltage_v,
            output_current_a=m.current_a,
            module_enabled=m.enabled,
            module_fault=m.fault,
            isolation_fault=m.isolation_fault,
        )

    def ev(self, connector: int) -> EvStatus:
        with self._lock:
            return self._ev.get(connector, EvStatus())

    def age_s(self, connector: int) -> float:
        """Seconds since the last power stage status frame; inf if none yet."""
        last = self._last_rx.get(connector)
        return math.inf if last is None else time.monotonic() - last

    # -- receive thread ----------------------------------------------------------------

    def _run(self) -> None:
        next_tx = time.monotonic() + self.cycle_s
        failing = False
        while not self._stop.is_set():
            bus = self._bus
            if bus is None:
                if not self._owns_bus:
                    break
                self._reopen()
                continue
            try:
                msg = bus.recv(_RX_TIMEOUT_S)
                failing = False
            except Exception as exc:
                self.stats["rx_errors"] += 1
                level = logging.DEBUG if failing else logging.WARNING  # once per outage
                log.log(level, "CAN: receive failed: %s", exc)
                failing = True
                msg = None
                if self._owns_bus:
                    self.health.failed(
                        PART,
                        self.where,
                        "can",
                        exc,
                        error_code="InternalError",
                        connectors=self.connectors,
                    )
                    self._bus = None
                    self._shutdown_quietly(bus)
                else:
                    self._stop.wait(0.1)
            if msg is not None:
                self.handle(msg)
            now = time.monotonic()
            self._report_silence(now)
            if now >= next_tx:
                next_tx = now + self.cycle_s
                self._repeat_commands()

    def _report_silence(self, now: float) -> None:
        """An open bus on which the power stage says nothing is a fault too (its power,
        the CAN pair, a bitrate or oscillator that does not match)."""
        if self._bus is None or not self._owns_bus:
            return
        ages = [now - self._last_rx.get(c, self._opened_at) for c in self.connectors]
        if max(ages, default=0.0) > SILENCE_S:
            self.health.failed(
                PART,
                self.where,
                "can",
                HardwareError(f"no status frame on {self.where} for {SILENCE_S:.0f} s"),
                error_code="InternalError",
                connectors=self.connectors,
            )
        elif any(c in self._last_rx for c in self.connectors):
            self.health.ok(PART, self.where, self.connectors)

    def _reopen(self) -> None:
        if self._stop.wait(_REOPEN_DELAY_S):
            return
        try:
            self._bus = self._open()
            self.stats["reopened"] += 1
            log.info("CAN: bus open")
        except HardwareError as exc:
            log.debug("CAN: reopen failed: %s", exc)

    @staticmethod
    def _shutdown_quietly(bus: can.BusABC) -> None:
        try:
            bus.shutdown()
        except Exception:
            # python-can-remote's shutdown raises on a websocket the server already
            # closed, leaving the bus marked open; finish the base-class part so its
            # __del__ does not try again.
            log.debug("CAN: shutdown of a failed bus failed", exc_info=True)
            can.BusABC.shutdown(bus)

    def _repeat_commands(self) -> None:
        """Resend only what the control loop refreshed lately: a stalled loop must
        let the power stage's watchdog trip, not be kept alive by this thread."""
        fresh_after = time.monotonic() - COMMAND_FRESH_S
        with self._lock:
            pending = [(f, p) for f, p in self._tx.items() if self._tx_at[f] >= fresh_after]
        for fid, payload in pending:
            try:
                self._transmit(fid, frames.encode(payload, fid & 0xF)[1])
            except HardwareError as exc:
                log.debug("CAN: cyclic resend failed: %s", exc)

    def handle(self, msg: can.Message) -> None:
        """Apply one received frame (public so tests can feed frames directly)."""
        self.stats["rx"] += 1
        if msg.is_error_frame or msg.is_remote_frame or msg.is_extended_id:
            self._reject("ignored", msg, "error/remote/extended frame")
            return
        try:
            connector, payload = frames.decode(msg.arbitration_id, bytes(msg.data))
        except FrameError as exc:
            kind = "unknown_id" if isinstance(exc, UnknownFrameId) else "bad_frame"
            self._reject(kind, msg, str(exc))
            return
        now = time.monotonic()
        with self._lock:
            if isinstance(payload, ContactorStatus):
                self._contactors[connector] = payload
                self._last_rx[connector] = now
            elif isinstance(payload, ModuleStatus):
                self._modules[connector] = payload
                self._last_rx[connector] = now
            elif isinstance(payload, EvStatus):
                self._ev[connector] = payload
            else:  # another controller's command: not for us
                self.stats["foreign"] += 1

    def _reject(self, kind: str, msg: can.Message, reason: str) -> None:
        self.stats[kind] += 1
        level = logging.DEBUG if msg.arbitration_id in self._warned else logging.WARNING
        self._warned.add(msg.arbitration_id)
        log.log(
            level,
            "CAN: dropped frame %#05x [%s]: %s",
            msg.arbitration_id,
            bytes(msg.data).hex(),
            reason,
        )
