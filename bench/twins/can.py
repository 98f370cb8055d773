"""CAN twin: a shared simulated bus and the power stage + SECC that sit on it.

python-can's ``virtual`` interface only works inside one process, and this machine has
no ``vcan``. :class:`CanBusServer` runs a python-can-remote server in the bench process
that bridges WebSocket clients onto a virtual channel (unique per server, so two rigs in
one process never mix). The agent process opens
``can.Bus(interface="remote", channel=server.url)``; the bench's
:class:`PowerStageTwin` sits directly on the same virtual channel.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import can
from can_remote import RemoteServer

from charger.hw.can import frames
from charger.hw.can.frames import (
    FAULT_DC_MINUS_WELDED,
    FAULT_DC_PLUS_WELDED,
    ContactorCommand,
    ContactorStatus,
    FrameError,
    ModuleSetpoint,
    ModuleStatus,
)
from charger.hw.interfaces import EvseCommand, EvStatus

log = logging.getLogger(__name__)


class _QuietRemoteServer(RemoteServer):
    """A client that vanishes (a killed agent: power loss) is normal on a bench."""

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("CAN server: client %s went away", client_address, exc_info=True)


def _not_a_leak_warning(record: logging.LogRecord) -> bool:
    # python-can-remote drops a client's VirtualBus without shutdown when the client
    # dies; python-can then warns from __del__. The bus is gone either way.
    return "not properly shut down" not in record.getMessage()


class _QuietDeadClients:
    """While a CAN server runs: python-can-remote's per-client send thread dying with a
    broken pipe (the agent was killed: a power loss) is not reported as a bench failure.
    Installed around the servers' lifetime only, over whatever hook was there."""

    def __init__(self) -> None:
        self.servers = 0
        self.previous = threading.excepthook
        self.lock = threading.Lock()

    def hook(self, args: threading.ExceptHookArgs) -> None:
        frame = args.exc_traceback
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        in_can_remote = frame is not None and "can_remote" in frame.tb_frame.f_code.co_filename
        if in_can_remote and issubclass(args.exc_type, (ConnectionError, OSError)):
            log.debug("CAN server: a client's connection broke: %s", args.exc_value)
            return
        self.previous(args)

    def acquire(self) -> None:
        with self.lock:
            if self.servers == 0:
                self.previous, threading.excepthook = threading.excepthook, self.hook
            self.servers += 1

    def release(self) -> None:
        with self.lock:
            self.servers -= 1
            if self.servers == 0 and threading.excepthook == self.hook:
                threading.excepthook = self.previous


_quiet = _QuietDeadClients()
logging.getLogger("can").addFilter(_not_a_leak_warning)
logging.getLogger("can.bus").addFilter(_not_a_leak_warning)


