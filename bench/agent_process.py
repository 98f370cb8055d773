"""Starts, stops and kills the charger agent as a separate OS process.

Killing it with SIGKILL is how the bench simulates a charger's power loss: nothing
in the agent gets to run on the way down, exactly like a real power cut.

The agent never outlives its supervisor: on Linux the kernel sends it SIGKILL when the
bench process dies (``PR_SET_PDEATHSIG``, even after a SIGKILL of the bench), and an
interpreter that exits normally kills the agents it still has (``atexit``). An orphan
would otherwise keep charging on a state directory the next bench reuses.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import functools
import os
import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

from charger.agent import REBOOT_EXIT_CODE
from charger.agent.slots import agent_command
from charger.clock import ENV, Clock

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Looked up here, not in the forked child (no dlopen between fork and exec).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_LIVE: weakref.WeakSet[AgentProcess] = weakref.WeakSet()
#: The agents' bytecode cache (per user; Python replaces its files atomically).
PYCACHE = Path(tempfile.gettempdir()) / f"ocpp-bench-pycache-{os.getuid()}"


def die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL me when the thread that started me ends.

    (The kernel ties it to the starting *thread*: agents are started from the bench's
    event-loop thread, which lives as long as the bench.)"""
    if _prctl is None or _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(70)  # no guarantee the agent dies with the bench: do not start it
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(70)


def _kill_leftovers() -> None:
    for agent in list(_LIVE):
        agent.kill()


atexit.register(_kill_leftovers)


class AgentProcess:
    def __init__(
        self, settings_file: Path, clock: Clock, log_file: Path, module: str = "charger"
    ) -> None:
        self.settings_file = settings_file
        self.module = module  # the firmware, or a test double wrapping it
        self.clock = clock
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.meant_down = True  # set by kill()/stop(): an exit then is no crash

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def crashed(self) -> bool:
        """It exited although nobody stopped it, and not to reboot."""
        return self.exited() and self.proc.returncode != REBOOT_EXIT_CODE  # type: ignore[union-attr]

    def rebooting(self) -> bool:
        """It exited after a Reset: start it again, as its supervisor would."""
        return self.exited() and self.proc.returncode == REBOOT_EXIT_CODE  # type: ignore[union-attr]

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None and not self.meant_down

    def start(self) -> None:
        if self.running:
            return
        self.meant_down = False
        self.started_at = self.clock.time()  # simulated Unix time, as the trace's ``ts``
        env = dict(os.environ)
        env[ENV] = self.clock.to_env()
        env["PYTHONUNBUFFERED"] = "1"
        # Firmware does not compile its source at every boot. With PYTHONDONTWRITEBYTECODE
        # set (as on this CI machine) each start compiled ~70 modules: ~0.3 s of a ~1 s
        # start to BootNotification. The bytecode goes to a cache of its own, never into
        # the source tree or a firmware slot.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
        argv, slot_env = agent_command(
            self.settings_file, module=self.module
        )  # the active A/B slot, or the tree
        env.update(slot_env)
        out = open(self.log_file, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=functools.partial(die_with_parent, os.getpid()) if _prctl else None,
        )
        out.close()
        _LIVE.add(self)

    def kill(self) -> None:
        """Power loss: SIGKILL, no goodbye."""
        self.meant_down = True
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    async def stop(self, timeout: float = 5.0) -> None:
        self.meant_down = True
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.terminate()
        for _ in range(int(timeout / 0.05)):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.05)
        self.kill()
