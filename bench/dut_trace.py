"""The frames of a run as the device under test saw them, and a wait for the next one.

Each bench (our rig, an external charger, an external Central System) keeps its frames
in one shape: who sent it (``dut`` or ``bench``), the simulated ``ts`` and the ``wall``
time the report's timings use, the OCPP fields and the payload. Scenarios read the
frames and wait on :meth:`DutTrace.changed` instead of polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import MutableSequence
from typing import Any

from bench.security.redact import redact


class DutTrace:
    """Frames appended by :meth:`csms_entry` (our CSMS's listener) or :meth:`link_frame`
    (a link's ``on_frame``), in ``frames`` (a list, or a bounded ring with its files)."""

    def __init__(self, frames: MutableSequence[dict[str, Any]] | None = None) -> None:
        self.frames: MutableSequence[dict[str, Any]] = frames if frames is not None else []
        self._changed = asyncio.Event()

    def csms_entry(self, entry: dict[str, Any]) -> None:
        """A frame our Central System saw: what the panel and reports keep has no FTP or
        Basic-auth passwords."""
        self._append(
            entry["cp_id"],
            entry["direction"],
            entry["action"],
            entry["message_type"],
            entry["unique_id"],
            redact(entry["payload"]),
            entry["ts"],
        )

    def link_frame(
        self,
        direction: str,
        action: str | None,
        message_type: int,
        unique_id: str,
        payload: dict[str, Any],
        ts: float,
    ) -> None:
        """A frame of the bench's own link to a Central System under test, as sent: the
        cases check what that Central System put in it."""
        self._append(None, direction, action, message_type, unique_id, payload, ts)

    def _append(
        self,
        cp_id: str | None,
        direction: str,
        action: str | None,
        message_type: int,
        unique_id: str,
        payload: dict[str, Any],
        ts: float,
    ) -> None:
        frame: dict[str, Any] = {"ts": ts}
        if cp_id is not None:
            frame["cp_id"] = cp_id  # a Central System serves any number of charge points
        frame |= {
            "wall": time.time(),  # the report's timings: real seconds at any speed
            "sender": "dut" if direction == "in" else "bench",
            "message_type": message_type,
            "unique_id": unique_id,
            "action": action,
            "payload": payload,
        }
        self.frames.append(frame)
        self._changed.set()

    async def changed(self, timeout: float) -> None:
        """Wait (wall seconds) until a frame is added."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(0.0, timeout))
