"""Running a test body against a fresh bench (CSMS, rig and agent process)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.scenarios.handle import Handle
from bench.scenarios.sessions import FAST
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock


def run_on_bench(body, speed: float = 3, **config: str) -> None:
    async def main() -> None:
        with tempfile.TemporaryDirectory() as root:
            system = BenchSystem(
                StateDir(Path(root)), clock=Clock.start(speed), agent_config={**FAST, **config}
            )
            await system.start()
            try:
                await asyncio.wait_for(body(Handle(system)), 120)
                assert system.agent_crashes == 0, "the agent process died by itself"
            finally:
                await system.stop()

    asyncio.run(main())
