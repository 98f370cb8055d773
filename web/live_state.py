"""What the panel's threads read: published by the sampler and the run executor, one lock.

Writers (the sampler on the bench's loop, the run executor on its own) change the
data under :attr:`LiveState.cond` and bump :attr:`version`; readers (request threads,
the WebSocket loops) copy under the same lock and may wait for the next version.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

HISTORY_MAX = 4000  # chart points per connector, thinned beyond that
TRACE_KEEP = 20_000  # frames kept (the oldest tenth goes beyond); the download reads files
ACTIVITY_MAX = 100


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def filter_frames(
    frames: list[dict[str, Any]],
    action: str | None = None,
    connector: int | None = None,
    cp_id: str | None = None,
) -> list[dict[str, Any]]:
    """The enriched frames of one action, one connector and/or one charge point (None: any)."""
    if action:
        frames = [f for f in frames if f["action"] == action]
    if connector is not None:
        frames = [f for f in frames if f["connector"] == connector]
    if cp_id:
        frames = [f for f in frames if f.get("cp_id") == cp_id]
    return frames


class LiveState:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.version = 0
        self.closed = False
        self.snapshot: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []
        self.frames_offset = 0  # the index of frames[0] in the bench's trace
        self.history: dict[str, dict[str, Any]] = {}
        self.history_seq = 0
        self.activity: deque[dict[str, Any]] = deque(maxlen=ACTIVITY_MAX)

    # --- writers (hold no other lock while calling these) ---------------------------

    def bump(self) -> None:
        with self.cond:
            self.version += 1
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def note(self, user: str, text: str) -> None:
        with self.cond:
            self.activity.append({"at": now_iso(), "user": user, "text": text})
            self.version += 1
            self.cond.notify_all()

    def publish(
        self,
        snapshot: dict[str, Any],
        frames: list[dict[str, Any]],
        points: list[tuple[str, dict[str, Any]]],
    ) -> None:
        with self.cond:
            expected = self.frames_offset + len(self.frames)
            if frames and frames[0].get("index", expected) > expected:
                # The bench's ring dropped frames before they were sampled (a burst):
                # keep indexes true, the download finds the rest in the trace files.
                self.frames.clear()
                self.frames_offset = frames[0]["index"]
            self.frames.extend(frames)
            if len(self.frames) > TRACE_KEEP:
                drop = len(self.frames) - TRACE_KEEP + TRACE_KEEP // 10
                del self.frames[:drop]
                self.frames_offset += drop
            self.snapshot = snapshot
            for cid, point in points:
                self._add_point(cid, point)
            self.version += 1
            self.cond.notify_all()

    def _add_point(self, cid: str, point: dict[str, Any]) -> None:
        hist = self.history.setdefault(cid, {"session": 0, "points": []})
        if point.get("new_session"):
            hist["session"] += 1
            hist["points"] = []
            return
        self.history_seq += 1
        hist["points"].append({"seq": self.history_seq, **point})
        if len(hist["points"]) > HISTORY_MAX:
            old = hist["points"][: HISTORY_MAX // 2]
            hist["points"] = old[::2] + hist["points"][HISTORY_MAX // 2 :]

    # --- readers (any thread) -----------------------------------------------------

    def wait_change(self, version: int, timeout: float) -> int:
        with self.cond:
            self.cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return self.version

    def read_snapshot(self) -> dict[str, Any]:
        with self.cond:
            snap = dict(self.snapshot)
            snap["activity"] = list(self.activity)[-20:]
            return snap

    def read_trace(
        self,
        since: int = 0,
        action: str | None = None,
        connector: int | None = None,
        limit: int | None = None,
        cp_id: str | None = None,
    ) -> list[dict[str, Any]]:
        with self.cond:
            frames = self.frames[max(0, since - self.frames_offset) :]
        frames = filter_frames(frames, action, connector, cp_id)
        if limit is not None and len(frames) > limit:
            frames = frames[-limit:]
        return frames

    def trace_length(self) -> int:
        with self.cond:
            return self.frames_offset + len(self.frames)

    def read_history(self, since_seq: int = 0) -> dict[str, Any]:
        with self.cond:
            return {
                cid: {
                    "session": h["session"],
                    "points": [p for p in h["points"] if p["seq"] > since_seq],
                }
                for cid, h in self.history.items()
            }
