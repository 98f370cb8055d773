"""The seam between the panel (Flask, one thread per request) and the bench (asyncio).

:class:`BenchApi` puts together, for one running bench seen through
:class:`~web.system_view.BenchView`:

* :mod:`web.loop_bridge`: calls from request threads into the bench's loop;
* :mod:`web.sampler` and :mod:`web.live_state`: what the panel reads (live values,
  the enriched trace, chart history, the activity log), published under one lock;
* :mod:`web.control`: the rig's hands, faults and OCPP operations;
* :mod:`web.catalogue` and :mod:`web.selections`: the scenarios and saved selections;
* :mod:`web.run_executor` and :mod:`web.runs`: runs, on a loop of their own so the
  live rig never waits for them, kept with their reports under ``STATE/web/runs``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.scenarios.registry import Scenario
from web import schemas
from web.catalogue import Catalogue
from web.control import FAULTS, METER_FAULTS, ManualControl
from web.errors import BenchError, RunBusy
from web.live_state import LiveState, filter_frames
from web.loop_bridge import LoopBridge
from web.run_executor import Runs
from web.runs import RunStore
from web.sampler import Sampler, TraceReader
from web.selections import Selections
from web.system_view import BenchView

__all__ = ["FAULTS", "METER_FAULTS", "BenchApi", "BenchError", "RunBusy"]


class BenchApi:
    """Thread-safe access to one running bench, its scenario catalogue and its runs."""

    def __init__(
        self,
        system: BenchView,
        loop: asyncio.AbstractEventLoop,
        state_dir: str | Path,
        *,
        runner: Callable[..., Any] | None = None,
        catalogue: Callable[[], dict[str, Scenario]] | None = None,
        sample_every_s: float = 0.25,
        default_speed: float = 1.0,
        call_timeout_s: float = 30.0,
    ) -> None:
        self.system = system
        self.loop = loop
        self.state_dir = Path(state_dir)
        web_dir = self.state_dir / "web"
        self.default_speed = default_speed
        self.live = LiveState()
        self.bridge = LoopBridge(loop)
        self.sampler = Sampler(system, self.live, sample_every_s)
        self.control = ManualControl(system, self.bridge, self.live, call_timeout_s)
        self.catalogue = Catalogue(catalogue, default_speed)
        self.selections_store = Selections(web_dir / "selections.json")
        self.runs_store = RunStore(web_dir / "runs")
        self.runs_dir = self.runs_store.dir
        self.run_manager = Runs(self.live, self.runs_store, runner)
        self._sampler_task: asyncio.Task | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> BenchApi:
        """Start the sampler on the bench's loop (callable from any thread)."""

        def begin() -> None:
            if self._sampler_task is None and not self.live.closed:
                self._sampler_task = self.loop.create_task(
                    self.sampler.run_forever(), name="panel sampler"
                )

        self.bridge.soon(begin)
        return self

    def close(self) -> None:
        """Stop the sampler; stop a run and wait for its rigs to go down."""
        self.live.close()
        task = self._sampler_task
        if task is not None and not self.loop.is_closed():
            self.bridge.soon(task.cancel)
        self.run_manager.close()

    @property
    def closed(self) -> bool:
        return self.live.closed

    @property
    def version(self) -> int:
        return self.live.version

    def wait_change(self, version: int, timeout: float) -> int:
        """Block until something changed since ``version`` (or ``timeout``); the new one."""
        return self.live.wait_change(version, timeout)

    def note(self, user: str, text: str) -> None:
        """Record who did what; every panel shows the activity log."""
        self.live.note(user, text)

    # --- what the panel reads ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The rig's live values, connector status and transactions, link and CSMS state."""
        snap = self.live.read_snapshot()
        snap["run"] = self.run_manager.active_json(detail=False)
        return snap

    def trace(
        self,
        since: int = 0,
        action: str | None = None,
        connector: int | None = None,
        limit: int | None = None,
        cp_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Enriched frames (``index``, ``cp_id``, ``connector``) from ``since`` on, optionally
        filtered by action, connector and charge point."""
        return self.live.read_trace(since, action, connector, limit, cp_id)

    def trace_download(
        self,
        since: int = 0,
        action: str | None = None,
        connector: int | None = None,
        cp_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`trace`, but frames memory has dropped come from the trace files."""
        live = self.live.read_trace(since)
        first = live[0]["index"] if live else self.live.trace_length()
        file = self.system.trace.file
        older: list[dict[str, Any]] = []
        if since < first and file is not None:  # lines not yet flushed are in memory
            stored = (f for f in file.read() if since <= f.get("index", -1) < first)
            older = TraceReader(self.system.cp_id).enrich_all(stored)
        return filter_frames(older + live, action, connector, cp_id)

    def trace_length(self) -> int:
        return self.live.trace_length()

    def history(self, since_seq: int = 0) -> dict[str, Any]:
        return self.live.read_history(since_seq)

    # --- manual control --------------------------------------------------------------------

    def plug(self, connector: Any, user: str = "?") -> None:
        self.control.plug(connector, user)

    def unplug(self, connector: Any, user: str = "?") -> None:
        self.control.unplug(connector, user)

    def ev_stop(self, connector: Any, user: str = "?") -> None:
        self.control.ev_stop(connector, user)

    def present_tag(self, uid: Any, hold_s: float = 0.8, user: str = "?") -> None:
        self.control.present_tag(uid, hold_s, user)

    def remove_tag(self, user: str = "?") -> None:
        self.control.remove_tag(user)

    def inject_fault(self, kind: str, user: str = "?", **params: Any) -> str:
        return self.control.inject_fault(kind, user, **params)

    def operations(self) -> list[str]:
        return schemas.actions()

    def send_operation(
        self, action: str, payload: Any, user: str = "?", cp_id: str | None = None
    ) -> dict[str, Any]:
        return self.control.send_operation(action, payload, user, cp_id)

    # --- catalogue and selections ---------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        return self.catalogue.filters()

    def pics_choices(self) -> list[str]:
        return self.catalogue.filters()["pics"]

    def list_cases(
        self,
        role: str | None = None,
        profile: str | None = None,
        pics: str | None = None,
        applicability: str | None = None,
    ) -> list[dict[str, Any]]:
        return self.catalogue.list_cases(role, profile, pics, applicability)

    def selections(self) -> dict[str, Any]:
        return self.selections_store.all()

    def save_selection(self, name: str, case_ids: list[str], user: str = "?") -> None:
        ids = self.catalogue.known_ids(case_ids)
        self.selections_store.save(name, ids, user)
        self.note(user, f"saved the selection {name!r} ({len(ids)} cases)")

    def delete_selection(self, name: str, user: str = "?") -> None:
        self.selections_store.delete(name)
        self.note(user, f"deleted the selection {name!r}")

    def resolve(
        self,
        cases: list[str] | None = None,
        role: str | None = None,
        profile: str | None = None,
        selection: str | None = None,
    ) -> list[str]:
        """Case ids for a run: given ids, a saved selection, or every case of a profile."""
        if cases:
            return self.catalogue.known_ids(cases)
        if selection:
            return self.catalogue.known_ids(self.selections_store.cases(selection))
        if profile:
            return self.catalogue.of_profile(profile, role)
        raise BenchError("name the cases, a saved selection or a profile")

    # --- runs -------------------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first (summaries)."""
        return self.run_manager.list()

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run with its cases and their step logs (live while it runs)."""
        return self.run_manager.get(run_id)

    def active_run(self) -> dict[str, Any] | None:
        return self.run_manager.active_json(detail=True)

    def report_file(self, run_id: str, name: str = "index.html") -> Path | None:
        return self.runs_store.report_file(run_id, name)

    def timeline(self, run_id: str, case_id: str) -> str | None:
        """The sequence chart (SVG) of a finished case of a run; None if there is none."""
        return self.runs_store.timeline(run_id, case_id)

    def start_run(
        self,
        case_ids: list[str],
        user: str = "?",
        pics: str | None = None,
        speed: float | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Start running ``case_ids`` (one run at a time: :class:`RunBusy` otherwise)."""
        ids = self.catalogue.known_ids(case_ids)
        catalogue = self.catalogue.cases()
        cases = [catalogue[i] for i in ids]
        roles = {c.role for c in cases}
        if len(roles) > 1:
            raise BenchError("a run tests one device: choose cs cases or csms cases, not both")
        self.catalogue.check_pics(pics)
        used_pics = self.catalogue.pics_for(cases[0].role, pics)
        speed = self.default_speed if speed is None else float(speed)
        if not 0.25 <= speed <= 20:
            raise BenchError("speed must be between 0.25 and 20")
        label = label or (ids[0] if len(ids) == 1 else f"{len(ids)} cases")
        record = self.run_manager.start(cases, user, used_pics, speed, label)
        self.note(user, f"started run {record['id']}: {label}")
        return record

    def stop_run(self, run_id: str | None = None, user: str = "?") -> dict[str, Any]:
        record = self.run_manager.stop(run_id, user)
        self.note(user, f"stopped run {record['id']}")
        return record

    def delete_run(self, run_id: str, user: str = "?") -> None:
        self.run_manager.delete(run_id)
        self.note(user, f"deleted run {run_id}")
