"""The security feature's SQLite tables, as one step of the agent's schema migrations.

``charger/agent/migrations.py`` lists :func:`create_tables` as one of its steps (never
edited once shipped).
"""

from __future__ import annotations

import sqlite3

SCHEMA = (
    # Installed certificates: the roots (CentralSystemRootCertificate,
    # ManufacturerRootCertificate) and the ChargePointCertificate chain.
    """
    CREATE TABLE IF NOT EXISTS certificates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        pem TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        installed_ts TEXT NOT NULL,
        UNIQUE (type, fingerprint)
    )
    """,
    # The security log (whitepaper use case A04: every security event, kept across power loss).
    """
    CREATE TABLE IF NOT EXISTS security_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        type TEXT NOT NULL,
        tech_info TEXT,
        critical INTEGER NOT NULL
    )
    """,
)


def create_tables(db: sqlite3.Connection) -> None:
    """The migration step: the certificate store and the security log."""
    for statement in SCHEMA:
        db.execute(statement)
