"""The security log: kept, bounded, and what of it is sent."""

import sqlite3

from charger.agent.features.security import events
from charger.agent.features.security.tables import create_tables


def test_the_security_log_is_bounded_and_keeps_what_it_sends(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "LOG_MAX_ENTRIES", 5)
    db = sqlite3.connect(tmp_path / "log.sqlite", isolation_level=None)
    create_tables(db)
    sent = []
    log = events.SecurityLog(db, sent.append)
    for minute in range(8):
        log.record("InvalidMessages", f"2026-01-01T10:0{minute}:00Z", f"frame {minute}")
    log.record("StartupOfTheDevice", "2026-01-01T10:09:00Z", "x" * 300)
    kept = log.entries()
    assert len(kept) == 5 and kept[0].tech_info == "frame 4"
    assert sent == [
        {"type": "StartupOfTheDevice", "timestamp": "2026-01-01T10:09:00Z", "tech_info": "x" * 255}
    ]
    db.close()
