"""The seam between the panel (Flask, one thread per request) and the bench (asyncio).

:class:`BenchApi` holds a running :class:`~bench.system.BenchSystem` and the event
loop it lives on. Every method may be called from any thread: what touches the
bench runs on its loop (``call_soon_threadsafe`` / ``run_coroutine_threadsafe``),
and what the panel reads (the rig's live values, the enriched OCPP trace, chart
history, runs) is copied by a sampler task on the loop into plain data guarded by
one lock. Panel threads never read the bench's objects directly.

Scenario runs use :func:`bench.scenarios.runner.run_cases` on the same loop; every
case builds its own fresh simulated rig, so the live rig is never touched by a run.
Runs are shared by all users and kept, with their report, under ``STATE/web/runs``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import re
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.pics import SHIPPED, load_pics
from charger.protocol.errors import CallErrorReceived, NotConnected
from web import schemas

log = logging.getLogger("web.bench_api")

FAULTS = (
    "link_cut",
    "link_restore",
    "meter",
    "power_loss",
    "power_restore",
    "csms_stop",
    "csms_start",
    "agent_kill",
    "agent_start",
)
METER_FAULTS = (None, "timeout", "exception")
HISTORY_MAX = 4000  # chart points per connector, thinned beyond that
TRACE_KEEP = 200_000  # frames the panel keeps (the oldest tenth goes beyond that)
ACTIVITY_MAX = 100
RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$")
REPORT_FILES = ("index.html", "results.json", "junit.xml")
SELECTION_NAME = re.compile(r"^[\w .:-]{1,60}$")


class BenchError(Exception):
    """A request the bench cannot carry out; ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class RunBusy(BenchError):
    status = 409


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class CaseProgress:
    id: str
    title: str
    role: str
    profile: str
    state: str = "pending"  # pending | running | pass | fail | error | n/a | stopped | skipped
    duration_s: float | None = None
    message: str = ""
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    began: float | None = None  # time.monotonic() when it started

    def to_json(self, steps: bool) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("began")
        if self.state == "running" and self.began is not None:
            data["duration_s"] = round(time.monotonic() - self.began, 1)
        if not steps:
            data.pop("steps")
            data["step_count"] = len(self.steps)
        return data


@dataclasses.dataclass
class RunRecord:
    id: str
    label: str
    started_by: str
    started: str
    role: str
    pics: str | None
    speed: float
    cases: list[CaseProgress]
    status: str = "running"  # running | passed | failed | stopped | error | interrupted
    finished: str | None = None
    stopped_by: str | None = None
    message: str = ""
    report: bool = False
    # not serialised
    started_wall: float = 0.0
    task: asyncio.Task | None = None
    stop_requested: bool = False
    handles: dict[str, Any] = dataclasses.field(default_factory=dict)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for case in self.cases:
            out[case.state] = out.get(case.state, 0) + 1
        return out

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        done = sum(c.state not in ("pending", "running") for c in self.cases)
        data = {
            "id": self.id,
            "label": self.label,
            "started_by": self.started_by,
            "started": self.started,
            "finished": self.finished,
            "role": self.role,
            "pics": self.pics,
            "speed": self.speed,
            "status": self.status,
            "stopped_by": self.stopped_by,
            "message": self.message,
            "report": self.report,
            "total": len(self.cases),
            "done": done,
            "counts": self.counts(),
            "current": next((c.id for c in self.cases if c.state == "running"), None),
        }
        if detail:
            data["cases"] = [c.to_json(steps=True) for c in self.cases]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        cases = [
            CaseProgress(
                id=c["id"],
                title=c.get("title", ""),
                role=c.get("role", "cs"),
                profile=c.get("profile", ""),
                state=c.get("state", "pending"),
                duration_s=c.get("duration_s"),
                message=c.get("message", ""),
                steps=list(c.get("steps") or []),
            )
            for c in data.get("cases", [])
        ]
        record = cls(
            id=data["id"],
            label=data.get("label", ""),
            started_by=data.get("started_by", "?"),
            started=data.get("started", ""),
            role=data.get("role", "cs"),
            pics=data.get("pics"),
            speed=float(data.get("speed", 1.0)),
            cases=cases,
            status=data.get("status", "interrupted"),
            finished=data.get("finished"),
            stopped_by=data.get("stopped_by"),
            message=data.get("message", ""),
            report=bool(data.get("report")),
        )
        if record.status == "running":  # the bench stopped while it ran
            record.status = "interrupted"
            for case in record.cases:
                if case.state in ("pending", "running"):
                    case.state = "skipped" if case.state == "pending" else "stopped"
        return record


