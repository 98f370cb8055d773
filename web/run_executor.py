"""Scenario runs from the panel, on an event loop and a thread of their own.

A run's cases build fresh benches (CSMS, twins, agent processes) whose set-up does
seconds of blocking work on a Pi: key generation, password hashing, SQLite. On the
live bench's loop that work stalled the live rig's meter twins past the agent's
Modbus timeout, and the live session ended as a meter failure (StopTransaction
reason Other). Here runs never touch the live bench's loop: the live rig keeps
answering whatever a run does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.report import write_report
from bench.scenarios.registry import Scenario
from bench.scenarios.runner import (
    STOPPED_MESSAGE,
    CaseResult,
    RunOptions,
    run_cases,
    run_document,
)
from web.errors import BenchError, RunBusy
from web.live_state import LiveState, now_iso
from web.runs import CaseProgress, RunRecord, RunStore, energy_of

log = logging.getLogger("web.runs")

STEPS_EVERY_S = 0.25  # how often the live step logs of running cases are copied
CLOSE_WAIT_S = 60.0  # how long closing the panel waits for a stopped run to clean up


class Runs:
    """Every run (shared by all users), one at a time, on the executor's own loop."""

    def __init__(
        self,
        live: LiveState,
        store: RunStore,
        runner: Callable[..., Any] | None = None,
    ) -> None:
        self.live = live
        self.store = store
        self.runner = runner or run_cases
        self.records = store.load()
        self.active: RunRecord | None = None
        self._handles: dict[str, Any] = {}  # case id -> its handle, while it runs
        self._results: dict[str, CaseResult] = {}
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()

    # --- the executor's loop ----------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=loop.run_forever, name="panel scenario runs", daemon=True
            )
            self._thread.start()
            self._loop = loop
        return self._loop

    def close(self) -> None:
        """Stop a run still going on, wait for its rigs to go down, end the loop."""
        with self.live.cond:
            active = self.active
            if active is not None:
                active.stopped_by = active.stopped_by or "panel shutdown"
        if active is not None:
            self._request_stop()
        if not self._done.wait(CLOSE_WAIT_S):
            log.error("run %s did not finish cleaning up within %g s", active, CLOSE_WAIT_S)
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            if not loop.is_running():
                loop.close()

    def _request_stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)

    # --- reading (any thread) -------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        with self.live.cond:
            return [
                r.to_json() for r in sorted(self.records.values(), key=lambda r: r.id, reverse=True)
            ]

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self.live.cond:
            record = self.records.get(run_id)
            return record.to_json(detail=True) if record else None

    def active_json(self, detail: bool) -> dict[str, Any] | None:
        with self.live.cond:
            return self.active.to_json(detail=detail) if self.active else None

    # --- changing (any thread) --------------------------------------------------------

    def start(
        self, cases: list[Scenario], user: str, pics: str, speed: float, label: str
    ) -> dict[str, Any]:
        role = cases[0].role
        run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        record = RunRecord(
            id=run_id,
            label=label,
            started_by=user,
            started=now_iso(),
            role=role,
            pics=pics,
            speed=speed,
            cases=[CaseProgress(c.id, c.title, c.role, c.profile) for c in cases],
            started_wall=time.time(),
        )
        with self.live.cond:
            if self.active is not None:
                raise RunBusy(
                    f"run {self.active.id} ({self.active.label}) started by "
                    f"{self.active.started_by} is still going on"
                )
            if self.live.closed:
                raise BenchError("the panel is shutting down", 503)
            self.active = record
            self.records[record.id] = record
            self._handles, self._results = {}, {}
            self._done.clear()
            self.live.version += 1
            self.live.cond.notify_all()
        self._save(record)
        loop = self._ensure_loop()
        asyncio.run_coroutine_threadsafe(self._execute(record, cases), loop)
        return record.to_json()

    def stop(self, run_id: str | None, user: str) -> dict[str, Any]:
        with self.live.cond:
            record = self.active
            if record is None or (run_id and record.id != run_id):
                raise BenchError("that run is not running", 409)
            record.stopped_by = user
            self.live.version += 1
            self.live.cond.notify_all()
        self._request_stop()
        return record.to_json()

    def delete(self, run_id: str) -> None:
        with self.live.cond:
            record = self.records.get(run_id)
            if record is None:
                raise BenchError(f"no run {run_id}", 404)
            if record is self.active:
                raise BenchError("stop the run first", 409)
            del self.records[run_id]
        self.store.delete(run_id)

    # --- on the executor's loop --------------------------------------------------------

    def _save(self, record: RunRecord) -> None:
        with self.live.cond:
            text = json.dumps(record.to_json(detail=True), indent=1) + "\n"
        self.store.save(record.id, text)

    def _watched(self, case: Scenario) -> Scenario:
        """The case with a function that lets the panel see its handle (live steps)."""
        original = case.fn

        async def fn(handle: Any) -> Any:
            self._handles[case.id] = handle
            return await original(handle)

        return dataclasses.replace(case, fn=fn)

    def _progress(self, record: RunRecord) -> Callable[..., None]:
        by_id = {c.id: c for c in record.cases}

        def on_progress(_n: int, _total: int, case: Scenario, result: CaseResult | None) -> None:
            with self.live.cond:
                progress = by_id[case.id]
                if result is None:
                    progress.state = "running"
                    progress.began = time.monotonic()
                else:
                    self._results[case.id] = result
                    self._handles.pop(case.id, None)
                    progress.duration_s = result.duration_s
                    progress.steps = list(result.steps)
                    progress.energy = energy_of(result.details)
                    if result.details.get("message") == STOPPED_MESSAGE:
                        progress.state = "stopped"
                        progress.message = f"stopped from the panel by {record.stopped_by}"
                    else:
                        progress.state = result.verdict
                        progress.message = str(result.details.get("message", ""))
                self.live.version += 1
                self.live.cond.notify_all()
            if result is not None:
                self._save(record)

        return on_progress

    async def _copy_steps(self, record: RunRecord) -> None:
        while True:
            await asyncio.sleep(STEPS_EVERY_S)
            live_steps = {
                case_id: [{"t": t, "text": text} for t, text in list(handle.steps)]
                for case_id, handle in list(self._handles.items())
            }
            with self.live.cond:
                for case in record.cases:
                    if case.state == "running" and case.id in live_steps:
                        case.steps = live_steps[case.id]
                self.live.version += 1
                self.live.cond.notify_all()

    async def _execute(self, record: RunRecord, cases: list[Scenario]) -> None:
        self._stop = asyncio.Event()
        options = RunOptions(
            pics=record.pics,
            speed=record.speed,
            keep_failed=self.store.run_dir(record.id) / "failed",
            stop=self._stop,
        )
        if record.stopped_by:  # stopped before it began
            self._stop.set()
        copier = asyncio.create_task(self._copy_steps(record))
        failure = None
        try:
            await self.runner([self._watched(c) for c in cases], options, self._progress(record))
        except Exception as exc:  # noqa: BLE001 - a broken runner ends the run, not the panel
            log.exception("run %s failed", record.id)
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            copier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await copier
        try:
            await self._finish(record, options, failure)
        finally:
            self._done.set()

    async def _finish(self, record: RunRecord, options: RunOptions, failure: str | None) -> None:
        stopped = self._stop is not None and self._stop.is_set()
        with self.live.cond:
            results = [self._results[c.id] for c in record.cases if c.id in self._results]
            for progress in record.cases:
                if progress.state == "pending":
                    progress.state = "skipped"
            verdicts = [c.state for c in record.cases]
            if failure:
                final, record.message = "error", failure
            elif stopped:
                final = "stopped"
            elif any(v in ("fail", "error") for v in verdicts):
                final = "failed"
            else:
                final = "passed"
        if results:
            document = run_document(
                results,
                record.started_wall,
                f"panel: {record.label} (started by {record.started_by})",
                options,
                record.role,
            )
            try:
                await asyncio.to_thread(write_report, document, self.store.run_dir(record.id))
                record.report = True
            except OSError as exc:  # a full disk: the run keeps its verdicts, says why
                log.exception("report of run %s failed", record.id)
                record.message = (record.message + f"; report failed: {exc}").strip("; ")
        with self.live.cond:
            record.status = final  # last: "not running" means the report is there too
            record.finished = now_iso()
            self._handles.clear()
            if self.active is record:
                self.active = None
            self.live.version += 1
            self.live.cond.notify_all()
        self._save(record)
        log.info("run %s %s", record.id, record.status)
