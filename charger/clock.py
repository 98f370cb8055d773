"""One clock for every process of a rig.

Simulated time may run faster than the wall clock (``speed`` > 1). Every process
of a rig reads the same origin and speed from ``BENCH_CLOCK`` so that the agent,
the rig's physics and the CSMS agree on what "5 seconds" means; nothing else in
the code base scales time on its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from charger.protocol.times import format_ocpp_time as iso  # noqa: F401 (one writer)

ENV = "BENCH_CLOCK"


@dataclass(frozen=True)
class Clock:
    """Simulated time = origin_sim + (wall - origin_wall) * speed."""

    origin_wall: float
    origin_sim: float
    speed: float = 1.0

    @classmethod
    def start(cls, speed: float = 1.0) -> Clock:
        now = time.time()
        return cls(origin_wall=now, origin_sim=now, speed=speed)

    @classmethod
    def from_env(cls) -> Clock:
        raw = os.environ.get(ENV)
        if not raw:
            return cls.start()
        wall, sim, speed = (float(x) for x in raw.split(":"))
        return cls(wall, sim, speed)

    def to_env(self) -> str:
        return f"{self.origin_wall!r}:{self.origin_sim!r}:{self.speed!r}"

    def time(self) -> float:
        """Simulated Unix time in seconds."""
        return self.origin_sim + (time.time() - self.origin_wall) * self.speed

    def monotonic(self) -> float:
        return time.monotonic() * self.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def wall(self, sim_seconds: float) -> float:
        """Wall-clock seconds that ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.speed

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(max(0.0, sim_seconds) / self.speed)

    def sleep_blocking(self, sim_seconds: float) -> None:
        time.sleep(max(0.0, sim_seconds) / self.speed)
