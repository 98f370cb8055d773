"""``python -m charger SETTINGS``: the charger firmware as its own process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from charger.agent.diagnostics import log_formatter
from charger.agent.runtime import Charger
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.hw.config import HardwareConfig
from charger.hw.factory import open_hardware


async def _main(settings: AgentSettings) -> int:
    hardware = open_hardware(HardwareConfig.load(Path(settings.hardware_file)))
    charger = Charger(settings, hardware, Clock.from_env())
    task = asyncio.create_task(charger.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    return charger.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m charger")
    parser.add_argument("settings", type=Path, help="agent settings JSON")
    args = parser.parse_args(argv)
    try:
        settings = AgentSettings.load(args.settings)
    except ValueError as exc:
        print(f"python -m charger: {exc}", file=sys.stderr)
        return 2
    log_file = Path(settings.state_dir) / "agent.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(log_file), logging.StreamHandler(sys.stderr)]
    for handler in handlers:  # simulated UTC time: what GetDiagnostics windows are in
        handler.setFormatter(log_formatter(Clock.from_env()))
    logging.basicConfig(level=logging.INFO, handlers=handlers)
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(_main(settings))


if __name__ == "__main__":
    sys.exit(main())
