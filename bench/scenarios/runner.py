"""Runs scenarios, each against a fresh bench, and collects verdicts and evidence.

Every case gets its own rig (own ports, own CAN channel, own state directory), so
independent cases run in parallel. A case whose PICS items the device lacks is
"n/a" without starting anything.

A verdict must not depend on how busy the host is. While a case runs, the bench and the
agent measure how late their event loops wake (:mod:`charger.lag`). A case that fails
on time (a wait ran out, a measured interval was off; not a wrong value) while either
lagged more than ``LAG_LIMIT_SIM_S`` of simulated time is run again on a clock half as
fast (down to real time); if it still fails that way, its verdict is "inconclusive: the
host could not keep up", with the lag measured, never FAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.pics import load_pics
from bench.ports import SPAN, Ports
from bench.scenarios.handle import PROCESS_START_WALL_S, BaseHandle, Handle, ScenarioFailed
from bench.scenarios.operator_prompt import OperatorPrompts
from bench.scenarios.registry import Scenario
from bench.security.redact import redact_frame
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock, iso
from charger.lag import Lag, LagMonitor, read_lag

log = logging.getLogger("bench.runner")

SAMPLE_EVERY_S = 0.5
#: A wake-up this late (simulated seconds) can eat a budget a case waits on (most are 10 s).
LAG_LIMIT_SIM_S = 2.0
INCONCLUSIVE = "inconclusive"


@dataclass
class RunOptions:
    pics: str | None = None  # default: "agent" for cs cases, "csms" for csms cases
    speed: float = 1.0
    parallel: int = 1
    dut_url: str | None = None  # an external Central System under test (csms role)
    dut_cp_id: str | None = None
    dut_password: str | None = field(default=None, repr=False)  # never in a log line
    dut_ca: str | None = None  # CA file to trust for an external CSMS (else the system store)
    operator_hook: str | None = None  # command run as `HOOK ACTION JSON` for operator actions
    # where failed cases keep their state, one sub-directory per case; one per run
    # (a report's or a state directory's); None: a fresh temporary directory per case
    keep_failed: Path | None = None
    agent_quirks: dict[str, Any] = field(default_factory=dict)  # a misbehaving DUT double
    params: dict[str, str] = field(default_factory=dict)  # scenario parameters (--param k=v)
    # set to end the run early (Ctrl-C, the panel's stop): no case starts any more, a
    # running case's scenario is cancelled and its rig is taken down as usual
    stop: asyncio.Event | None = field(default=None, repr=False, compare=False)
    port_base: int | None = None  # rig n of the parallel ones listens on base + n*SPAN..
    # An external charge point (cs role, ``--dut external``): the bench's CSMS waits for
    # it under ``dut_state``; an operator (``operator_hook``, or ``interactive``: a
    # person asked through ``operator_prompts``, on the console and in the panel,
    # ``operator_timeout_s`` per step) does what needs hands on it.
    dut_external: bool = False
    dut_state: Path | None = None
    dut_wait_s: float = 300.0
    interactive: bool = False
    operator_timeout_s: float = 120.0
    operator_prompts: OperatorPrompts | None = field(default=None, repr=False, compare=False)
    operator_panel_url: str = ""  # where the panel shows the operator steps

    rig_slot: int = 0  # which of the ``parallel`` rigs a case runs on (its ports)

    def rig_ports(self, slot: int | None = None) -> Ports:
        """The listeners of the rig in parallel slot ``slot`` (default ``rig_slot``; no
        base: free ports)."""
        slot = self.rig_slot if slot is None else slot
        if self.port_base is None:
            return Ports()
        ports = Ports.from_base(self.port_base + slot * SPAN, plain=True)
        return replace(ports, api=None, panel=None)  # a case's rig serves neither

    def pics_for(self, role: str) -> dict[str, Any]:
        return load_pics(self.pics or ("agent" if role == "cs" else "csms"))


@dataclass
class CaseResult:
    id: str
    verdict: str  # pass | fail | error | n/a
    duration_s: float
    details: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    role: str = "cs"
    profile: str = "core"
    speed: float = 1.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _summary_details(handle: BaseHandle | None) -> dict[str, Any]:
    return dict(handle.details) if handle else {}


async def _sample(system: BenchSystem, into: dict[str, list[dict[str, Any]]]) -> None:
    """Charging curves for the report: power, current, voltage and SoC per connector."""
    while True:
        snapshot = system.rig.snapshot()
        now = system.clock.time()
        for cid, c in snapshot["connectors"].items():
            into.setdefault(str(cid), []).append(
                {
                    "t": round(now, 3),
                    "power_w": c["power_w"],
                    "current_a": c["current_a"],
                    "voltage_v": c["voltage_v"],
                    "soc": c["soc"],
                }
            )
        await system.clock.sleep(SAMPLE_EVERY_S)


async def _run_cs(case: Scenario, options: RunOptions, pics: dict[str, Any], result: CaseResult):
    root = Path(tempfile.mkdtemp(prefix=f"bench-{case.id}-"))
    ports = options.rig_ports()
    if case.profile != "security":  # the security cases move between profiles: a port each
        ports = replace(ports, client_cert=None, plain=None)
    elif options.port_base is None:
        ports = replace(ports, client_cert=0, plain=0)
    system = BenchSystem(
        StateDir(root),
        clock=Clock.start(options.speed),
        agent_config=case.agent_config,
        agent_quirks=options.agent_quirks,
        ports=ports,
    )
    handle: Handle | None = None
    sampler: asyncio.Task | None = None
    lag = LagMonitor().start()
    try:
        await system.start()
        handle = Handle(system, pics)
        handle.params = dict(options.params)
        sampler = asyncio.create_task(_sample(system, result.samples))
        await _guarded(case, handle, system.clock, result, options.stop)
    finally:
        if sampler:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        await system.stop()
        _record_lag(result, await lag.stop(), read_lag(system.state.agent))
        result.trace = system.all_frames()
        _collect(handle, result)
        if system.agent_crashes:
            result.verdict = "error"
            result.details["message"] = (
                f"the agent process died by itself {system.agent_crashes} time(s); "
                + str(result.details.get("message", ""))
            ).strip("; ")
        if result.verdict in ("fail", "error") and result.details.get("message") != STOPPED_MESSAGE:
            log_file = system.state.agent / "agent.log"
            if log_file.exists():
                result.details["agent_log_tail"] = log_file.read_text().splitlines()[-15:]
            result.details["state_dir"] = str(await asyncio.to_thread(_keep, root, case, options))
        await asyncio.to_thread(shutil.rmtree, root, True)


def _keep(root: Path, case: Scenario, options: RunOptions) -> Path:
    """Copy a failed case's state where the run keeps it (off the loop: it may be large)."""
    if options.keep_failed is None:
        return Path(
            shutil.copytree(
                root, tempfile.mkdtemp(prefix=f"bench-failed-{case.id}-"), dirs_exist_ok=True
            )
        )
    target = options.keep_failed / case.id
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(root, target))


