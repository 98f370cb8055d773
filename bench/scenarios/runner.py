"""Runs scenarios, each against a fresh bench, and collects verdicts."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import Scenario
from bench.statedir import StateDir
from bench.system import BenchSystem

log = logging.getLogger("bench.runner")


@dataclass
class CaseResult:
    id: str
    verdict: str  # pass | fail | error
    duration_s: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def run_case(case: Scenario, keep_state: Path | None = None) -> CaseResult:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{case.id}-"))
    system = BenchSystem(StateDir(root), agent_config=case.agent_config)
    started = time.monotonic()
    handle: Handle | None = None
    verdict, message = "pass", ""
    try:
        await system.start()
        handle = Handle(system)
        await asyncio.wait_for(case.fn(handle), timeout=system.clock.wall(case.timeout_s))
    except ScenarioFailed as exc:
        verdict, message = "fail", str(exc)
    except TimeoutError:
        verdict, message = "fail", f"the case did not finish within {case.timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001 - a broken case is an error, not a crash
        verdict, message = "error", f"{type(exc).__name__}: {exc}"
        log.debug("%s", traceback.format_exc())
    finally:
        await system.stop()
    details: dict[str, Any] = dict(handle.details) if handle else {}
    if message:
        details["message"] = message
        details["steps"] = [f"{t:7.3f}s {text}" for t, text in (handle.steps if handle else [])]
        log_file = system.state.agent / "agent.log"
        if log_file.exists():
            details["agent_log_tail"] = log_file.read_text().splitlines()[-15:]
    if keep_state is not None or verdict != "pass":
        target = (keep_state or Path(tempfile.gettempdir())) / f"bench-failed-{case.id}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(root, target, dirs_exist_ok=True)
        details["state_dir"] = str(target)
    shutil.rmtree(root, ignore_errors=True)
    return CaseResult(case.id, verdict, round(time.monotonic() - started, 3), details)


async def run_cases(
    cases: list[Scenario],
    on_progress: Callable[[int, int, Scenario, CaseResult | None], None] | None = None,
) -> list[CaseResult]:
    results = []
    for index, case in enumerate(cases, 1):
        if on_progress:
            on_progress(index, len(cases), case, None)
        result = await run_case(case)
        results.append(result)
        if on_progress:
            on_progress(index, len(cases), case, result)
    return results