class BenchApi:
    """Thread-safe access to one running bench, its scenario catalogue and its runs."""

    def __init__(
        self,
        system: Any,
        loop: asyncio.AbstractEventLoop,
        state_dir: str | Path,
        *,
        runner: Callable[..., Any] | None = None,
        catalogue: Callable[[], dict[str, Any]] | None = None,
        sample_every_s: float = 0.25,
        default_speed: float = 1.0,
        call_timeout_s: float = 30.0,
    ) -> None:
        self.system = system
        self.loop = loop
        self.state_dir = Path(state_dir)
        self.web_dir = self.state_dir / "web"
        self.runs_dir = self.web_dir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.sample_every_s = sample_every_s
        self.default_speed = default_speed
        self.call_timeout_s = call_timeout_s
        self._runner = runner
        self._catalogue = catalogue
        self._cond = threading.Condition()
        self.version = 0  # bumped on every change the panel should see
        self.closed = False
        self._sampler: asyncio.Task | None = None
        # --- what the sampler publishes (read under self._cond) ---
        self._snapshot: dict[str, Any] = {}
        self._frames: list[dict[str, Any]] = []
        self._frames_offset = 0  # index of self._frames[0] in the bench's trace
        self._history: dict[str, dict[str, Any]] = {}
        self._history_seq = 0
        self._activity: deque[dict[str, Any]] = deque(maxlen=ACTIVITY_MAX)
        self._runs: dict[str, RunRecord] = {}
        self._active: RunRecord | None = None
        # --- loop-side state of the trace scan (loop thread only) ---
        self._seen = 0
        self._calls: dict[tuple[str, str], tuple[str | None, int | None]] = {}
        self._tx_connector: dict[int, int] = {}
        self._status: dict[int, dict[str, Any]] = {}
        self._schedules: dict[int, dict[str, Any]] = {}  # the charger's GetCompositeSchedule
        self._composite: dict[int, dict[str, Any] | None] = {}  # the CSMS's, when it has one
        self._composite_at = 0.0
        self._plugged: dict[int, bool] = {}
        self._transactions: list[dict[str, Any]] = []
        self._tx_refresh = 0.0
        self._csms_stopped = False
        self._pics_cache: dict[str, dict[str, Any]] = {}
        self._load_runs()

    # ------------------------------------------------------------------ plumbing

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def _call(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run ``fn(*args)`` on the bench's loop and return its result."""
        if self._on_loop_thread():
            return fn(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def _await(self, coro_fn: Callable[[], Any], timeout: float) -> Any:
        """Run the coroutine ``coro_fn()`` on the bench's loop; wait up to ``timeout`` s."""
        if self._on_loop_thread():
            raise RuntimeError("BenchApi: blocking call made on the bench's own loop")
        future = asyncio.run_coroutine_threadsafe(coro_fn(), self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _bump(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait_change(self, version: int, timeout: float) -> int:
        """Block until :attr:`version` differs from ``version`` (or ``timeout``); the new one."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return self.version

    def note(self, user: str, text: str) -> None:
        """Record who did what; every panel shows the activity log."""
        with self._cond:
            self._activity.append({"at": _now_iso(), "user": user, "text": text})
            self.version += 1
            self._cond.notify_all()
        log.info("panel: %s: %s", user, text)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BenchApi:
        """Start the sampler on the bench's loop (callable from any thread)."""

        def begin() -> None:
            if self._sampler is None and not self.closed:
                self._sampler = self.loop.create_task(self._sample_forever(), name="panel sampler")

        if self._on_loop_thread():
            begin()
        else:
            self.loop.call_soon_threadsafe(begin)
        return self

    def close(self) -> None:
        """Stop the sampler and any run; never blocks on the loop."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        active = self._active

        def cancel() -> None:
            if self._sampler is not None:
                self._sampler.cancel()
            if active is not None and active.task is not None:
                active.stop_requested = True
                active.stopped_by = active.stopped_by or "panel shutdown"
                active.task.cancel()

        with contextlib.suppress(RuntimeError):  # loop already closed
            if self._on_loop_thread():
                cancel()
            else:
                self.loop.call_soon_threadsafe(cancel)

    async def _sample_forever(self) -> None:
        while True:
            try:
                self._sample()
            except Exception:  # noqa: BLE001 - the panel must outlive one bad sample
                log.exception("panel sampler failed")
            await asyncio.sleep(self.sample_every_s)

    # ------------------------------------------------------------------ sampling (loop)

    def _sample(self) -> None:
        frames = self._scan_trace()
        snapshot = self._build_snapshot(bool(frames))
        points = self._history_points(snapshot)
        run = self._active
        live_steps = {}
        if run is not None:
            for case_id, handle in list(run.handles.items()):
                steps = getattr(handle, "steps", None)
                if steps is not None:
                    live_steps[case_id] = [{"t": t, "text": text} for t, text in list(steps)]
        with self._cond:
            self._frames.extend(frames)
            if len(self._frames) > TRACE_KEEP:
                drop = len(self._frames) - TRACE_KEEP + TRACE_KEEP // 10
                del self._frames[:drop]
                self._frames_offset += drop
            self._snapshot = snapshot
            for cid, point in points:
                self._add_point(cid, point)
            if run is not None:
                for case in run.cases:
                    if case.state == "running" and case.id in live_steps:
                        case.steps = live_steps[case.id]
            self.version += 1
            self._cond.notify_all()

    def _scan_trace(self) -> list[dict[str, Any]]:
        trace = self.system.trace
        new = trace[self._seen :]
        out = []
        for offset, frame in enumerate(new):
            out.append(self._enrich(self._seen + offset, frame))
        self._seen += len(new)
        return out

    def _enrich(self, index: int, frame: dict[str, Any]) -> dict[str, Any]:
        sender = frame.get("sender")
        mtype = frame.get("message_type")
        uid = str(frame.get("unique_id"))
        payload = frame.get("payload")
        body = payload if isinstance(payload, dict) else {}
        action = frame.get("action")
        connector = body.get("connectorId") if isinstance(body.get("connectorId"), int) else None
        if connector is None and isinstance(body.get("transactionId"), int):
            connector = self._tx_connector.get(body["transactionId"])
        if mtype == 2:
            self._calls[(str(sender), uid)] = (action, connector)
        elif mtype in (3, 4):
            caller = "bench" if sender == "dut" else "dut"
            call_action, call_connector = self._calls.get((caller, uid), (None, None))
            action = action or call_action
            if connector is None:
                connector = call_connector
            if mtype == 3 and action == "StartTransaction" and call_connector is not None:
                tx = body.get("transactionId")
                if isinstance(tx, int):
                    self._tx_connector[tx] = call_connector
            if action == "GetCompositeSchedule" and sender == "dut":
                self._schedule_answer(call_connector, mtype, body, frame.get("ts"))
        if (
            mtype == 2
            and sender == "dut"
            and action == "StatusNotification"
            and connector is not None
        ):
            self._status[connector] = {
                "status": body.get("status"),
                "error_code": body.get("errorCode"),
                "info": body.get("info"),
                "ts": frame.get("ts"),
            }
        if action in ("StartTransaction", "StopTransaction"):
            self._tx_refresh = 0.0  # re-read the CSMS's transactions now
        return {
            "index": index,
            "ts": frame.get("ts"),
            "sender": sender,
            "message_type": mtype,
            "unique_id": uid,
            "action": action,
            "connector": connector,
            "payload": payload,
        }

    def _schedule_answer(
        self, connector: int | None, mtype: int, body: dict[str, Any], ts: Any
    ) -> None:
        key = connector if connector is not None else 0
        if mtype == 4:
            self._schedules[key] = {
                "connector": key,
                "received": ts,
                "status": "CALLERROR " + str(body.get("errorCode")),
            }
            return
        self._schedules[key] = {
            "connector": key,
            "received": ts,
            "status": body.get("status"),
            "schedule_start": body.get("scheduleStart"),
            "charging_schedule": body.get("chargingSchedule"),
        }

    def _csms_running(self) -> bool:
        return self.system.csms is not None and not self._csms_stopped

    def _build_snapshot(self, trace_moved: bool) -> dict[str, Any]:
        system = self.system
        clock = system.clock
        now = clock.time()
        rig: dict[str, Any] | None = None
        rig_error = None
        if getattr(system, "hardware", None) is None:
            try:
                rig = system.rig.snapshot()
            except Exception as exc:  # noqa: BLE001 - twins not started yet, or stopping
                rig_error = f"{type(exc).__name__}: {exc}"
        csms_up = self._csms_running()
        if csms_up and (trace_moved or now - self._tx_refresh > 5.0 * clock.speed):
            try:
                self._transactions = system.csms.transactions(system.cp_id)
                self._tx_refresh = now
            except Exception:  # noqa: BLE001 - the CSMS's database is closed while it is down
                pass
        connectors: dict[str, Any] = {}
        ids = list(getattr(system.rig, "connector_ids", [])) or sorted(self._status)
        self._refresh_composite(ids, trace_moved, now)
        for cid in ids:
            entry: dict[str, Any] = {"id": cid}
            if rig is not None:
                entry.update(rig["connectors"].get(cid, {}))
                entry.update(self._ev_details(cid))
            status = self._status.get(cid)
            entry["status"] = status["status"] if status else None
            entry["error_code"] = status["error_code"] if status else None
            entry["status_info"] = status["info"] if status else None
            entry["transaction"] = self._transaction_of(cid, entry.get("meter_wh"))
            connectors[str(cid)] = entry
        csms_connected = False
        if csms_up:
            with contextlib.suppress(Exception):
                csms_connected = bool(system.csms.connected(system.cp_id))
        agent = getattr(system, "agent", None)
        proxy = getattr(system, "proxy", None)
        parts = [dataclasses.asdict(p) for p in getattr(system, "hardware_health", list)()]
        broken = [p for p in parts if not p["ok"]]
        if broken and rig_error is None:  # the rig view's error line names them, with the fix
            rig_error = "; ".join(
                f"{p['part']} ({p['where']}): {p['problem']} -> {p['fix']}" for p in broken
            )
        return {
            "t": round(now, 3),
            "speed": clock.speed,
            "cp_id": system.cp_id,
            "rig": "real" if getattr(system, "hardware", None) is not None else "simulated",
            "rig_error": rig_error,
            "parts": parts,
            "powered": rig["powered"] if rig is not None else None,
            "link_up": bool(proxy.up) if proxy is not None else None,
            "csms_up": csms_up,
            "cp_connected": csms_connected,
            "agent_running": bool(agent.running) if agent is not None else False,
            "agent_pid": agent.pid if agent is not None else None,
            "connectors": connectors,
            "schedules": {str(k): v for k, v in self._schedules.items()},
            "composite": {
                str(k): {
                    "source": "csms",
                    "schedule_start": v.get("startSchedule"),
                    "charging_schedule": v,
                }
                for k, v in self._composite.items()
                if v
            },
        }

    def _refresh_composite(self, ids: list[int], trace_moved: bool, now: float) -> None:
        """The composite schedule in force per connector, if the CSMS can compute one.

        Uses the CSMS's ``predict_composite(cp_id, connector, duration)`` (the schedule
        its charging profiles give) when it has that method; else there is none.
        """
        csms = self.system.csms
        predict = getattr(csms, "predict_composite", None) if self._csms_running() else None
        if predict is None:
            self._composite = {}
            return
        if not trace_moved and now - self._composite_at < 5.0 * self.system.clock.speed:
            return
        self._composite_at = now
        for cid in ids:
            try:
                schedule = predict(self.system.cp_id, cid, 24 * 3600)
            except Exception:  # noqa: BLE001 - no schedule rather than a broken panel
                log.debug("composite schedule of connector %s failed", cid, exc_info=True)
                schedule = None
            periods = schedule.get("chargingSchedulePeriod") if isinstance(schedule, dict) else None
            self._composite[cid] = schedule if periods else None

    def _ev_details(self, cid: int) -> dict[str, Any]:
        rig = self.system.rig
        out: dict[str, Any] = {}
        ev = getattr(rig, "evs", {}).get(cid)
        if ev is not None:
            with contextlib.suppress(Exception):
                out["requested_current_a"] = round(float(ev.target_current_a), 1)
                out["requested_voltage_v"] = round(float(ev.target_voltage_v), 1)
                out["ev_contactor"] = bool(ev.ev_contactor_closed)
                out["ev_error"] = ev.error
                out["target_soc"] = ev.target_soc_percent
        power = getattr(rig, "power", None)
        if power is not None:
            with contextlib.suppress(Exception):
                sp = power.module_setpoint(cid)
                out["setpoint"] = {
                    "voltage_v": round(float(sp.voltage_v), 1),
                    "current_a": round(float(sp.current_a), 1),
                    "enabled": bool(sp.enable),
                    "power_w": round(float(sp.voltage_v) * float(sp.current_a)) if sp.enable else 0,
                }
        return out

    def _transaction_of(self, cid: int, meter_wh: Any) -> dict[str, Any] | None:
        mine = [t for t in self._transactions if t.get("connector_id") == cid]
        if not mine:
            return None
        tx = mine[-1]
        active = tx.get("stop_ts") is None
        if active and isinstance(meter_wh, int | float):
            energy = round(meter_wh - tx["meter_start"])
        elif not active and tx.get("meter_stop") is not None:
            energy = tx["meter_stop"] - tx["meter_start"]
        else:
            energy = None
        return {
            "id": tx["id"],
            "id_tag": tx.get("id_tag"),
            "active": active,
            "start_ts": tx.get("start_ts"),
            "stop_ts": tx.get("stop_ts"),
            "stop_reason": tx.get("stop_reason"),
            "meter_start": tx.get("meter_start"),
            "energy_wh": energy,
        }

    def _history_points(self, snapshot: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        points = []
        for cid, c in snapshot["connectors"].items():
            plugged = bool(c.get("plugged"))
            was = self._plugged.get(cid, False)
            self._plugged[cid] = plugged
            if plugged and not was:
                points.append((cid, {"new_session": True}))
            if plugged and "power_w" in c:
                points.append(
                    (
                        cid,
                        {
                            "t": snapshot["t"],
                            "power_w": c["power_w"],
                            "current_a": c["current_a"],
                            "voltage_v": c["voltage_v"],
                            "soc": c["soc"],
                        },
                    )
                )
        return points

    def _add_point(self, cid: str, point: dict[str, Any]) -> None:
        """Under self._cond."""
        hist = self._history.setdefault(cid, {"session": 0, "points": []})
        if point.get("new_session"):
            hist["session"] += 1
            hist["points"] = []
            return
        self._history_seq += 1
        hist["points"].append({"seq": self._history_seq, **point})
        if len(hist["points"]) > HISTORY_MAX:
            old = hist["points"][: HISTORY_MAX // 2]
            hist["points"] = old[::2] + hist["points"][HISTORY_MAX // 2 :]

    # ------------------------------------------------------------------ reading (any thread)

    def snapshot(self) -> dict[str, Any]:
        """The rig's live values, connector status and transactions, link and CSMS state."""
        with self._cond:
            snap = dict(self._snapshot)
            snap["activity"] = list(self._activity)[-20:]
            snap["run"] = self._active.to_json() if self._active else None
            return snap

    def trace(
        self,
        since: int = 0,
        action: str | None = None,
        connector: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Enriched frames (``index``, ``connector``) from ``since`` on, optionally filtered."""
        with self._cond:
            frames = self._frames[max(0, since - self._frames_offset) :]
        if action:
            frames = [f for f in frames if f["action"] == action]
        if connector is not None:
            frames = [f for f in frames if f["connector"] == connector]
        if limit is not None and len(frames) > limit:
            frames = frames[-limit:]
        return frames

    def trace_length(self) -> int:
        """The index the next frame will have."""
        with self._cond:
            return self._frames_offset + len(self._frames)

    def history(self, since_seq: int = 0) -> dict[str, Any]:
        """Chart points of each connector's current (or last) session after ``since_seq``."""
        with self._cond:
            return {
                cid: {
                    "session": h["session"],
                    "points": [p for p in h["points"] if p["seq"] > since_seq],
                }
                for cid, h in self._history.items()
            }

    # ------------------------------------------------------------------ rig and faults

    def _sim_rig(self) -> Any:
        if getattr(self.system, "hardware", None) is not None:
            raise BenchError("this bench drives a real rig: do that by hand at the rig", 409)
        return self.system.rig

    def _connector(self, connector: Any) -> int:
        try:
            cid = int(connector)
        except (TypeError, ValueError):
            raise BenchError(f"connector must be a number, not {connector!r}") from None
        if cid not in getattr(self.system.rig, "connector_ids", []):
            raise BenchError(f"no connector {cid} on this rig", 404)
        return cid

    def plug(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._call(self._sim_rig().plug, cid)
        self.note(user, f"plugged the EV into connector {cid}")

    def unplug(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._call(self._sim_rig().unplug, cid)
        self.note(user, f"unplugged the EV from connector {cid}")

    def ev_stop(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._call(self._sim_rig().ev_stop, cid)
        self.note(user, f"EV on connector {cid} asked to stop charging")

    def present_tag(self, uid: str, hold_s: float = 0.8, user: str = "?") -> None:
        """Hold RFID card ``uid`` to the reader for ``hold_s`` simulated seconds."""
        rig = self._sim_rig()
        if not isinstance(uid, str):
            raise BenchError("the tag uid must be a string")
        hold = min(max(float(hold_s), 0.1), 30.0)
        try:
            self._call(rig.present_tag, uid)
        except ValueError as exc:
            raise BenchError(str(exc)) from None

        def later() -> None:
            self.loop.call_later(self.system.clock.wall(hold), rig.remove_tag)

        self._call(later)
        self.note(user, f"presented RFID {uid.strip().upper()}")

    def remove_tag(self, user: str = "?") -> None:
        self._call(self._sim_rig().remove_tag)

    def inject_fault(self, kind: str, user: str = "?", **params: Any) -> str:
        """One of :data:`FAULTS`; returns what was done, in words."""
        system = self.system
        if kind not in FAULTS:
            raise BenchError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if kind in ("link_cut", "link_restore"):
            if system.proxy is None:
                raise BenchError("the link proxy is not running", 409)
            self._call(system.proxy.cut if kind == "link_cut" else system.proxy.restore)
            text = "cut the link CSMS-charger" if kind == "link_cut" else "restored the link"
        elif kind == "meter":
            cid = self._connector(params.get("connector"))
            fault = params.get("fault") or None
            if fault not in METER_FAULTS:
                raise BenchError("meter fault must be none, timeout or exception")
            rig = self._sim_rig()
            self._call(rig.meters[cid].set_fault, fault)
            text = f"meter on connector {cid}: " + (f"fault {fault}" if fault else "healthy")
        elif kind == "power_loss":
            self._sim_rig()
            self._call(system.power_loss)
            text = "power loss (agent killed, charger unpowered)"
        elif kind == "power_restore":
            self._sim_rig()
            self._call(system.power_restore)
            text = "power restored"
        elif kind == "agent_kill":
            self._call(system.kill_agent)
            text = "killed the agent process"
        elif kind == "agent_start":
            self._call(system.start_agent)
            text = "started the agent process"
        elif kind == "csms_stop":
            if not self._csms_running():
                raise BenchError("the CSMS is already stopped", 409)
            self._csms_stopped = True
            self._await(system.stop_csms, timeout=15)
            text = "stopped the CSMS"
        else:  # csms_start
            if self._csms_running():
                raise BenchError("the CSMS is already running", 409)
            self._await(system.start_csms, timeout=15)
            self._csms_stopped = False
            text = "started the CSMS"
        self.note(user, text)
        return text

    # ------------------------------------------------------------------ OCPP operations

    def operations(self) -> list[str]:
        return schemas.actions()

    def send_operation(self, action: str, payload: Any, user: str = "?") -> dict[str, Any]:
        """Validate ``payload`` against the action's 1.6 schema and send it through the CSMS.

        Returns ``{"result": ...}`` for a CALLRESULT, ``{"callerror": {...}}`` for a
        CALLERROR. Raises :class:`~web.schemas.PayloadInvalid`, or :class:`BenchError`
        (409 not connected, 504 no answer).
        """
        if action not in schemas.CSMS_ACTIONS:
            raise BenchError(f"{action!r} is not an operation the CSMS sends", 404)
        if not isinstance(payload, dict):
            raise schemas.PayloadInvalid(
                action, [{"path": "(payload)", "message": "not an object"}]
            )
        request = schemas.to_call(action, payload)
        if not self._csms_running():
            raise BenchError("the CSMS is stopped", 409)
        system = self.system
        self.note(user, f"sent {action} {json.dumps(payload, separators=(',', ':'))[:200]}")

        async def send() -> dict[str, Any]:
            return await asyncio.wait_for(
                system.csms.call(system.cp_id, request), system.clock.wall(self.call_timeout_s)
            )

        try:
            result = self._await(send, timeout=system.clock.wall(self.call_timeout_s) + 5)
        except NotConnected as exc:
            raise BenchError(f"the charge point is not connected: {exc}", 409) from None
        except CallErrorReceived as exc:
            return {
                "callerror": {
                    "errorCode": exc.code,
                    "errorDescription": exc.description,
                    "errorDetails": exc.details,
                }
            }
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise BenchError(
                f"no answer to {action} within {self.call_timeout_s:g} s", 504
            ) from None
        return {"result": result}

    # ------------------------------------------------------------------ catalogue

    def _cases(self) -> dict[str, Any]:
        if self._catalogue is not None:
            return self._catalogue()
        from bench.scenarios.registry import all_scenarios

        return all_scenarios()

    def _pics(self, name: str) -> dict[str, Any]:
        if name not in self._pics_cache:
            self._pics_cache[name] = load_pics(name)
        return self._pics_cache[name]

    @staticmethod
    def pics_choices() -> list[str]:
        return list(SHIPPED)

    def filters(self) -> dict[str, Any]:
        from bench.scenarios.registry import PROFILES, ROLES

        return {
            "roles": list(ROLES),
            "profiles": list(PROFILES),
            "pics": self.pics_choices(),
            "speed": self.default_speed,
        }

    def _pics_for(self, role: str, pics: str | None) -> str:
        if pics:
            items = self._pics(pics)
            if items.get("_role") == role:
                return pics
        return "agent" if role == "cs" else "csms"

    def list_cases(
        self,
        role: str | None = None,
        profile: str | None = None,
        pics: str | None = None,
        applicability: str | None = None,
    ) -> list[dict[str, Any]]:
        """The catalogue, filtered; ``applicability``: None/"all", "applicable" or "na".

        A case is judged against ``pics`` when that PICS is for the case's role, else
        against the role's default (``agent`` for cs cases, ``csms`` for csms cases).
        """
        if pics and pics not in SHIPPED:
            raise BenchError(f"unknown PICS {pics!r}; one of {', '.join(SHIPPED)}")
        out = []
        for case in self._cases().values():
            if role and case.role != role:
                continue
            if profile and case.profile != profile:
                continue
            used = self._pics_for(case.role, pics)
            missing = case.missing(self._pics(used))
            if applicability == "applicable" and missing:
                continue
            if applicability == "na" and not missing:
                continue
            out.append(
                {
                    "id": case.id,
                    "title": case.title,
                    "role": case.role,
                    "profile": case.profile,
                    "requires": list(case.requires),
                    "applicable": not missing,
                    "missing": missing,
                    "pics": used,
                }
            )
        return out

    # ------------------------------------------------------------------ selections

    def _selections_file(self) -> Path:
        return self.web_dir / "selections.json"

    def selections(self) -> dict[str, Any]:
        path = self._selections_file()
        with self._cond:
            if not path.exists():
                return {}
            return json.loads(path.read_text(encoding="utf-8"))

    def save_selection(self, name: str, case_ids: list[str], user: str = "?") -> None:
        if not isinstance(name, str) or not SELECTION_NAME.match(name):
            raise BenchError("a selection name is 1-60 letters, digits, spaces or . : _ -")
        ids = self._known_ids(case_ids)
        with self._cond:
            data = self.selections() if self._selections_file().exists() else {}
            data[name] = {"cases": ids, "saved_by": user, "saved": _now_iso()}
            tmp = self._selections_file().with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            tmp.replace(self._selections_file())
        self.note(user, f"saved the selection {name!r} ({len(ids)} cases)")

    def delete_selection(self, name: str, user: str = "?") -> None:
        with self._cond:
            data = self.selections()
            if name not in data:
                raise BenchError(f"no selection {name!r}", 404)
            del data[name]
            self._selections_file().write_text(json.dumps(data, indent=2) + "\n")
        self.note(user, f"deleted the selection {name!r}")

    def _known_ids(self, case_ids: Any) -> list[str]:
        if not isinstance(case_ids, list) or not all(isinstance(i, str) for i in case_ids):
            raise BenchError("cases must be a list of scenario ids")
        known = self._cases()
        unknown = [i for i in case_ids if i not in known]
        if unknown:
            raise BenchError(f"unknown scenario(s): {', '.join(unknown)}", 404)
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            raise BenchError("no scenario selected")
        return ids

    def resolve(
        self,
        cases: list[str] | None = None,
        role: str | None = None,
        profile: str | None = None,
        selection: str | None = None,
    ) -> list[str]:
        """Case ids for a run: given ids, a saved selection, or every case of a profile."""
        if cases:
            return self._known_ids(cases)
        if selection:
            saved = self.selections().get(selection)
            if saved is None:
                raise BenchError(f"no selection {selection!r}", 404)
            return self._known_ids(saved["cases"])
        if profile:
            ids = [
                c.id
                for c in self._cases().values()
                if c.profile == profile and (not role or c.role == role)
            ]
            if not ids:
                raise BenchError(
                    f"no scenario in profile {profile!r}" + (f" for {role}" if role else "")
                )
            return ids
        raise BenchError("name the cases, a saved selection or a profile")

    # ------------------------------------------------------------------ runs

    def _load_runs(self) -> None:
        for path in sorted(self.runs_dir.glob("*/run.json")):
            try:
                record = RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, OSError) as exc:
                log.warning("skipping unreadable run %s: %s", path, exc)
                continue
            self._runs[record.id] = record

    def _save_run(self, record: RunRecord) -> None:
        directory = self.runs_dir / record.id
        directory.mkdir(parents=True, exist_ok=True)
        with self._cond:
            text = json.dumps(record.to_json(detail=True), indent=1) + "\n"
        tmp = directory / "run.json.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(directory / "run.json")

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first (summaries)."""
        with self._cond:
            return [
                r.to_json() for r in sorted(self._runs.values(), key=lambda r: r.id, reverse=True)
            ]

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run with its cases and their step logs (live while it runs)."""
        with self._cond:
            record = self._runs.get(run_id)
            return record.to_json(detail=True) if record else None

    def active_run(self) -> dict[str, Any] | None:
        with self._cond:
            return self._active.to_json(detail=True) if self._active else None

    def report_file(self, run_id: str, name: str = "index.html") -> Path | None:
        """The path of one of a run's report files, if it exists."""
        if not RUN_ID.match(run_id) or name not in REPORT_FILES:
            return None
        path = self.runs_dir / run_id / name
        return path if path.is_file() else None

    def start_run(
        self,
        case_ids: list[str],
        user: str = "?",
        pics: str | None = None,
        speed: float | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Start running ``case_ids`` on the bench's loop; one run at a time.

        Raises :class:`RunBusy` while another run is going on.
        """
        ids = self._known_ids(case_ids)
        catalogue = self._cases()
        cases = [catalogue[i] for i in ids]
        roles = {c.role for c in cases}
        if len(roles) > 1:
            raise BenchError("a run tests one device: choose cs cases or csms cases, not both")
        role = roles.pop()
        if pics and pics not in SHIPPED:
            raise BenchError(f"unknown PICS {pics!r}")
        used_pics = self._pics_for(role, pics)
        speed = self.default_speed if speed is None else float(speed)
        if not 0.25 <= speed <= 20:
            raise BenchError("speed must be between 0.25 and 20")
        run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        record = RunRecord(
            id=run_id,
            label=label or (ids[0] if len(ids) == 1 else f"{len(ids)} cases"),
            started_by=user,
            started=_now_iso(),
            role=role,
            pics=used_pics,
            speed=speed,
            cases=[CaseProgress(c.id, c.title, c.role, c.profile) for c in cases],
            started_wall=time.time(),
        )
        with self._cond:
            if self._active is not None:
                raise RunBusy(
                    f"run {self._active.id} ({self._active.label}) started by "
                    f"{self._active.started_by} is still going on"
                )
            if self.closed:
                raise BenchError("the panel is shutting down", 503)
            self._active = record
            self._runs[record.id] = record
            self.version += 1
            self._cond.notify_all()
        self._save_run(record)
        asyncio.run_coroutine_threadsafe(self._execute(record, cases), self.loop)
        self.note(user, f"started run {run_id}: {record.label}")
        return record.to_json()

    def stop_run(self, run_id: str | None = None, user: str = "?") -> dict[str, Any]:
        with self._cond:
            record = self._active
            if record is None or (run_id and record.id != run_id):
                raise BenchError("that run is not running", 409)
            record.stop_requested = True
            record.stopped_by = user
            self.version += 1
            self._cond.notify_all()

        def cancel() -> None:
            if record.task is not None:
                record.task.cancel()

        self.loop.call_soon_threadsafe(cancel)
        self.note(user, f"stopped run {record.id}")
        return record.to_json()

    def _watched(self, record: RunRecord, case: Any) -> Any:
        """The case with a function that lets the panel see its handle (live steps)."""
        original = case.fn

        async def fn(handle: Any) -> Any:
            record.handles[case.id] = handle
            return await original(handle)

        return dataclasses.replace(case, fn=fn)

    def _progress(self, record: RunRecord) -> Callable[..., None]:
        by_id = {c.id: c for c in record.cases}

        def on_progress(n: int, total: int, case: Any, result: Any) -> None:
            with self._cond:
                progress = by_id[case.id]
                if result is None:
                    progress.state = "running"
                    progress.began = time.monotonic()
                else:
                    record.results[case.id] = result
                    record.handles.pop(case.id, None)
                    progress.state = result.verdict
                    progress.duration_s = result.duration_s
                    progress.message = str(result.details.get("message", ""))
                    progress.steps = list(result.steps)
                self.version += 1
                self._cond.notify_all()
            if result is not None:
                self._save_run(record)

        return on_progress

    async def _execute(self, record: RunRecord, cases: list[Any]) -> None:
        from bench.scenarios.runner import CaseResult, RunOptions, run_cases, run_document

        record.task = asyncio.current_task()
        runner = self._runner or run_cases
        options = RunOptions(pics=record.pics, speed=record.speed)
        stopped = record.stop_requested
        failure = None
        try:
            if not stopped:
                await runner(
                    [self._watched(record, c) for c in cases], options, self._progress(record)
                )
        except asyncio.CancelledError:
            stopped = True
        except Exception as exc:  # noqa: BLE001 - a broken runner ends the run, not the panel
            log.exception("run %s failed", record.id)
            failure = f"{type(exc).__name__}: {exc}"
        results = []
        with self._cond:
            for progress in record.cases:
                result = record.results.get(progress.id)
                if result is not None:
                    results.append(result)
                elif progress.state == "running":
                    progress.state = "stopped"
                    progress.message = f"stopped from the panel by {record.stopped_by or '?'}"
                    duration = time.monotonic() - (progress.began or time.monotonic())
                    progress.duration_s = round(duration, 3)
                    results.append(
                        CaseResult(
                            progress.id,
                            "error",
                            progress.duration_s,
                            details={"message": progress.message},
                            title=progress.title,
                            role=progress.role,
                            profile=progress.profile,
                            steps=list(progress.steps),
                        )
                    )
                elif progress.state == "pending":
                    progress.state = "skipped"
            verdicts = [r.verdict for r in results]
            if failure:
                final, record.message = "error", failure
            elif stopped:
                final = "stopped"
            elif any(v in ("fail", "error") for v in verdicts):
                final = "failed"
            else:
                final = "passed"
        if results:
            try:
                document = run_document(
                    results,
                    record.started_wall,
                    f"panel: {record.label} (started by {record.started_by})",
                    options,
                    record.role,
                )
                from bench.report import write_report

                await asyncio.to_thread(write_report, document, self.runs_dir / record.id)
                record.report = True
            except Exception as exc:  # noqa: BLE001 - keep the run even if its report fails
                log.exception("report of run %s failed", record.id)
                record.message = (record.message + f"; report failed: {exc}").strip("; ")
        with self._cond:
            record.status = final  # last: "not running" means the report is there too
            record.finished = _now_iso()
            record.task = None
            record.handles.clear()
            if self._active is record:
                self._active = None
            self.version += 1
            self._cond.notify_all()
        self._save_run(record)
        log.info("run %s %s", record.id, record.status)

    def delete_run(self, run_id: str, user: str = "?") -> None:
        with self._cond:
            record = self._runs.get(run_id)
            if record is None:
                raise BenchError(f"no run {run_id}", 404)
            if record is self._active:
                raise BenchError("stop the run first", 409)
            del self._runs[run_id]
        if RUN_ID.match(run_id):
            shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)
        self.note(user, f"deleted run {run_id}")
