"""The Central System's SQLite database: one connection, a versioned schema.

One connection, used from the event loop thread only (queries are small and local).
WAL lets the web panel read the file from another process while the CSMS writes.
Timestamps sent by a charger are kept verbatim (they are evidence); the CSMS's own
are ``iso(clock.now())``. Rows come back as plain dicts.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bench.csms.store.schema import STEPS
from charger.agent.migrations import migrate


class Database:
    """The connection and the schema; the row classes of ``bench.csms.store`` use it."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            _owner_only(self.path)
        self._db = sqlite3.connect(self.path)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, STEPS)
        self._beats: dict[str, str] = {}  # Heartbeats not yet written (charge_points.py)
        self._beats_written = time.monotonic()

    def close(self) -> None:
        self.write_heartbeats()
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for a transaction over several kinds of row (``chargepoints.py``)."""
        self.write_heartbeats()  # what they read is current
        return self._db

    def write_heartbeats(self) -> None:
        """Write the Heartbeats noted since the last write, in one commit."""
        if not self._beats:
            return
        self._beats_written = time.monotonic()
        beats, self._beats = self._beats, {}
        with self._db:
            self._db.executemany(
                "UPDATE charge_points SET last_heartbeat_ts = ? WHERE id = ?",
                [(ts, cp_id) for cp_id, ts in beats.items()],
            )

    @contextlib.contextmanager
    def _durable(self) -> Iterator[None]:
        """One commit that is on disk (fsync) before it returns: for transaction messages.

        Everything else commits with ``synchronous=NORMAL`` (WAL): safe from a crash of
        the process, not from a power cut, and no fsync on the message path.
        """
        if self.path == ":memory:":
            with self._db:
                yield
            return
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._db:
                yield
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    def _one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        self.write_heartbeats()  # a read sees every Heartbeat (no-op unless some wait)
        row = self._db.execute(sql, tuple(args)).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        self.write_heartbeats()
        return [dict(r) for r in self._db.execute(sql, tuple(args))]


def _owner_only(path: str) -> None:
    """Password hashes live here: the file is the owner's alone from its first byte (its
    WAL and shared-memory files take its mode), as the agent's ``agent.sqlite`` is."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for name in (path, path + "-wal", path + "-shm"):
            if os.path.exists(name):
                os.chmod(name, 0o600)
