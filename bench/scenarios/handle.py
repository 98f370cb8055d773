"""The one handle a scenario drives the bench through.

A scenario says what should happen ("expect a StatusNotification Charging on
connector 1 within 30 s"); the handle says, on failure, what did happen instead.
``BaseHandle`` is role-neutral (steps, expectations over a message trace);
``Handle`` tests a charge point: the bench plays Central System, EV and driver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from charger.protocol.errors import CallErrorReceived, NotConnected

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem
    from bench.system import BenchSystem


#: Wall seconds a process start may take whatever the clock's speed: starting Python and
#: the agent is real work, not simulated (30 simulated s are 7.5 s of wall time at speed
#: 4, less than a loaded Raspberry Pi needs to import the agent).
PROCESS_START_WALL_S = 60.0
#: Requests a device sends only once a process has started.
AFTER_PROCESS_START = frozenset({"BootNotification"})


class ScenarioFailed(AssertionError):
    """The device under test did not do what the case requires."""

    #: The failure is about time (a wait that ran out, a measured interval): a host that
    #: could not keep up can cause it, so the runner may judge it again on a slower clock.
    timing = False


class ScenarioTimedOut(ScenarioFailed):
    """What the case waited for did not happen within its budget."""

    timing = True


def _window(since: int | None) -> int:
    """Every expectation says where in the trace it looks: from the start (0), from a
    ``mark()`` taken before the stimulus, or after a frame (``index_of(f) + 1``)."""
    if since is None:
        raise TypeError("expectations need an explicit window: pass since=")
    return since


def matches(payload: dict[str, Any], subset: dict[str, Any] | None) -> bool:
    """Every key of ``subset`` is in ``payload`` with that value (callables test it)."""
    if not subset:
        return True
    for key, want in subset.items():
        have = payload.get(key)
        if isinstance(want, dict):
            if not isinstance(have, dict) or not matches(have, want):
                return False
        elif callable(want):
            if not want(have):
                return False
        elif have != want:
            return False
    return True


class BaseHandle:
    """Steps, checks and expectations; subclasses say where the trace comes from."""

    def __init__(self, clock: Any, pics: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.pics = pics or {}
        self.steps: list[tuple[float, str]] = []
        self.step_marks: list[int] = []  # per step: how many frames the trace held then
        self.details: dict[str, Any] = {}
        self.started = time.monotonic()
        self.params: dict[str, str] = {}  # the run's --param key=value

    # --- to be provided by the role ---------------------------------------------

    def _trace(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def _trace_changed(self, timeout: float) -> None:
        """Return when a frame is added to the trace, or after ``timeout`` wall seconds."""
        raise NotImplementedError

    async def _wait_from_dut(
        self,
        action: str,
        predicate: Callable[[dict], bool],
        within: float,
        since: int,
        min_wall: float = 0.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + max(self.clock.wall(within), min_wall)
        while True:
            for frame in self.from_dut(since, action):
                if predicate(frame["payload"]):
                    return frame["payload"]
            if time.monotonic() >= deadline:
                raise TimeoutError
            await self._trace_changed(deadline - time.monotonic())

    # --- shared ------------------------------------------------------------------

    def step(self, text: str) -> None:
        self.steps.append((round(time.monotonic() - self.started, 3), text))
        self.step_marks.append(len(self._trace()))  # where the step sits among the frames

    def mark(self) -> int:
        """A point in the message trace; expectations can look only after it."""
        return len(self._trace())

    def from_dut(self, since: int = 0, action: str | None = None) -> list[dict[str, Any]]:
        """Requests the device under test sent, oldest first."""
        return [
            f
            for f in self._trace()[since:]
            if f["sender"] == "dut"
            and f["message_type"] == 2
            and (action is None or f["action"] == action)
        ]

    async def expect(
        self,
        action: str,
        subset: dict[str, Any] | None = None,
        within: float = 10.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The first request ``action`` from the device matching ``subset`` at or after trace
        position ``since`` (required: ``t.mark()`` before the stimulus, or an index)."""
        since = _window(since)
        self.step(f"expect {action} {subset or ''} within {within:g} s")
        floor = PROCESS_START_WALL_S if action in AFTER_PROCESS_START else 0.0
        try:
            return await self._wait_from_dut(
                action, lambda payload: matches(payload, subset), within, since, floor
            )
        except TimeoutError:
            seen = [f"{f['action']} {f['payload']}" for f in self.from_dut(since, action)]
            raise ScenarioTimedOut(
                f"no {action} matching {subset or '{}'} within {within:g} s; "
                f"saw: {seen[-5:] or 'none'}"
            ) from None

    async def expect_none(
        self,
        action: str,
        subset: dict[str, Any] | None = None,
        during: float = 5.0,
        since: int | None = None,
    ) -> None:
        """No request ``action`` matching ``subset`` at or after ``since`` (required) by the
        end of ``during`` seconds from now."""
        start = _window(since)
        self.step(f"expect no {action} {subset or ''} during {during:g} s")
        await self.sleep(during)
        found = [f for f in self.from_dut(start, action) if matches(f["payload"], subset)]
        if found:
            raise ScenarioFailed(f"unexpected {action}: {found[0]['payload']}")

    async def expect_sequence(
        self,
        expected: list[tuple[str, dict[str, Any] | None]],
        within: float = 30.0,
        since: int | None = None,
    ) -> list[dict[str, Any]]:
        """These requests, in this order (others may come in between), after ``since``."""
        start = _window(since)
        deadline = time.monotonic() + self.clock.wall(within)
        found: list[dict[str, Any]] = []
        position = start
        for action, subset in expected:
            left = max(0.0, (deadline - time.monotonic()) * self.clock.speed)
            try:
                payload = await self.expect(action, subset, within=left, since=position)
            except ScenarioTimedOut:
                # Nothing matched after the previous step: whatever matched came before it.
                early = [f for f in self.from_dut(start, action) if matches(f["payload"], subset)]
                if found and early:  # it came, but before what had to precede it
                    previous = expected[len(found) - 1][0]
                    raise ScenarioFailed(
                        f"wrong order: {action} {subset or ''} came before the {previous} it "
                        f"must follow ({early[0]['payload']})"
                    ) from None
                raise
            position = next(
                i + 1
                for i, f in enumerate(self._trace())
                if i >= position and f["sender"] == "dut" and f["payload"] is payload
            )
            found.append(payload)
        return found

    async def wait_until(self, what: str, predicate: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + self.clock.wall(within)
        while not predicate():
            if time.monotonic() > deadline:
                raise ScenarioTimedOut(f"{what}: not reached within {within:g} s")
            await self.clock.sleep(0.1)

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)

    def check(self, condition: bool, message: str, *, timing: bool = False) -> None:
        """Fail with ``message`` unless ``condition``; ``timing``: the condition compares
        times, which a host that cannot keep up distorts."""
        if not condition:
            failure = ScenarioTimedOut(message) if timing else ScenarioFailed(message)
            raise failure


