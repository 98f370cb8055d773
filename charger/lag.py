"""How far a process lags the shared clock: the lateness of its event loop's wake-ups.

Simulated time runs on the wall clock (:mod:`charger.clock`); a process the host does
not schedule in time falls behind it, and a budget that was generous on a calm machine
runs out before the work is done. A verdict must not depend on that, so every process
of a rig measures it: a task asks to wake every ``period`` seconds and records how late
it woke. The agent writes what it measured to ``STATE/loop-lag-<pid>.json``; the bench
reads those files after a case and measures its own loop the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PERIOD_S = 0.05
FILE_GLOB = "loop-lag-*.json"


@dataclass
class Lag:
    """Wall seconds: the worst late wake-up, and the sum of all lateness."""

    max_s: float = 0.0
    total_s: float = 0.0
    wakeups: int = 0

    def add(self, late_s: float) -> None:
        late_s = max(0.0, late_s)
        self.max_s = max(self.max_s, late_s)
        self.total_s += late_s
        self.wakeups += 1

    def merge(self, other: Lag) -> Lag:
        return Lag(
            max(self.max_s, other.max_s),
            self.total_s + other.total_s,
            self.wakeups + other.wakeups,
        )

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


class LagMonitor:
    """Measures the running event loop's lag; optionally writes it to ``state_dir``."""

    def __init__(self, state_dir: Path | None = None, period_s: float = PERIOD_S) -> None:
        self.lag = Lag()
        self.period_s = period_s
        self.file = state_dir / f"loop-lag-{os.getpid()}.json" if state_dir else None
        self._task: asyncio.Task | None = None

    def start(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> Lag:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._write()
        return self.lag

    async def _run(self) -> None:
        written = time.monotonic()
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.period_s)
            self.lag.add(time.monotonic() - asked - self.period_s)
            if self.file is not None and time.monotonic() - written >= 1.0:
                written = time.monotonic()
                self._write()

    def _write(self) -> None:
        if self.file is None:
            return
        tmp = self.file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.lag.to_json()))
            os.replace(tmp, self.file)
        except OSError:
            pass  # a full disk must not stop the charger


def read_lag(state_dir: Path) -> Lag:
    """The lag every agent process that ran on ``state_dir`` reported, merged."""
    total = Lag()
    for path in sorted(Path(state_dir).glob(FILE_GLOB)):
        try:
            data = json.loads(path.read_text())
            total = total.merge(Lag(data["max_s"], data["total_s"], data["wakeups"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return total
