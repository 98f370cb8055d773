"""Verdicts under load: the catalogue while CPU hogs compete, and pinned to one core.

``python -m bench.loadtest`` runs the Core ``_CS`` catalogue (``bench run --role cs
--profile core``) ``--runs`` times with one busy-looping process per core competing for
the CPU, then ``--pinned`` times with the whole bench on one core (``taskset``), and
prints per run the verdicts, the cases run again on a slower clock and the worst
event-loop lag measured. A FAIL or ERROR there is a false failure: every Core case
passes on a calm host, so the bench must have slowed down or said "inconclusive".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.agent_process import _prctl, die_with_parent

HOG = "while True: pass"


@contextlib.contextmanager
def cpu_hogs(count: int | None = None) -> Iterator[list[int]]:
    """``count`` processes (default: one per core) spinning on the CPU until the block ends."""
    count = (os.cpu_count() or 1) if count is None else count
    hogs = [
        subprocess.Popen(
            [sys.executable, "-c", HOG],
            preexec_fn=(lambda: die_with_parent(os.getppid())) if _prctl else None,
        )
        for _ in range(count)
    ]
    try:
        yield [h.pid for h in hogs]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@dataclass
class LoadRun:
    """One catalogue run: how it was loaded and what it gave."""

    label: str
    wall_s: float = 0.0
    verdicts: dict[str, int] = field(default_factory=dict)
    false_failures: list[str] = field(default_factory=list)
    slowed: list[str] = field(default_factory=list)  # cases run again on a slower clock
    worst_lag_ms: float = 0.0
    load_average: float = 0.0

    def line(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(self.verdicts.items()))
        return (
            f"{self.label}: {counts} in {self.wall_s:.0f} s; load average {self.load_average:.1f}; "
            f"worst event-loop lag {self.worst_lag_ms:.0f} ms; run again slower: "
            f"{', '.join(self.slowed) or 'none'}; false failures: "
            f"{', '.join(self.false_failures) or 'none'}"
        )


def run_catalogue(
    label: str,
    selection: list[str],
    *,
    speed: float = 4,
    parallel: int = 2,
    hogs: int = 0,
    pin_cpu: int | None = None,
) -> LoadRun:
    """``bench run SELECTION`` in its own process, under the load asked for."""
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    argv = [sys.executable, "-m", "bench.cli", "run", *selection]
    argv += ["--speed", str(speed), "--parallel", str(parallel), "--json", str(out / "run.json")]
    if pin_cpu is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            raise SystemExit("bench.loadtest: --pinned needs taskset (util-linux)")
        argv = [taskset, "-c", str(pin_cpu), *argv]
    run = LoadRun(label)
    began = time.monotonic()
    with cpu_hogs(hogs) if hogs else contextlib.nullcontext():
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
        run.load_average = os.getloadavg()[0]
    run.wall_s = time.monotonic() - began
    try:
        document = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        raise SystemExit(f"bench.loadtest: no results:\n{proc.stdout[-2000:]}") from None
    finally:
        shutil.rmtree(out, ignore_errors=True)
    _tally(run, document["cases"])
    return run


def _tally(run: LoadRun, cases: list[dict[str, Any]]) -> None:
    for case in cases:
        verdict = case["verdict"]
        run.verdicts[verdict] = run.verdicts.get(verdict, 0) + 1
        details = case.get("details") or {}
        if verdict in ("fail", "error"):
            run.false_failures.append(f"{case['id']} ({str(details.get('message'))[:160]})")
        if details.get("attempts"):
            run.slowed.append(f"{case['id']} (speed {case.get('speed')})")
        for part in (details.get("lag") or {}).values():
            run.worst_lag_ms = max(run.worst_lag_ms, part.get("max_s", 0.0) * 1000)
        for attempt in details.get("attempts") or []:
            run.worst_lag_ms = max(run.worst_lag_ms, attempt.get("worst_lag_ms", 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument("ids", nargs="*", help="case ids (default: --role cs --profile core)")
    parser.add_argument("--runs", type=int, default=3, help="runs with CPU hogs (default 3)")
    parser.add_argument("--pinned", type=int, default=1, help="runs on one core (default 1)")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1, help="busy processes")
    parser.add_argument("--speed", type=float, default=4)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args(argv)
    selection = args.ids or ["--role", "cs", "--profile", "core"]
    runs: list[LoadRun] = []
    plan = [(f"hogs x{args.hogs} #{n + 1}", args.hogs, None) for n in range(args.runs)]
    plan += [(f"one core #{n + 1}", 0, 0) for n in range(args.pinned)]
    for label, hogs, pin in plan:
        run = run_catalogue(
            label, selection, speed=args.speed, parallel=args.parallel, hogs=hogs, pin_cpu=pin
        )
        print(run.line(), flush=True)
        runs.append(run)
    false = sum(len(r.false_failures) for r in runs)
    print(f"{len(runs)} runs, {false} false failures")
    return 1 if false else 0


if __name__ == "__main__":
    sys.exit(main())
