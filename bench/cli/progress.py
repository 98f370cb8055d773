"""``bench run``'s progress: each case keeps its number, finished cases are counted apart.

A case is ``#2/4`` when it starts and when it ends, whatever finishes first; the
finished count, the elapsed time and an estimate of the time left follow each
verdict. On a terminal a bar at the bottom line shows the running cases; otherwise
(CI logs, pipes) every start and every verdict is one plain line.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any, TextIO

from bench.scenarios.registry import Scenario
from bench.scenarios.runner import CaseResult


def duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d} h"


def energy_summary(result: CaseResult) -> str:
    """Per transaction: id, billed energy, meter register delta (they must agree)."""
    d = result.details
    parts = []
    for suffix in ("", "_1", "_2"):
        if f"transaction{suffix}" in d:
            parts.append(
                f"tx {d[f'transaction{suffix}']}: {d.get(f'energy_wh{suffix}')} Wh "
                f"(meter delta {d.get(f'meter_delta_wh{suffix}')} Wh)"
            )
    return "; ".join(parts) or str(d.get("message", ""))


class Progress:
    """Feeds on :func:`bench.scenarios.runner.run_cases`' callback; prints to ``out``."""

    def __init__(
        self,
        cases: list[Scenario],
        parallel: int,
        out: TextIO,
        tty: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = len(cases)
        self.number = {case.id: n for n, case in enumerate(cases, 1)}
        self.parallel = max(1, parallel)
        self.out = out
        self.tty = tty
        self.clock = clock
        self.began = clock()
        self.running: dict[str, float] = {}
        self.results: dict[str, CaseResult] = {}
        self._bar_shown = False
        self.stopping = False

    # --- the numbers --------------------------------------------------------------

    @property
    def done(self) -> int:
        return len(self.results)

    def elapsed(self) -> float:
        return self.clock() - self.began

    def eta(self) -> float | None:
        """Seconds left: the mean case duration so far over the cases not finished."""
        timed = [r.duration_s for r in self.results.values() if r.verdict != "n/a"]
        if not timed:
            return None
        mean = sum(timed) / len(timed)
        now = self.clock()
        left_running = sum(max(0.0, mean - (now - t)) for t in self.running.values())
        waiting = self.total - self.done - len(self.running)
        return (left_running + waiting * mean) / self.parallel

    def status(self) -> str:
        eta = self.eta()
        going = eta is not None and self.done < self.total and not self.stopping
        left = f", about {duration(eta)} left" if going else ""
        return f"{self.done}/{self.total} done, {duration(self.elapsed())} elapsed{left}"

    # --- the callback -------------------------------------------------------------

    def __call__(self, _n: int, _total: int, case: Scenario, result: CaseResult | None) -> None:
        tag = f"#{self.number[case.id]}/{self.total}"
        if result is None:
            self.running[case.id] = self.clock()
            if not self.tty:
                self._line(f"{tag} {case.id}: started  ({case.title})")
        else:
            self.running.pop(case.id, None)
            self.results[case.id] = result
            summary = energy_summary(result)
            self._line(
                f"{tag} {case.id}: {result.verdict.upper()} in {result.duration_s:.1f} s  "
                + (f"{summary}  " if summary else "")
                + f"[{self.status()}]"
            )
            if result.verdict in ("fail", "error"):
                for step in result.steps[-6:]:
                    self._line(f"      {step['t']:7.3f}s {step['text']}")
                if "state_dir" in result.details:
                    self._line(f"      state kept in {result.details['state_dir']}")
        self._bar()

    def interrupted(self) -> None:
        self.stopping = True
        self.note("interrupted: stopping the running cases and their rigs ...")

    def note(self, text: str) -> None:
        """A line between the cases' lines (the bar is redrawn below it)."""
        self._line(text)
        self._bar()

    def _line(self, text: str) -> None:
        if self.tty and self._bar_shown:
            self.out.write("\r\x1b[2K")
            self._bar_shown = False
        self.out.write(text + "\n")
        self.out.flush()

    def _bar(self) -> None:
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        slots = 20
        filled = round(slots * self.done / max(1, self.total))
        names = ", ".join(self.running) or "-"
        text = f"[{'#' * filled}{'.' * (slots - filled)}] {self.status()}; running: {names}"
        self.out.write("\r\x1b[2K" + text[: width - 1])
        self.out.flush()
        self._bar_shown = True

    def tick(self) -> None:
        """Redraw the bar (elapsed time, estimate) between events; a no-op off a terminal."""
        self._bar()

    def close(self) -> None:
        if self.tty and self._bar_shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._bar_shown = False

    def summary_rows(self, order: list[Scenario]) -> list[dict[str, Any]]:
        """Every case in selection order; unfinished ones as interrupted."""
        rows = []
        for case in order:
            result = self.results.get(case.id)
            if result is None:
                state = "interrupted" if case.id in self.running else "not run"
                rows.append({"id": case.id, "verdict": state, "duration_s": None, "message": ""})
            else:
                rows.append(
                    {
                        "id": case.id,
                        "verdict": result.verdict,
                        "duration_s": result.duration_s,
                        "message": str(result.details.get("message", "")),
                    }
                )
        return rows
