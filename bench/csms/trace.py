"""The log of the OCPP frames the Central System saw, and waiting on it.

The newest frames are kept in memory (a bounded ring, ``bench.csms.frame_log``); with a
state directory every frame is also appended, credentials redacted, to rotating files
``trace*.jsonl`` there.

Entries are dicts: ``index`` (position, usable as ``since``), ``cp_id``,
``direction`` ("in" = from the charge point), ``action`` (None if unknown, e.g. an
unparseable frame), ``message_type`` (2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unreadable),
``unique_id``, ``payload`` (wire JSON object) and ``ts`` (simulated Unix time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.csms.frame_log import KEEP, FrameFile, FrameRing
from bench.security.redact import redact
from charger.clock import Clock
from charger.protocol.frames import CALL
from charger.protocol.link import FrameCallback

LOG = logging.getLogger(__name__)

Entry = dict[str, Any]
Predicate = Callable[[dict[str, Any]], bool]


def _redacted(entry: Entry) -> Entry:
    return {**entry, "payload": redact(entry["payload"])}


class FrameTrace:
    """Frame log (bounded in memory) with listeners (web panel) and waiters (scenarios)."""

    def __init__(self, clock: Clock, directory: str | Path | None = None, keep: int = KEEP):
        self.clock = clock
        self.entries = FrameRing(keep)
        #: Every frame, redacted, on disk (None: no state directory).
        self.file = FrameFile(directory, transform=_redacted) if directory is not None else None
        self._listeners: list[Callable[[Entry], None]] = []
        self._waiters: list[tuple[Callable[[Entry], bool], asyncio.Future[Entry]]] = []

    def recorder(self, cp_id: str) -> FrameCallback:
        """The ``on_frame`` callback for one charge point's link."""
        return partial(self.record, cp_id)

    def record(
        self,
        cp_id: str,
        direction: str,
        action: str | None,
        message_type: int,
        unique_id: str,
        payload: dict[str, Any],
        ts: float,
    ) -> Entry:
        entry = {
            "index": len(self.entries),
            "cp_id": cp_id,
            "direction": direction,
            "action": action,
            "message_type": message_type,
            "unique_id": unique_id,
            "payload": payload,
            "ts": ts,
        }
        self.entries.append(entry)
        if self.file is not None:
            self.file.append(entry)
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:
                LOG.exception("frame listener failed")
        for matches, future in list(self._waiters):
            if future.done():
                continue
            try:
                if matches(entry):
                    future.set_result(entry)
            except Exception as exc:  # a broken predicate fails its waiter, not the link
                future.set_exception(exc)
        return entry

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def add_listener(self, listener: Callable[[Entry], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Entry], None]) -> None:
        self._listeners.remove(listener)

    def mark(self) -> int:
        """Index of the next entry: pass as ``since`` to wait only for what follows."""
        return len(self.entries)

    async def wait_for_frame(
        self,
        cp_id: str | None,
        action: str | None,
        predicate: Predicate | None = None,
        timeout: float = 30.0,
        since: int = 0,
        *,
        direction: str = "in",
        message_type: int = CALL,
    ) -> Entry:
        """First entry from ``since`` on that matches; ``timeout`` in simulated seconds.

        ``cp_id``/``action`` None match any; ``predicate`` gets the payload.
        """

        def matches(entry: Entry) -> bool:
            return (
                entry["direction"] == direction
                and entry["message_type"] == message_type
                and (cp_id is None or entry["cp_id"] == cp_id)
                and (action is None or entry["action"] == action)
                and (predicate is None or bool(predicate(entry["payload"])))
            )

        for entry in self.entries[since:]:
            if matches(entry):
                return entry
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        waiter = (matches, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, self.clock.wall(timeout))
        except TimeoutError:
            raise TimeoutError(
                f"no {action or 'frame'} from {cp_id or 'any charge point'}"
                f" within {timeout} s (since index {since})"
            ) from None
        finally:
            self._waiters.remove(waiter)
