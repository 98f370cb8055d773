"""Where frames are kept: a bounded ring in memory and rotating JSON-lines files on disk.

A Central System that runs for days sees millions of frames; keeping them all in memory
grew its RSS without bound. The ring keeps the newest ``keep`` frames and still answers
in absolute positions (``len`` counts every frame ever added, ``ring[mark:]`` is what is
still kept from ``mark`` on), so a waiter's ``since`` mark stays valid while old frames
fall out. The files keep more history within a fixed disk budget.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, overload

KEEP = 20_000  # frames in memory: a long case's worth; the files hold the rest
FILE_BYTES = 8 * 1024 * 1024  # one file before it rotates
FILE_BACKUPS = 4  # rotated files kept besides the current one
DRAIN_S = 0.2  # a queued frame reaches the file within this (wall seconds)
DRAIN_FRAMES = 2000  # or as soon as this many are queued


class FrameRing:
    """The newest ``keep`` frames, indexed by their position among all frames ever added."""

    def __init__(self, keep: int = KEEP, file: FrameFile | None = None):
        self._frames: deque[dict[str, Any]] = deque(maxlen=keep)
        self._added = 0
        self.file = file

    @property
    def first(self) -> int:
        """Position of the oldest frame still kept."""
        return self._added - len(self._frames)

    def append(self, frame: dict[str, Any]) -> None:
        if self.file is not None:  # on disk with its position: a reader can join the two
            self.file.append(frame, self._added)
        self._frames.append(frame)
        self._added += 1

    def __len__(self) -> int:
        return self._added

    def __bool__(self) -> bool:
        return self._added > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._frames)

    @overload
    def __getitem__(self, key: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, key: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, key: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._added)
            if step != 1:
                return list(self)[slice(start - self.first, stop - self.first, step)]
            first = self.first
            lo, hi = max(start, first) - first, max(stop, first) - first
            if lo >= hi:
                return []
            if lo == 0 and hi == len(self._frames):
                return list(self._frames)
            if hi - lo < len(self._frames) // 2 and lo > len(self._frames) // 2:
                return [self._frames[i] for i in range(lo, hi)]  # a recent tail: cheap
            return list(self._frames)[lo:hi]
        index = key + self._added if key < 0 else key
        if not self.first <= index < self._added:
            raise IndexError(f"frame {key} is not kept (kept: {self.first}..{self._added - 1})")
        return self._frames[index - self.first]

    def index(self, frame: dict[str, Any]) -> int:
        """Position of ``frame`` (by identity or equality) among all frames."""
        for offset, kept in enumerate(self._frames):
            if kept is frame or kept == frame:
                return self.first + offset
        raise ValueError("frame is not kept")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class FrameFile:
    """Frames appended as JSON lines to ``<dir>/<name>.jsonl``, rotated by size.

    ``<name>.jsonl`` is the newest file, ``<name>.1.jsonl`` the one before, up to
    ``backups``. On the message path a frame is only queued: serialising it (and
    ``transform``, e.g. redaction) waits until the loop is idle for a moment
    (``DRAIN_S``) or ``DRAIN_FRAMES`` are queued. logging's RotatingFileHandler would
    format and flush every record on the path.
    """

    def __init__(
        self,
        directory: str | Path,
        name: str = "trace",
        max_bytes: int = FILE_BYTES,
        backups: int = FILE_BACKUPS,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ):
        self.directory = Path(directory)
        self.name, self.max_bytes, self.backups = name, max_bytes, backups
        self.transform = transform
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file: Any = None
        self._size = 0
        self._pending: list[tuple[int | None, dict[str, Any]]] = []
        self._drain: asyncio.TimerHandle | None = None

    def path(self, generation: int = 0) -> Path:
        suffix = f".{generation}" if generation else ""
        return self.directory / f"{self.name}{suffix}.jsonl"

    def append(self, frame: dict[str, Any], index: int | None = None) -> None:
        """Queue ``frame`` (stored with ``index`` if given) for the file."""
        self._pending.append((index, frame))
        if len(self._pending) >= DRAIN_FRAMES:
            self.drain()
        elif self._drain is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a script, a test): write now
                self.drain()
                return
            self._drain = loop.call_later(DRAIN_S, self.drain)

    def drain(self) -> None:
        """Write every queued frame to the file."""
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        pending, self._pending = self._pending, []
        for index, frame in pending:
            if self.transform is not None:
                frame = self.transform(frame)
            if index is not None:
                frame = {"index": index, **frame}
            line = json.dumps(frame, separators=(",", ":"), default=str) + "\n"
            if self._file is None:
                self._file = open(self.path(), "a", encoding="utf-8")  # noqa: SIM115 - kept
                self._size = self._file.tell()
            self._file.write(line)
            self._size += len(line)
            if self._size >= self.max_bytes:
                self._rotate()
        if pending and self._file is not None:
            self._file.flush()  # one write per drain: readers in other threads see it

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for generation in range(self.backups, 0, -1):
            older = self.path(generation - 1)
            if older.exists():
                os.replace(older, self.path(generation))
        self._size = 0

    def flush(self) -> None:
        self.drain()
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self.drain()
        if self._file is not None:
            self._file.close()
            self._file = None

    def files(self) -> list[Path]:
        """The files there are, oldest first."""
        return [p for g in range(self.backups, -1, -1) if (p := self.path(g)).exists()]

    def read(self) -> Iterator[dict[str, Any]]:
        """Every frame on disk, oldest first; safe from another thread (the last moment's
        frames may still be queued; a torn last line is skipped)."""
        for path in self.files():
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
