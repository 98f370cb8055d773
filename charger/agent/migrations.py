"""Versioned schema of ``agent.sqlite``: the database outlives firmware updates.

A slot flip runs new firmware over the old database, so the schema is a numbered
list of steps and ``PRAGMA user_version`` says how many have run. A feature that
needs a table appends a step; a step that has shipped is never edited. Version 1 is
the schema the agent had before versioning (its ``CREATE ... IF NOT EXISTS`` made
any older database match it), so an unversioned database is brought to 1 first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from charger.agent.features.security.tables import create_tables as create_security_tables

Step = str | Callable[[sqlite3.Connection], None]

STEPS: list[Step] = [
    # 1: the schema before versioning
    """
    CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS transactions (
        local_id INTEGER PRIMARY KEY AUTOINCREMENT,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        meter_start INTEGER NOT NULL,
        start_ts TEXT NOT NULL,
        csms_id INTEGER,
        stop_ts TEXT,
        meter_stop INTEGER,
        stop_reason TEXT,
        state TEXT NOT NULL DEFAULT 'active'
    );
    CREATE TABLE IF NOT EXISTS auth_cache (
        id_tag TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        expiry TEXT,
        parent TEXT,
        updated REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS local_list (
        id_tag TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        expiry TEXT,
        parent TEXT
    );
    CREATE TABLE IF NOT EXISTS reservations (
        reservation_id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        parent TEXT,
        expiry TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        local_tx INTEGER,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: transaction data (Transaction.Begin/periodic samples) kept with the transaction,
    # so a Hard reset's StopTransaction carries it as a Soft one does
    "ALTER TABLE transactions ADD COLUMN tx_data TEXT NOT NULL DEFAULT '[]'",
    # 3: the security extension's certificate store and security log
    create_security_tables,
]


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, steps: list[Step] | None = None) -> int:
    """Run the steps this database has not seen, each in its own transaction."""
    steps = STEPS if steps is None else steps
    current = version(db)
    if current > len(steps):
        raise RuntimeError(
            f"agent.sqlite is at schema {current}, newer than this firmware's {len(steps)}"
        )
    for number, step in enumerate(steps[current:], start=current + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if callable(step):
                step(db)
            else:
                for statement in _statements(step):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return version(db)


def _statements(script: str) -> list[str]:
    """The script's statements (a ``;`` inside a comment or a string does not end one)."""
    out: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                out.append(buffer.strip())
            buffer = ""
    rest = buffer[:-1].strip()
    if rest and not all(
        line.strip().startswith("--") for line in rest.splitlines() if line.strip()
    ):
        out.append(rest)
    return out
