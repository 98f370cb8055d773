"""Scenario runs started from the panel: their records, kept under ``STATE/web/runs/ID/``.

A run's ``run.json`` holds its cases with their states, step logs and energy figures;
its report (``index.html``, ``results.json``, ``junit.xml``) sits beside it, and
``failed/CASE/`` keeps the state of each failed case.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from bench.report.steps import step_verdicts
from bench.report.timeline import timeline_svg

log = logging.getLogger("web.runs")

RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$")
REPORT_FILE = re.compile(
    r"^(index\.html|print\.html|results\.json|junit\.xml|cases/case-[0-9]+\.html)$"
)


def energy_of(details: dict[str, Any]) -> list[dict[str, Any]]:
    """Per transaction of a case: id, billed energy and the meter's register delta."""
    out = []
    for suffix in ("", "_1", "_2"):
        if f"transaction{suffix}" in details:
            out.append(
                {
                    "transaction": details[f"transaction{suffix}"],
                    "energy_wh": details.get(f"energy_wh{suffix}"),
                    "meter_delta_wh": details.get(f"meter_delta_wh{suffix}"),
                }
            )
    return out


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
    energy: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    began: float | None = None  # time.monotonic() when it started

    def to_json(self, steps: bool) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("began")
        if self.state == "running" and self.began is not None:
            data["duration_s"] = round(time.monotonic() - self.began, 1)
        if not steps:
            data.pop("steps")
            data["step_count"] = len(self.steps)
        else:
            verdicts = step_verdicts(self.steps, self.state)
            data["steps"] = [{**s, "verdict": v} for s, v in zip(self.steps, verdicts, strict=True)]
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
    started_wall: float = 0.0  # not serialised

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
                energy=list(c.get("energy") or []),
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


class RunStore:
    """The runs' directories; the records themselves are guarded by the caller's lock."""

    def __init__(self, runs_dir: Path) -> None:
        self.dir = runs_dir
        self.dir.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, RunRecord]:
        runs = {}
        for path in sorted(self.dir.glob("*/run.json")):
            try:
                record = RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, OSError) as exc:
                log.warning("skipping unreadable run %s: %s", path, exc)
                continue
            runs[record.id] = record
        return runs

    def save(self, run_id: str, text: str) -> None:
        directory = self.dir / run_id
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / "run.json.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(directory / "run.json")

    def run_dir(self, run_id: str) -> Path:
        return self.dir / run_id

    def report_file(self, run_id: str, name: str = "index.html") -> Path | None:
        """A file of a run's report (index, print view, a case's page, results, junit)."""
        if not RUN_ID.match(run_id) or not REPORT_FILE.match(name):
            return None
        path = self.dir / run_id / name
        return path if path.is_file() else None

    def timeline(self, run_id: str, case_id: str) -> str | None:
        """The sequence chart of a finished case of a run, from the run's results.json."""
        path = self.report_file(run_id, "results.json")
        if path is None:
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
        role = ((document.get("run") or {}).get("dut") or {}).get("role")
        for case in document.get("cases") or []:
            if case.get("id") == case_id:
                return timeline_svg(case, role)
        return None

    def delete(self, run_id: str) -> None:
        """Remove a run's directory (an error if it cannot be removed: never half-silent)."""
        path = self.dir / run_id
        if RUN_ID.match(run_id) and path.exists():
            shutil.rmtree(path)