class Handle(BaseHandle):
    """Tests a charge point: the bench is its Central System, its EVs and its drivers."""

    def __init__(self, system: BenchSystem, pics: dict[str, Any] | None = None) -> None:
        super().__init__(system.clock, pics)
        self.system = system
        self.rig = system.rig
        self.cp_id = system.cp_id

    @property
    def csms(self) -> CentralSystem:
        """The Central System now running (a restart replaces it)."""
        assert self.system.csms is not None
        return self.system.csms

    def _trace(self) -> list[dict[str, Any]]:
        return self.system.trace

    async def _trace_changed(self, timeout: float) -> None:
        await self.system.trace_changed(timeout)

    async def booted(self, within: float = 30.0) -> None:
        """The agent is connected, accepted, and has reported every connector."""
        boot = await self.expect("BootNotification", within=within, since=0)
        after = self.index_of(boot)
        for connector in self.rig.connector_ids:
            await self.expect(
                "StatusNotification", {"connectorId": connector}, within=within, since=after
            )

    # --- the bench as Central System -----------------------------------------------

    async def call(self, payload: Any, within: float = 10.0) -> dict[str, Any]:
        """Send any OCPP 1.6 request (an ``ocpp.v16.call`` object); its response payload."""
        name = type(payload).__name__
        self.step(f"send {name}")
        try:
            return await asyncio.wait_for(
                self.csms.call(self.cp_id, payload), self.clock.wall(within)
            )
        except NotConnected:
            raise ScenarioFailed(f"{name}: the charge point is not connected") from None
        except CallErrorReceived as exc:
            raise ScenarioFailed(f"{name} answered with CALLERROR {exc.code}") from None
        except TimeoutError:
            raise ScenarioTimedOut(f"{name}: no response within {within:g} s") from None

    async def call_error(self, payload: Any, within: float = 10.0) -> str:
        """Send a request that must be refused with a CALLERROR; its errorCode."""
        name = type(payload).__name__
        self.step(f"send {name}, expecting a CALLERROR")
        try:
            response = await asyncio.wait_for(
                self.csms.call(self.cp_id, payload), self.clock.wall(within)
            )
        except CallErrorReceived as exc:
            return exc.code
        raise ScenarioFailed(f"{name} was answered {response}, not with a CALLERROR")

    async def configure(self, key: str, value: str) -> None:
        """Set a configuration key on the device; it must accept it."""
        from ocpp.v16 import call

        answer = await self.call(call.ChangeConfiguration(key=key, value=value))
        self.check(
            answer.get("status") in ("Accepted", "RebootRequired"),
            f"ChangeConfiguration {key}={value} answered {answer}",
        )

    # --- EV and driver -----------------------------------------------------------------

    def plug(self, connector: int) -> None:
        self.step(f"plug EV into connector {connector}")
        self.rig.plug(connector)

    def unplug(self, connector: int) -> None:
        self.step(f"unplug EV from connector {connector}")
        self.rig.unplug(connector)

    def ev_stop(self, connector: int) -> None:
        self.step(f"EV on connector {connector} ends charging")
        self.rig.ev_stop(connector)

    def press_latch(self, connector: int) -> None:
        self.step(f"press the CCS1 latch on connector {connector}")
        self.rig.evs[connector].press_latch(self.rig.clock.monotonic())

    def release_latch(self, connector: int) -> None:
        self.rig.evs[connector].release_latch(self.rig.clock.monotonic())

    def cp_fault(self, connector: int, kind: str | None) -> None:
        """The EV's CP network replaced: "diode_fault" (diode shorted), "E" (CP shorted
        to PE); None: the EV's own network again."""
        self.step(f"EV on connector {connector}: CP fault {kind}")
        if kind is None:
            self.rig.cp_fault.pop(connector, None)
        else:
            self.rig.cp_fault[connector] = kind

    def ev_demand(self, connector: int, amps: float) -> None:
        """The EV's battery accepts up to ``amps`` (and the power that takes at its
        maximum voltage): in CurrentDemand it asks for that much."""
        self.step(f"EV on connector {connector} asks for up to {amps:g} A")
        battery = self.rig.evs[connector].battery
        battery.max_current_a = float(amps)
        battery.max_power_w = max(battery.max_power_w, amps * battery.max_voltage_v)

    def isolation_fault(self, connector: int, present: bool = True) -> None:
        """An insulation fault on the DC cable/EV side, found once voltage is applied."""
        self.step(f"connector {connector}: insulation fault {'on' if present else 'off'}")
        if present:
            self.rig.isolation_fault.add(connector)
        else:
            self.rig.isolation_fault.discard(connector)

    def ev_silent(self, connector: int) -> None:
        """The EV stops answering mid-session (until it is unplugged)."""
        self.step(f"EV on connector {connector} stops answering")
        self.rig.ev_silent(connector)

    def pp_fault(self, connector: int, ohms: float | None) -> None:
        """The PP-PE resistance replaced (e.g. 47 Ohm: below every window); None: the plug's."""
        self.step(f"EV on connector {connector}: PP reads {ohms} Ohm")
        if ohms is None:
            self.rig.pp_fault.pop(connector, None)
        else:
            self.rig.pp_fault[connector] = ohms

    async def tap(self, uid: str, hold_s: float = 0.8) -> None:
        """Hold an RFID card to the reader, then take it away.

        The reader keeps wall-clock time whatever the bench's clock speed (an RDM6300
        repeats its frame every 0.1 s and reports removal after 0.3 s of silence), so
        the card is held, and then kept away, long enough in wall time to be seen."""
        self.step(f"present RFID {uid}")
        self.rig.present_tag(uid)
        await asyncio.sleep(max(self.clock.wall(hold_s), 0.35))
        self.rig.remove_tag()
        await asyncio.sleep(0.4)

    # --- fault injection -----------------------------------------------------------------

    def cut_link(self) -> None:
        self.step("cut the link between charge point and CSMS")
        self.system.proxy.cut()

    def restore_link(self) -> None:
        self.step("restore the link")
        self.system.proxy.restore()

    def kill_agent(self) -> None:
        self.step("kill the agent process")
        self.system.kill_agent()

    def start_agent(self) -> None:
        self.step("start the agent process")
        self.system.start_agent()

    def power_loss(self) -> None:
        self.step("power loss: agent killed, charger hardware unpowered")
        self.system.power_loss()

    def power_restore(self) -> None:
        self.step("power restored")
        self.system.power_restore()

    async def stop_csms(self) -> None:
        self.step("stop the CSMS")
        await self.system.stop_csms()

    async def start_csms(self) -> None:
        self.step("start the CSMS")
        await self.system.start_csms()

    async def firmware_location(self, kind: str = "good") -> str:
        """ftp:// URL of a firmware image on the bench CSMS's FTP server.

        "good": a signed image of version 2.0.0 that the agent trusts; "broken": signed,
        but its content does not match the manifest (installation fails); "missing":
        no such file (the download fails)."""
        from firmware_image.build import build_image
        from firmware_image.keys import ensure_signing_key

        ftp = self.csms.ftp_server()
        if kind == "missing":
            return ftp.url("firmware/no-such-image.tar.gz")
        key = ensure_signing_key(self.system.state.pki / "firmware")
        image = build_image(
            "2.0.0", self.system.state.root / "images", key, broken=kind == "broken"
        )
        self.csms.add_firmware(image.path.name, image.path)
        return ftp.firmware_location(image.path.name)

    def diagnostics_location(self, ok: bool = True) -> str:
        """ftp:// directory for GetDiagnostics: the upload area, or (``ok=False``) the
        read-only firmware store, which refuses the upload."""
        ftp = self.csms.ftp_server()
        return ftp.diagnostics_location() if ok else ftp.url("firmware/")

    def emergency_stop(self, pressed: bool = True) -> None:
        self.step("press the emergency stop" if pressed else "release the emergency stop")
        self.rig.emergency_stop(pressed)

    def meter_fault(self, connector: int, kind: str | None) -> None:
        self.step(f"meter on connector {connector}: fault {kind}")
        self.rig.meters[connector].set_fault(kind)  # type: ignore[arg-type]

    # --- added for the Core _CS cases (bench/scenarios/cs_core) ------------------------

    def frame_of(self, request: dict[str, Any]) -> dict[str, Any]:
        """The trace entry of a request the device sent (its ``ts`` and ``unique_id``)."""
        for frame in self._trace():
            if frame["sender"] == "dut" and frame["payload"] is request:
                return frame
        raise KeyError("that payload is not a request of the device in the trace")

    async def answer(self, request: dict[str, Any], within: float = 10.0) -> dict[str, Any]:
        """The bench's response payload (CALLRESULT or CALLERROR) to a request of the device."""
        uid = self.frame_of(request)["unique_id"]
        deadline = time.monotonic() + self.clock.wall(within)
        while True:
            for frame in self._trace():
                if (
                    frame["sender"] == "bench"
                    and frame["message_type"] in (3, 4)
                    and frame["unique_id"] == uid
                ):
                    return frame["payload"]
            if time.monotonic() >= deadline:
                raise ScenarioTimedOut(f"the bench never answered the device's request {request}")
            await self.system.trace_changed(deadline - time.monotonic())

    async def get_configuration(
        self, keys: list[str] | None = None
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """GetConfiguration: ({key: {"key", "readonly", "value"}}, unknownKey)."""
        from ocpp.v16 import call

        answer = await self.call(call.GetConfiguration(key=keys))
        found = {entry["key"]: entry for entry in answer.get("configurationKey") or []}
        return found, list(answer.get("unknownKey") or [])

    async def config_value(self, key: str) -> str | None:
        """The value the device reports for one configuration key (None: not reported)."""
        found, _ = await self.get_configuration([key])
        entry = found.get(key)
        return None if entry is None else entry.get("value")

    def statuses(self, connector: int, since: int = 0) -> list[str]:
        """The statuses the device reported for ``connector`` after ``since``, in order."""
        return [
            f["payload"]["status"]
            for f in self.from_dut(since, "StatusNotification")
            if f["payload"].get("connectorId") == connector
        ]

    async def expect_status(
        self, connector: int, status: str, within: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """A StatusNotification ``status`` for ``connector``; on failure, what it reported."""
        try:
            return await self.expect(
                "StatusNotification", {"connectorId": connector, "status": status}, within, since
            )
        except ScenarioFailed:
            seen = self.statuses(connector, since or 0)
            raise ScenarioTimedOut(
                f"connector {connector} did not report {status} within {within:g} s; "
                f"it reported: {' -> '.join(seen) or 'nothing'}"
            ) from None

    def cable_lock_fault(self, connector: int, kind: str | None) -> None:
        """Make the connector's cable lock fail ("lock", "unlock") or work again (None).

        The simulated DC rig has fixed cables and no lock actuator, so a case that needs
        one fails here and says why (an external charger's operator can do it:
        :class:`bench.scenarios.external_cs.ExternalHandle`).
        """
        raise ScenarioFailed(
            "this rig has no cable lock whose failure the bench can inject "
            "(fixed cables, no lock actuator); the case needs a rig with one"
        )

    def index_of(self, request: dict[str, Any]) -> int:
        """The trace position of a request the device sent (a ``since`` for what follows)."""
        for index, frame in enumerate(self._trace()):
            if frame["sender"] == "dut" and frame["payload"] is request:
                return index
        raise KeyError("that payload is not a request of the device in the trace")
