"""The Central System's SQLite database: one connection, a versioned schema.

One connection, used from the event loop thread only (queries are small and local).
WAL lets the web panel read the file from another process while the CSMS writes.
Timestamps sent by a charger are kept verbatim (they are evidence); the CSMS's own
are ``iso(clock.now())``. Rows come back as plain dicts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.csms.store.schema import STEPS
from charger.agent.migrations import migrate


class Database:
    """The connection and the schema; the row classes of ``bench.csms.store`` use it."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        self._db = sqlite3.connect(self.path)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, STEPS)

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for the tables other modules keep (``security_store``)."""
        return self._db

    def _one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        row = self._db.execute(sql, tuple(args)).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute(sql, tuple(args))]
