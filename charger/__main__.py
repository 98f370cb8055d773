"""``python -m charger SETTINGS``: the charger firmware as its own process."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import signal
import sys
from pathlib import Path
from typing import IO

from charger.agent.features.diagnostics import log_formatter
from charger.agent.runtime import Charger
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.hw.config import HardwareConfig
from charger.hw.factory import open_hardware
from charger.hw.health import HEALTH_FILE, HealthBoard
from charger.lag import LagMonitor


async def _main(settings: AgentSettings) -> int:
    lag = LagMonitor(Path(settings.state_dir)).start()  # the bench judges its verdicts by it
    health = HealthBoard(Path(settings.state_dir) / HEALTH_FILE)
    hardware = open_hardware(HardwareConfig.load(Path(settings.hardware_file)), health)
    charger = Charger(settings, hardware, Clock.from_env())
    task = asyncio.create_task(charger.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await lag.stop()
    return charger.exit_code


LOCK_FILE = "agent.lock"
EXIT_LOCKED = 73  # another instance holds the state directory


def hold_state(state_dir: Path) -> IO[str] | None:
    """Lock ``state_dir`` for this process (None: another agent holds it).

    Two agents on one ``agent.sqlite`` would both charge, both send the outbox and
    hand out transactions twice. The kernel drops the lock when the holder dies, even
    by SIGKILL (a power loss), so a stale file never blocks a restart."""
    handle = open(state_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        print(f"charger: {state_dir} is in use by another agent (pid {holder})", file=sys.stderr)
        return None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m charger")
    parser.add_argument("settings", type=Path, help="agent settings JSON")
    args = parser.parse_args(argv)
    try:
        settings = AgentSettings.load(args.settings)
    except ValueError as exc:
        print(f"python -m charger: {exc}", file=sys.stderr)
        return 2
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    lock = hold_state(Path(settings.state_dir))
    if lock is None:
        return EXIT_LOCKED
    log_file = Path(settings.state_dir) / "agent.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.FileHandler(log_file),
        logging.StreamHandler(sys.stderr),
    ]
    for handler in handlers:  # simulated UTC time: what GetDiagnostics windows are in
        handler.setFormatter(log_formatter(Clock.from_env()))
    logging.basicConfig(level=logging.INFO, handlers=handlers)
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(_main(settings))


if __name__ == "__main__":
    sys.exit(main())
