"""Any charger against the ``_CS`` catalogue: ``bench run --role cs --dut external``.

The bench starts its Central System (with the link proxy in front of it) and waits for
a charge point it did not start to connect; every case then runs against that one
connection, one case after the other, as a lab's test tool runs them. What the bench
cannot do itself - plug an EV, present a card, cut the power - an operator does:

* a hook, ``HOOK ACTION JSON`` (like the CSMS role's, ``bench/csms/hook.py``), exit
  status 0 when done; ``measure`` prints ``{"power_w": W, "energy_wh": Wh}``;
* or a person (``--interactive``), who confirms each step within a time limit with
  Enter on the console or "Done" in the panel (``bench/scenarios/operator_prompt.py``).

Actions and their parameters (every one also gets ``cp_id``):

============== ==========================================================
plug           ``connector``: plug an EV in (it asks for charge at once)
unplug         ``connector``
ev_stop        ``connector``: the EV ends charging by itself
present_card   ``id_tag``, ``hold_s``: hold an RFID card to the reader, then remove it
power_off      cut the charger's mains; ``power_on`` restores it
network_off    pull its network cable; ``network_on`` plugs it back (only when it does
               not connect through the bench's link proxy: then the bench cuts itself)
meter_fault    ``connector``, ``fault`` (``timeout``, ``exception`` or null: healthy)
emergency_stop ``pressed``
press_latch    ``connector`` (CCS1 latch button); ``release_latch``
cable_lock_fault ``connector``, ``fault`` (``lock``, ``unlock`` or null)
measure        ``connector``: the charger's output now
============== ==========================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.csms.server import CentralSystem
from bench.dut_trace import DutTrace
from bench.linkproxy import LinkProxy
from bench.ports import Ports
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.operator_prompt import OperatorFailed, OperatorPrompts
from bench.security.pki import client_cert_server_context, ensure_pki, server_ssl_context
from bench.security.private import kept_secret
from bench.statedir import StateDir
from charger.clock import Clock

log = logging.getLogger("bench.external")

ACTIONS = (
    "plug",
    "unplug",
    "ev_stop",
    "present_card",
    "power_off",
    "power_on",
    "network_off",
    "network_on",
    "meter_fault",
    "emergency_stop",
    "press_latch",
    "release_latch",
    "cable_lock_fault",
    "measure",
)
SETTLE_S = 10.0  # wall seconds the charger gets to report Available between cases
MEASURE_EVERY_S = 1.0  # wall seconds between two readings of the charger's output
DEMO_TAGS = {"0A00B1C2D3": "Accepted", "0A00E4F5A6": "Accepted", "0A00BADBAD": "Blocked"}

Hook = Callable[[str, dict[str, Any]], Awaitable[Any]]


def dut_password(state: StateDir) -> str:
    """The Basic-auth password the external charge point is given: made once per state
    directory (``password``, mode 0600), so the charger is configured only once."""
    return kept_secret(state.root / "password", lambda: secrets.token_urlsafe(15) + "\n").strip()


def interactive_operator(prompts: OperatorPrompts, timeout_s: float) -> Hook:
    """A person does each step (``--interactive``): asked on the console and in the
    panel, both front ends of ``prompts``; ``timeout_s`` per step."""

    async def operator(action: str, params: dict[str, Any]) -> Any:
        if action == "measure":
            raise OperatorFailed("an operator at the console or panel cannot measure the output")
        cp_id = str(params.get("cp_id") or "")
        shown = {k: v for k, v in params.items() if k != "cp_id"}
        await prompts.ask(cp_id, _describe(action, params), timeout_s, action, shown)
        return None

    return operator


def _describe(action: str, params: dict[str, Any]) -> str:
    c = params.get("connector")
    return {
        "plug": f"plug an EV into connector {c}",
        "unplug": f"unplug the EV from connector {c}",
        "ev_stop": f"make the EV on connector {c} stop charging",
        "present_card": f"present card {params.get('id_tag')} to the reader and take it away",
        "power_off": "cut the charger's mains power",
        "power_on": "restore the charger's mains power",
        "network_off": "pull the charger's network cable",
        "network_on": "plug the charger's network cable back in",
        "meter_fault": f"make the meter of connector {c} {params.get('fault') or 'healthy'}",
        "emergency_stop": "press the emergency stop"
        if params.get("pressed")
        else "release the emergency stop",
        "press_latch": f"press the latch of connector {c}'s plug",
        "release_latch": f"release the latch of connector {c}'s plug",
        "cable_lock_fault": f"make connector {c}'s cable lock fail ({params.get('fault')})",
    }.get(action, f"{action} {json.dumps(params)}")


class Operator:
    """Performs the steps in the order the case asked for them; a step the case did not
    wait for (``plug`` is a plain call in the scenarios) runs in the background, and
    its failure fails the case at its next wait."""

    def __init__(self, cp_id: str, hook: Hook) -> None:
        self.cp_id = cp_id
        self.hook = hook
        self.failure: OperatorFailed | None = None
        self._turn = asyncio.Lock()
        self._pending: set[asyncio.Task] = set()

    async def do(self, action: str, **params: Any) -> Any:
        async with self._turn:
            try:
                return await self.hook(action, {"cp_id": self.cp_id, **params})
            except OperatorFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - a hook's failure is the case's failure
                raise OperatorFailed(f"operator step {action} failed: {exc}") from None

    def start(self, action: str, **params: Any) -> None:
        task = asyncio.ensure_future(self._background(action, params))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _background(self, action: str, params: dict[str, Any]) -> None:
        try:
            await self.do(action, **params)
        except OperatorFailed as exc:
            self.failure = self.failure or exc

    async def settle(self) -> None:
        """Wait for the steps still under way."""
        if self._pending:
            await asyncio.wait(set(self._pending))

    def check(self) -> None:
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure


class _Meter:
    def __init__(self, rig: OperatorRig, connector: int) -> None:
        self.rig, self.connector = rig, connector

    def set_fault(self, kind: str | None) -> None:
        self.rig.operator.start("meter_fault", connector=self.connector, fault=kind)


class _Ev:
    def __init__(self, rig: OperatorRig, connector: int) -> None:
        self.rig, self.connector = rig, connector

    def press_latch(self, _now: float) -> None:
        self.rig.operator.start("press_latch", connector=self.connector)

    def release_latch(self, _now: float) -> None:
        self.rig.operator.start("release_latch", connector=self.connector)


class OperatorRig:
    """What :class:`Handle` asks of a rig, done by the operator on the real charger."""

    def __init__(self, operator: Operator, connector_ids: list[int], clock: Clock) -> None:
        self.operator = operator
        self.clock = clock
        self.connector_ids = connector_ids
        self.meters = {c: _Meter(self, c) for c in connector_ids}
        self.evs = {c: _Ev(self, c) for c in connector_ids}
        self.readings: dict[int, dict[str, float]] = {}
        self.measuring: str | None = None  # None: not yet; "" running; else why it cannot
        self._measurer: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    def plug(self, connector: int) -> None:
        self.operator.start("plug", connector=connector)

    def unplug(self, connector: int) -> None:
        self.operator.start("unplug", connector=connector)

    def ev_stop(self, connector: int) -> None:
        self.operator.start("ev_stop", connector=connector)

    def emergency_stop(self, pressed: bool = True) -> None:
        self.operator.start("emergency_stop", pressed=pressed)

    def power_cut(self) -> None:
        self.operator.start("power_off")

    def power_restore(self) -> None:
        self.operator.start("power_on")

    def cable_lock_fault(self, connector: int, kind: str | None) -> None:
        self.operator.start("cable_lock_fault", connector=connector, fault=kind)

    # --- what the bench reads off the charger's output ---------------------------------

    async def start_measuring(self) -> None:
        """Read the output once now (to learn whether the operator can) and then every
        :data:`MEASURE_EVERY_S` in the background."""
        try:
            await self._read_all()
        except OperatorFailed as exc:
            self.measuring = str(exc)
            return
        self.measuring = ""
        self._measurer = asyncio.create_task(self._measure_forever())

    async def _read_all(self) -> None:
        for connector in self.connector_ids:
            reading = await self.operator.do("measure", connector=connector)
            if not isinstance(reading, dict):
                raise OperatorFailed(f"measure printed {reading!r}, not a JSON object")
            self.readings[connector] = {
                "power_w": float(reading.get("power_w") or 0.0),
                "energy_wh": float(reading.get("energy_wh") or 0.0),
            }

    async def _measure_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), MEASURE_EVERY_S)
                return
            with contextlib.suppress(OperatorFailed):
                await self._read_all()

    async def stop(self) -> None:
        """End the readings; one under way finishes (a hook killed mid-way would leave
        its process to a closed event loop)."""
        self._stopping.set()
        if self._measurer is not None:
            done, _ = await asyncio.wait({self._measurer}, timeout=30)
            if not done:
                self._measurer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._measurer

    def _reading(self, connector: int, what: str) -> float:
        if self.measuring:
            raise ScenarioFailed(
                f"this case reads the charger's {what.split('_')[0]}, which the operator "
                f"cannot measure here: {self.measuring}"
            )
        return self.readings.get(connector, {}).get(what, 0.0)

    def power_w(self, connector: int) -> float:
        return self._reading(connector, "power_w")

    def meter_wh(self, connector: int) -> float:
        return self._reading(connector, "energy_wh")


class ExternalChargePoint:
    """The bench's side for a charge point it did not start: CSMS, link proxy, operator.

    Offers what :class:`Handle` uses of a :class:`~bench.system.BenchSystem`."""

    def __init__(
        self,
        state: StateDir,
        cp_id: str,
        hook: Hook,
        password: str | None = None,
        clock: Clock | None = None,
        ports: Ports | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.state = state
        self.cp_id = cp_id
        #: None: one made once per state directory, in its ``password`` file.
        self.password_given = password is not None
        self.password = password if password is not None else dut_password(state)
        self.clock = clock or Clock.start()
        self.ports = ports or Ports()
        self.say = say or (lambda text: print(text, flush=True))
        self.operator = Operator(cp_id, hook)
        self.csms: CentralSystem | None = None
        self.proxy: LinkProxy | None = None
        self.rig: OperatorRig | None = None
        self.dut_trace = DutTrace()
        self.trace = self.dut_trace.frames
        self.agent_crashes = 0  # the charger is not ours to watch
        self.hardware = None
        self._csms_port = self.ports.csms
        #: The writable configuration as the charger came: what tidy() puts back.
        self.baseline: dict[str, str] = {}

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, wait_s: float) -> None:
        """Start the CSMS and the proxy, say how to connect, wait for the boot."""
        pki = await asyncio.to_thread(ensure_pki, self.state.pki)
        await self.start_csms()
        assert self.csms is not None
        self.proxy = await LinkProxy("127.0.0.1", self._csms_port).start(self.ports.proxy)
        self.say(
            f"waiting up to {wait_s:g} s for charge point {self.cp_id} to connect:\n"
            f"  through the bench's link proxy (link cuts without an operator):\n"
            f"      wss://127.0.0.1:{self.proxy.port}/ocpp/{self.cp_id}\n"
            f"  or directly:  {self.csms.url(self.cp_id)}\n"
            f"  Basic auth:   user {self.cp_id}, {self._password_hint()}\n"
            f"  server CA:    {pki.ca_cert}"
        )
        deadline = time.monotonic() + wait_s
        while not self._booted():
            if time.monotonic() > deadline:
                raise ScenarioFailed(
                    f"charge point {self.cp_id} did not connect and boot within {wait_s:g} s"
                )
            await self.trace_changed(1.0)
        via = "the link proxy" if self.through_proxy() else "a direct connection"
        self.say(f"charge point {self.cp_id} connected through {via}")
        self.rig = OperatorRig(self.operator, await self._connector_ids(), self.clock)
        self.baseline = await self.configuration()
        await self.rig.start_measuring()

    def _password_hint(self) -> str:
        """Where the operator finds the password: never the password itself, which would
        end up in terminal scroll-back and CI logs."""
        if self.password_given:
            return "the password given to bench run"
        return f"the password in {self.state.root / 'password'}"

    async def call(self, payload: Any, within: float = 10.0) -> Any:
        """A request to the charger; None when it fails (the tidy-up is best effort)."""
        assert self.csms is not None
        try:
            return await asyncio.wait_for(self.csms.call(self.cp_id, payload), within)
        except Exception as exc:  # noqa: BLE001 - not connected, CALLERROR, no answer
            log.info("%s to %s: %s", type(payload).__name__, self.cp_id, exc)
            return None

    async def configuration(self) -> dict[str, str]:
        """The charger's writable configuration keys and their values."""
        from ocpp.v16 import call

        answer = await self.call(call.GetConfiguration())
        return {
            entry["key"]: entry.get("value")
            for entry in (answer or {}).get("configurationKey") or []
            if not entry.get("readonly") and entry.get("value") is not None
        }

    async def prepare(self, settings: dict[str, str]) -> list[str]:
        """The configuration a case starts from (what our own agent is provisioned with
        for it); the keys the charger did not take."""
        from ocpp.v16 import call

        refused = []
        for key, value in settings.items():
            answer = await self.call(call.ChangeConfiguration(key=key, value=str(value)))
            if (answer or {}).get("status") not in ("Accepted", "RebootRequired"):
                refused.append(key)
        return refused

    def _booted(self) -> bool:
        assert self.csms is not None
        return self.csms.connected(self.cp_id) and any(
            f["action"] == "BootNotification" and f["sender"] == "dut" for f in self.trace
        )

    def through_proxy(self) -> bool:
        return self.proxy is not None and self.proxy.open_connections() > 0

    async def _connector_ids(self) -> list[int]:
        """NumberOfConnectors as the charger reports it (a required Core key)."""
        from ocpp.v16 import call

        assert self.csms is not None
        with contextlib.suppress(Exception):
            answer = await self.csms.call(
                self.cp_id, call.GetConfiguration(key=["NumberOfConnectors"])
            )
            for entry in answer.get("configurationKey") or []:
                if entry.get("key") == "NumberOfConnectors":
                    return list(range(1, int(entry["value"]) + 1))
        seen = {
            f["payload"].get("connectorId")
            for f in self.trace
            if f["action"] == "StatusNotification" and f["sender"] == "dut"
        }
        return sorted(c for c in seen if isinstance(c, int) and c > 0) or [1]

    async def stop(self) -> None:
        if self.rig is not None:
            await self.rig.stop()
        if self.proxy is not None:
            await self.proxy.stop()
        if self.csms is not None:
            await self.csms.stop()

    async def start_csms(self) -> None:
        pki = await asyncio.to_thread(ensure_pki, self.state.pki)
        self.csms = CentralSystem(
            self.state.csms / "csms.sqlite",
            self.clock,
            port=self._csms_port,
            ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
            pki_dir=self.state.pki,
            client_cert_port=self.ports.client_cert,
            client_cert_ssl_context=client_cert_server_context(
                pki.server_cert, pki.server_key, pki.ca_cert
            ),
            plain_port=self.ports.plain,
            ftp=True,
            ftp_port=self.ports.ftp,
            ftp_passive_ports=self.ports.ftp_passive,
        )
        self.csms.frames.add_listener(self.dut_trace.csms_entry)
        await self.csms.start()
        self._csms_port = self.csms.port
        if self.csms.store.charge_point(self.cp_id) is None:
            self.csms.register_charge_point(self.cp_id, self.password)
        for tag, status in DEMO_TAGS.items():
            self.csms.add_id_tag(tag, status)

    async def stop_csms(self) -> None:
        if self.csms is not None:
            await self.csms.stop()

    async def trace_changed(self, timeout: float) -> None:
        await self.dut_trace.changed(timeout)

    # --- what needs hands on the charger -----------------------------------------------

    def power_loss(self) -> None:
        self.operator.start("power_off")

    def power_restore(self) -> None:
        self.operator.start("power_on")

    def kill_agent(self) -> None:
        self.operator.start("power_off")  # the nearest a charger's owner can do

    def start_agent(self) -> None:
        self.operator.start("power_on")

    def cut_link(self) -> None:
        if self.through_proxy() or (self.proxy is not None and not self.proxy.up):
            self.proxy.cut()
        else:
            self.operator.start("network_off")

    def restore_link(self) -> None:
        if self.proxy is not None and not self.proxy.up:
            self.proxy.restore()
        else:
            self.operator.start("network_on")

    # --- between cases -----------------------------------------------------------------

    async def tidy(self) -> None:
        """After a case: the link and power back, the boot policy back to Accepted, no
        transaction left running and no EV left plugged in (best effort, as an operator
        resets a charger between two of a lab tool's cases)."""
        from ocpp.v16 import call

        await self.operator.settle()
        self.operator.failure = None
        if self.proxy is not None and not self.proxy.up:
            self.proxy.restore()
        assert self.csms is not None
        self.csms.set_boot_policy(self.cp_id, "Accepted", 60)
        for tx in self.csms.transactions(self.cp_id):
            if tx.get("stop_ts") is None:  # left running by the case: the CSMS ends it
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.csms.call(
                            self.cp_id, call.RemoteStopTransaction(transaction_id=tx["id"])
                        ),
                        10,
                    )
        connectors = self.rig.connector_ids if self.rig else []
        await self._settle(connectors, SETTLE_S)  # a stop or an offline backlog still coming
        for connector in connectors:
            if self._last_status(connector) not in (None, "Available", "Unavailable", "Faulted"):
                with contextlib.suppress(OperatorFailed):
                    await self.operator.do("unplug", connector=connector)
        await self._settle(connectors, SETTLE_S)
        # What a fresh charger of ours starts each case with: the configuration as the
        # charger came, every connector operative, an empty authorization cache.
        now = await self.configuration()
        for key, value in self.baseline.items():
            if now.get(key) != value:
                await self.call(call.ChangeConfiguration(key=key, value=value))
        await self.call(call.ChangeAvailability(connector_id=0, type="Operative"))
        await self.call(call.ClearCache())

    async def _settle(self, connectors: list[int], within: float) -> None:
        """Wait until every connector's last status is Available (or ``within`` passed)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self._last_status(c) in (None, "Available") for c in connectors):
                return
            await self.trace_changed(deadline - time.monotonic())

    def _last_status(self, connector: int) -> str | None:
        for frame in reversed(self.trace):
            if (
                frame["sender"] == "dut"
                and frame["action"] == "StatusNotification"
                and frame["payload"].get("connectorId") == connector
            ):
                return frame["payload"].get("status")
        return None


class ExternalHandle(Handle):
    """A :class:`Handle` on an external charge point: rig steps go to the operator."""

    def __init__(self, dut: ExternalChargePoint, pics: dict[str, Any] | None = None) -> None:
        super().__init__(dut, pics)  # type: ignore[arg-type]
        self.dut = dut

    async def _trace_changed(self, timeout: float) -> None:
        self.dut.operator.check()
        await self.dut.trace_changed(min(timeout, 1.0))
        self.dut.operator.check()

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self.dut.operator.check()

    async def wait_until(self, what: str, predicate: Callable[[], bool], within: float) -> None:
        self.dut.operator.check()
        await super().wait_until(what, predicate, within)

    async def tap(self, uid: str, hold_s: float = 0.8) -> None:
        self.step(f"present RFID {uid}")
        await self.dut.operator.do("present_card", id_tag=uid, hold_s=hold_s)
        await asyncio.sleep(self.clock.wall(hold_s) + 0.4)  # held, then taken away

    def cut_link(self) -> None:
        self.step("cut the link between charge point and CSMS")
        self.dut.cut_link()

    def restore_link(self) -> None:
        self.step("restore the link")
        self.dut.restore_link()

    def cable_lock_fault(self, connector: int, kind: str | None) -> None:
        self.step(f"cable lock on connector {connector}: fault {kind}")
        assert self.dut.rig is not None
        self.dut.rig.cable_lock_fault(connector, kind)

    async def firmware_location(self, kind: str = "good") -> str:
        raise ScenarioFailed(
            "a firmware image for this charger is the maker's: put it on the bench's FTP "
            "server and give its location (not automated for an external charge point)"
        )