class CanBusServer:
    """python-can-remote server on 127.0.0.1 bridging clients onto a private virtual channel."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, channel: str | None = None) -> None:
        self.channel = channel or f"bench-can-{uuid.uuid4().hex[:12]}"
        # Server-side config overrides what clients ask for: every client lands on our channel.
        self._server = _QuietRemoteServer(
            host=host, port=port, interface="virtual", channel=self.channel
        )
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        """The ``channel`` for ``can.Bus(interface="remote", ...)`` in another process."""
        return f"ws://{self.host}:{self.port}/"

    def start(self) -> CanBusServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            _quiet.acquire()
            self._thread.start()
        return self

    def open_bus(self) -> can.BusABC:
        """A participant on the shared channel inside this process."""
        return can.Bus(interface="virtual", channel=self.channel)

    def close(self) -> None:
        running = self._thread is not None
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(2.0)
            self._thread = None
        for client in list(self._server.clients):  # let connected agents see the bus go away
            try:
                client.running = False
                client.close()
            except Exception:
                log.debug("CAN server: closing a client failed", exc_info=True)
        self._server.server_close()
        if running:
            _quiet.release()


@dataclass
class _Connector:
    command: ContactorCommand = field(default_factory=ContactorCommand)
    feedback: ContactorCommand = field(default_factory=ContactorCommand)
    feedback_due: float = 0.0
    welded: bool = False
    setpoint: ModuleSetpoint = field(default_factory=ModuleSetpoint)
    module_fault: bool = False
    isolation_fault: bool = False
    measured_v: float = 0.0
    measured_a: float = 0.0
    temperature_c: int = 25
    evse: EvseCommand = field(default_factory=EvseCommand)
    ev: EvStatus = field(default_factory=EvStatus)


class PowerStageTwin:
    """Contactors, power modules and SECC of each connector, speaking our CAN layout.

    Commands from the agent are applied (contactor feedback follows the command after
    ``contactor_delay_s``); the physics reads them back and feeds measured output and EV
    status in. Status frames go out every ``cycle_s`` and on change. With
    ``command_timeout_s`` set, silence from the controller opens the contactors and
    disables the modules, as a real power stage's watchdog would. ``on_command`` (if set)
    is called from the twin's thread with ``(connector, payload)`` for each command.
    The twin owns ``bus`` and shuts it down on :meth:`close`.
    """

    def __init__(
        self,
        bus: can.BusABC,
        connectors: Iterable[int] = (1, 2),
        *,
        cycle_s: float = 0.1,
        contactor_delay_s: float = 0.01,
        command_timeout_s: float | None = None,
    ) -> None:
        self.bus = bus
        self.cycle_s = cycle_s
        self.contactor_delay_s = contactor_delay_s
        self.command_timeout_s = command_timeout_s
        self.on_command: Callable[[int, frames.Payload], None] | None = None
        self._c = {n: _Connector() for n in connectors}
        self.emergency_stop = False
        self._lock = threading.Lock()
        self._dirty: set[tuple[int, int]] = set()  # (base id, connector) to publish now
        self._last_command = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: Counter[str] = Counter()

    def start(self) -> PowerStageTwin:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="power stage twin", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self.bus.shutdown()

    # -- physics inputs ----------------------------------------------------------------

    def set_output_measured(self, connector: int, voltage_v: float, current_a: float) -> None:
        with self._lock:
            c = self._c[connector]
            if (c.measured_v, c.measured_a) != (voltage_v, current_a):
                c.measured_v, c.measured_a = voltage_v, current_a
                self._dirty.add((frames.MODULE_STATUS, connector))

    def set_ev_status(self, connector: int, status: EvStatus) -> None:
        with self._lock:
            if self._c[connector].ev != status:
                self._c[connector].ev = status
                self._dirty.add((frames.SECC_STATUS, connector))

    def set_module_temperature(self, connector: int, temperature_c: int) -> None:
        with self._lock:
            self._c[connector].temperature_c = temperature_c
            self._dirty.add((frames.MODULE_STATUS, connector))

    # -- physics outputs ------------------------------------------------------------------

    def evse_command(self, connector: int) -> EvseCommand:
        with self._lock:
            return self._c[connector].evse

    def contactor_command(self, connector: int) -> ContactorCommand:
        with self._lock:
            return self._c[connector].command

    def contactors_closed(self, connector: int) -> bool:
        """Auxiliary feedback (what the agent sees), not the command."""
        with self._lock:
            return self._feedback(self._c[connector]).closed

    def command_age_s(self) -> float:
        """Seconds since the controller last sent any command frame."""
        with self._lock:
            return time.monotonic() - self._last_command

    def module_setpoint(self, connector: int) -> ModuleSetpoint:
        with self._lock:
            return self._c[connector].setpoint

    # -- fault injection -------------------------------------------------------------------

    def press_emergency_stop(self, pressed: bool = True) -> None:
        """The e-stop opens the safety loop: every contactor drops, whatever the command."""
        with self._lock:
            self.emergency_stop = pressed
            for n in self._c:
                self._dirty.add((frames.CONTACTOR_STATUS, n))

    def weld_contactor(self, connector: int, welded: bool = True) -> None:
        """Welded: both contacts report closed whatever the command."""
        with self._lock:
            self._c[connector].welded = welded
            self._dirty.add((frames.CONTACTOR_STATUS, connector))

    def set_isolation_fault(self, connector: int, fault: bool = True) -> None:
        """The insulation monitor's verdict on this output (below 100 kOhm: a fault)."""
        with self._lock:
            if self._c[connector].isolation_fault != fault:
                self._c[connector].isolation_fault = fault
                self._dirty.add((frames.MODULE_STATUS, connector))

    def set_module_fault(self, connector: int, fault: bool = True) -> None:
        with self._lock:
            self._c[connector].module_fault = fault
            self._dirty.add((frames.MODULE_STATUS, connector))

    def send_raw(self, arbitration_id: int, data: bytes) -> None:
        """Put any frame on the bus (unknown IDs, wrong DLC, garbage)."""
        self.bus.send(
            can.Message(arbitration_id=arbitration_id, data=bytes(data), is_extended_id=False)
        )

    # -- internals --------------------------------------------------------------------------

    def _feedback(self, c: _Connector) -> ContactorCommand:
        if c.welded:
            return ContactorCommand(True, True)
        if self.emergency_stop:
            return ContactorCommand(False, False)
        return c.feedback

    def _contactor_status(self, c: _Connector) -> ContactorStatus:
        fb = self._feedback(c)
        faults = 0
        if fb.dc_plus and not c.command.dc_plus:
            faults |= FAULT_DC_PLUS_WELDED if c.welded else 0
        if fb.dc_minus and not c.command.dc_minus:
            faults |= FAULT_DC_MINUS_WELDED if c.welded else 0
        if self.emergency_stop:
            faults |= frames.FAULT_EMERGENCY_STOP
        return ContactorStatus(fb.dc_plus, fb.dc_minus, faults)

    def _module_status(self, c: _Connector) -> ModuleStatus:
        return ModuleStatus(
            voltage_v=max(0.0, min(c.measured_v, 6553.5)),
            current_a=max(0.0, min(c.measured_a, 6553.5)),
            enabled=c.setpoint.enable and not c.module_fault,
            fault=c.module_fault,
            temperature_c=max(-40, min(c.temperature_c, 215)),
            isolation_fault=c.isolation_fault,
        )

    def _handle(self, msg: can.Message) -> None:
        try:
            connector, payload = frames.decode(msg.arbitration_id, bytes(msg.data))
        except FrameError as exc:
            self.stats["rejected"] += 1
            log.debug("power stage twin: dropped %#05x: %s", msg.arbitration_id, exc)
            return
        if connector not in self._c:
            self.stats["other_connector"] += 1
            return
        now = time.monotonic()
        with self._lock:
            c = self._c[connector]
            if isinstance(payload, ContactorCommand):
                if payload != c.command:
                    c.command = payload
                    c.feedback_due = now + self.contactor_delay_s
            elif isinstance(payload, ModuleSetpoint):
                if payload != c.setpoint:
                    c.setpoint = payload
                    self._dirty.add((frames.MODULE_STATUS, connector))
            elif isinstance(payload, EvseCommand):
                c.evse = payload
            else:  # a status frame: ours echoed by another participant, or a second stage
                self.stats["status_seen"] += 1
                return
            self._last_command = now
            self.stats["commands"] += 1
        if self.on_command is not None:
            try:
                self.on_command(connector, payload)
            except Exception:
                log.exception("power stage twin: on_command failed")

    def _tick(self, now: float, cyclic: bool) -> list[tuple[frames.Payload, int]]:
        out: list[tuple[frames.Payload, int]] = []
        with self._lock:
            if (
                self.command_timeout_s is not None
                and now - self._last_command > self.command_timeout_s
            ):
                for n, c in self._c.items():
                    if c.command.dc_plus or c.command.dc_minus or c.setpoint.enable:
                        log.warning("power stage twin: controller silent, opening connector %d", n)
                        self.stats["command_timeout"] += 1
                        c.command = ContactorCommand()
                        c.feedback_due = now + self.contactor_delay_s
                        c.setpoint = ModuleSetpoint()
            for n, c in self._c.items():
                if c.feedback != c.command and now >= c.feedback_due:
                    c.feedback = c.command
                    self._dirty.add((frames.CONTACTOR_STATUS, n))
                due = {
                    key
                    for key in (
                        (frames.CONTACTOR_STATUS, n),
                        (frames.MODULE_STATUS, n),
                        (frames.SECC_STATUS, n),
                    )
                    if cyclic or key in self._dirty
                }
                for base, _ in sorted(due):
                    if base == frames.CONTACTOR_STATUS:
                        out.append((self._contactor_status(c), n))
                    elif base == frames.MODULE_STATUS:
                        out.append((self._module_status(c), n))
                    else:
                        out.append((c.ev, n))
            self._dirty.clear()
        return out

    def _run(self) -> None:
        next_cycle = time.monotonic()
        while not self._stop.is_set():
            try:
                msg = self.bus.recv(0.005)
            except Exception as exc:
                log.warning("power stage twin: receive failed: %s", exc)
                msg = None
            if msg is not None:
                self._handle(msg)
            now = time.monotonic()
            cyclic = now >= next_cycle
            if cyclic:
                next_cycle = now + self.cycle_s
            for payload, n in self._tick(now, cyclic):
                try:
                    fid, data = frames.encode(payload, n)
                    self.bus.send(can.Message(arbitration_id=fid, data=data, is_extended_id=False))
                    self.stats["sent"] += 1
                except Exception as exc:
                    log.warning("power stage twin: cannot send %s: %s", type(payload).__name__, exc)
