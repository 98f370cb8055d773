"""The agent as firmware: idle CPU, start to BootNotification, time to answer.

Runs the simulated rig with the agent as its own process (as ``bench up`` does) and
reads the agent's CPU time from ``/proc``: a Pi 4 core is several times slower than
this machine's, so an idle agent must cost next to nothing.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ocpp.v16 import call

from bench.scenarios.handle import Handle
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def measure(idle_s: float = 10.0, triggers: int = 20) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-perf-agent-") as root:
        system = BenchSystem(StateDir(Path(root)), clock=Clock.start(1.0))
        began = time.monotonic()
        await system.start()
        try:
            handle = Handle(system)
            await handle.booted(within=60)
            assert system.agent is not None and system.agent.pid is not None
            boot = next(f for f in system.trace if f["action"] == "BootNotification")
            start_to_boot = boot["ts"] - system.agent.started_at  # speed 1: wall seconds
            rig_to_boot = time.monotonic() - began
            pid = system.agent.pid
            await asyncio.sleep(2.0)  # settle after boot
            cpu0, wall0, own0 = cpu_seconds(pid), time.monotonic(), time.process_time()
            await asyncio.sleep(idle_s)
            agent_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
            bench_cpu = (time.process_time() - own0) / (time.monotonic() - wall0)
            answers = []
            for _ in range(triggers):
                mark = handle.mark()
                t0 = time.monotonic()
                await handle.call(call.TriggerMessage(requested_message="Heartbeat"))
                await handle.expect("Heartbeat", within=10, since=mark)
                answers.append(time.monotonic() - t0)
        finally:
            await system.stop()
    answers.sort()
    return {
        "agent_idle_cpu_percent": agent_cpu * 100,
        "bench_idle_cpu_percent": bench_cpu * 100,
        "agent_start_to_boot_notification_s": start_to_boot,
        "rig_start_to_boot_notification_s": rig_to_boot,
        "trigger_to_message_p50_ms": answers[len(answers) // 2] * 1000,
    }