async def _run_csms(
    case: Scenario, options: RunOptions, pics: dict[str, Any], result: CaseResult
) -> None:
    from bench.scenarios.csms_role import CsmsBench  # the bench plays the charge point

    bench = CsmsBench(options, clock=Clock.start(options.speed), ports=options.rig_ports())
    handle = None
    lag = LagMonitor().start()
    try:
        await bench.start()
        handle = bench.make_handle(pics)
        await _guarded(case, handle, bench.clock, result, options.stop)
    finally:
        await bench.stop()
        _record_lag(result, await lag.stop(), None)
        result.trace = [redact_frame(f) for f in bench.trace]  # no passwords in reports
        _collect(handle, result)


STOPPED_MESSAGE = "stopped before its end: the run was interrupted"
CANCEL_GRACE_S = 10.0  # wall seconds a cancelled scenario gets to unwind


async def _guarded(
    case: Scenario,
    handle: BaseHandle,
    clock: Clock,
    result: CaseResult,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the scenario function as a task of its own, so that a timeout, ``stop`` or a
    cancellation of the caller always ends it and the caller's clean-up always runs."""
    scenario = asyncio.ensure_future(case.fn(handle))
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    waiting = {scenario} | ({stopping} if stopping else set())
    try:
        # The case's budget is simulated time, plus wall time for the process starts in it.
        timeout = clock.wall(case.timeout_s) + PROCESS_START_WALL_S
        await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if stopping is not None:
            stopping.cancel()
        if not scenario.done():
            scenario.cancel()
            await asyncio.wait({scenario}, timeout=CANCEL_GRACE_S)
    if not scenario.done() or scenario.cancelled():
        result.verdict = "error" if stop is not None and stop.is_set() else "fail"
        result.details["message"] = (
            STOPPED_MESSAGE
            if result.verdict == "error"
            else f"the case did not finish within {case.timeout_s:g} s"
        )
        result.details["timing"] = result.verdict == "fail"
        return
    failure = scenario.exception()
    if failure is None:
        result.verdict = "pass"
    elif isinstance(failure, ScenarioFailed):
        result.verdict = "fail"
        result.details["message"] = str(failure)
        result.details["timing"] = failure.timing
    else:
        raise failure


def _record_lag(result: CaseResult, bench: Lag, agent: Lag | None) -> None:
    result.details["lag"] = {"bench": bench.to_json()}
    if agent is not None:
        result.details["lag"]["agent"] = agent.to_json()


def applicable(case: Scenario, pics: dict[str, Any], result: CaseResult) -> bool:
    """Whether the device's PICS has what ``case`` needs; if not, ``result`` says n/a."""
    missing = case.missing(pics)
    if missing:
        result.verdict = "n/a"
        result.details["message"] = f"not applicable: PICS lacks {', '.join(missing)}"
    return not missing


def worst_lag_s(result: CaseResult) -> float:
    """The latest wake-up of any process of the case's rig, in wall seconds."""
    lag = result.details.get("lag") or {}
    return max((part.get("max_s", 0.0) for part in lag.values()), default=0.0)


def host_fell_behind(result: CaseResult, speed: float) -> bool:
    """The case failed on time (a wait ran out, an interval was off) while a process of
    its rig lagged the clock by a budget's worth. A wrong value is wrong at any load."""
    return (
        result.verdict == "fail"
        and bool(result.details.get("timing"))
        and worst_lag_s(result) * speed > LAG_LIMIT_SIM_S
    )


def _collect(handle: BaseHandle | None, result: CaseResult) -> None:
    if handle is None:
        return
    result.details = {**handle.details, **result.details}
    marks = list(handle.step_marks) + [None] * (len(handle.steps) - len(handle.step_marks))
    result.steps = [
        {"t": t, "text": text, "frame": mark}
        for (t, text), mark in zip(handle.steps, marks, strict=True)
    ]


async def run_case(case: Scenario, options: RunOptions | None = None) -> CaseResult:
    """Run ``case``; again on a slower clock while it fails because the host lagged."""
    options = options or RunOptions()
    speed = options.speed
    attempts: list[dict[str, Any]] = []
    while True:
        result = await _attempt(case, options, speed)
        if not host_fell_behind(result, speed):
            break
        attempts.append(
            {
                "speed": speed,
                "message": result.details.get("message", ""),
                "worst_lag_ms": round(worst_lag_s(result) * 1000),
            }
        )
        if speed <= 1.0:
            result.verdict = INCONCLUSIVE
            result.details["message"] = (
                "inconclusive: the host could not keep up (event loops woke up to "
                f"{worst_lag_s(result) * 1000:.0f} ms late, over {LAG_LIMIT_SIM_S:g} s of "
                f"simulated time at speed {speed:g}); it failed with: "
                + str(result.details.get("message", ""))
            )
            break
        speed = max(1.0, speed / 2)
        log.warning("%s failed while the host lagged; again at speed %g", case.id, speed)
    if attempts:
        result.details["attempts"] = attempts
    return result


async def _attempt(case: Scenario, options: RunOptions, speed: float) -> CaseResult:
    if speed != options.speed:
        options = replace(options, speed=speed)
    result = CaseResult(
        case.id,
        "error",
        0.0,
        title=case.title,
        role=case.role,
        profile=case.profile,
        speed=speed,
    )
    pics = options.pics_for(case.role)
    if not applicable(case, pics, result):
        return result
    started = time.monotonic()
    try:
        if case.role == "cs":
            await _run_cs(case, options, pics, result)
        else:
            await _run_csms(case, options, pics, result)
    except Exception as exc:  # noqa: BLE001 - a broken case or bench is an error, not a crash
        result.verdict = "error"
        result.details["message"] = f"{type(exc).__name__}: {exc}"
        log.debug("%s", traceback.format_exc())
    result.duration_s = round(time.monotonic() - started, 3)
    return result


ProgressFn = Callable[[int, int, Scenario, CaseResult | None], None]


async def run_cases(
    cases: list[Scenario],
    options: RunOptions | None = None,
    on_progress: ProgressFn | None = None,
) -> list[CaseResult]:
    """Run ``cases`` with up to ``options.parallel`` rigs at once; results in case order
    (without the cases a stopped run never started).

    ``on_progress(number, total, case, result)`` is called when a case starts (result
    None) and when it ends; ``number`` is the case's 1-based place in ``cases`` both times.
    """
    options = options or RunOptions()
    if options.dut_external:
        return await _run_external_cs(cases, options, on_progress)
    slots: asyncio.Queue[int] = asyncio.Queue()
    for slot in range(max(1, options.parallel)):  # a rig's ports are its slot's
        slots.put_nowait(slot)

    async def one(index: int, case: Scenario) -> CaseResult | None:
        slot = await slots.get()
        try:
            if options.stop is not None and options.stop.is_set():
                return None  # not started: the run was stopped
            if on_progress:
                on_progress(index, len(cases), case, None)
            result = await run_case(case, replace(options, rig_slot=slot))
            if on_progress:
                on_progress(index, len(cases), case, result)
            return result
        finally:
            slots.put_nowait(slot)

    results = await asyncio.gather(*(one(i, c) for i, c in enumerate(cases, 1)))
    return [r for r in results if r is not None]


async def _run_external_cs(
    cases: list[Scenario], options: RunOptions, on_progress: ProgressFn | None
) -> list[CaseResult]:
    """Every case against one charge point the bench did not start, one after the other."""
    from bench.scenarios.csms_role import command_hook
    from bench.scenarios.external_cs import (
        ExternalChargePoint,
        ExternalHandle,
        interactive_operator,
    )

    prompts = options.operator_prompts
    if options.interactive:
        if prompts is None:
            raise ValueError("--interactive needs the operator prompts its front ends answer")
        hook = interactive_operator(prompts, options.operator_timeout_s)
    elif options.operator_hook:
        hook = command_hook(options.operator_hook)
    else:
        raise ValueError("an external charge point needs an operator hook or --interactive")
    cp_id = options.dut_cp_id or "CP-UNDER-TEST"
    root = options.dut_state or Path(tempfile.mkdtemp(prefix="bench-external-"))
    state = StateDir(root)
    dut = ExternalChargePoint(
        state,
        cp_id,
        hook,
        password=options.dut_password,
        clock=Clock.start(1.0),  # the charger keeps its own time
        ports=options.rig_ports(0),
    )
    results: list[CaseResult] = []
    failure: str | None = None
    try:
        try:
            await dut.start(options.dut_wait_s)
        except ScenarioFailed as exc:
            failure = str(exc)
        for index, case in enumerate(cases, 1):
            if options.stop is not None and options.stop.is_set():
                break
            if on_progress:
                on_progress(index, len(cases), case, None)
            if prompts is not None:
                prompts.set_case(f"#{index}/{len(cases)} {case.id}: {case.title}")
            result = await _external_case(case, options, dut, ExternalHandle, failure)
            if on_progress:
                on_progress(index, len(cases), case, result)
            results.append(result)
    finally:
        await dut.stop()
        if options.dut_state is None:
            await asyncio.to_thread(shutil.rmtree, root, True)
    return results


async def _external_case(
    case: Scenario,
    options: RunOptions,
    dut: Any,
    handle_class: Any,
    failure: str | None,
) -> CaseResult:
    result = CaseResult(
        case.id, "error", 0.0, title=case.title, role=case.role, profile=case.profile, speed=1.0
    )
    pics = options.pics_for(case.role)
    if not applicable(case, pics, result):
        return result
    if failure is not None or case.role != "cs":
        result.details["message"] = failure or "a Central-System case needs --dut URL"
        return result
    started = time.monotonic()
    mark = len(dut.trace)
    handle = handle_class(dut, pics)
    handle.params = dict(options.params)
    try:
        refused = await dut.prepare(case.agent_config)
        if refused:
            handle.step(f"the charger did not take the case's settings {', '.join(refused)}")
        await _guarded(case, handle, dut.clock, result, options.stop)
    except Exception as exc:  # noqa: BLE001 - a broken case is an error, not a crash
        result.verdict = "error"
        result.details["message"] = f"{type(exc).__name__}: {exc}"
        log.debug("%s", traceback.format_exc())
    finally:
        result.trace = list(dut.trace[mark:])
        _collect(handle, result)
        await dut.tidy()
    result.duration_s = round(time.monotonic() - started, 3)
    return result


def run_document(
    results: list[CaseResult],
    started: float,
    command: str,
    options: RunOptions,
    role: str,
) -> dict[str, Any]:
    """The run as the report module and results.json take it."""
    pics = options.pics_for(role)
    finished = time.time()
    from datetime import UTC, datetime

    return {
        "run": {
            "started": iso(datetime.fromtimestamp(started, UTC)),
            "finished": iso(datetime.fromtimestamp(finished, UTC)),
            "wall_s": round(finished - started, 1),
            "command": command,
            "clock_speed": options.speed,
            "dut": {
                "role": role,
                "kind": "external" if options.dut_url or options.dut_external else "local",
                "name": pics.get("_name", ""),
                "url": options.dut_url or "",
                "pics": options.pics or ("agent" if role == "cs" else "csms"),
            },
        },
        "cases": [r.to_json() for r in results],
    }
