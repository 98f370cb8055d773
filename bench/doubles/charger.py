"""A charger that does wrong on purpose: the real firmware with a faulty OCPP link.

``python -m bench.doubles.charger SETTINGS`` runs the firmware (``charger``) exactly
as ``python -m charger`` does, but its link misbehaves as ``quirks.json`` beside the
settings file says. The firmware knows nothing of it; the bench starts this module
instead of the firmware when a case runs against a DUT double.

Quirks:
- ``status_override``: {"Charging": "SuspendedEV"} reports one status as another;
- ``reply_delay_s``: answers every CALL of the Central System that many seconds late;
- ``drop_stop_transaction``: a StopTransaction is never sent (the charger believes it was).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from charger import __main__ as firmware
from charger.agent.link import AgentLink
from charger.agent.runtime import Charger

QUIRKS_FILE = "quirks.json"


def load_quirks(settings_file: Path) -> dict[str, Any]:
    path = settings_file.parent / QUIRKS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_quirks(settings_file: Path, quirks: dict[str, Any]) -> None:
    (settings_file.parent / QUIRKS_FILE).write_text(json.dumps(quirks))


def faulty_link(quirks: dict[str, Any]) -> type[AgentLink]:
    """An :class:`AgentLink` that breaks the protocol as ``quirks`` say."""
    override: dict[str, str] = quirks.get("status_override", {})
    delay = float(quirks.get("reply_delay_s", 0))
    drop_stop = bool(quirks.get("drop_stop_transaction"))

    class FaultyLink(AgentLink):
        async def route_message(self, raw_msg: str | bytes) -> None:
            if delay and str(raw_msg).lstrip("[ ").startswith("2"):
                await self.clock.sleep(delay)  # answers the CSMS's CALLs late
            await super().route_message(raw_msg)

        async def request(self, payload: Any, **kwargs: Any) -> dict:
            name = type(payload).__name__
            if name == "StopTransaction" and drop_stop:
                return {}  # never sent; the outbox takes it as delivered
            if name == "StatusNotification" and payload.status in override:
                payload.status = override[payload.status]
            return await super().request(payload, **kwargs)

    return FaultyLink


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quirks = load_quirks(Path(argv[-1])) if argv else {}
    Charger.link_class = faulty_link(quirks)
    return firmware.main(argv)


if __name__ == "__main__":
    sys.exit(main())
