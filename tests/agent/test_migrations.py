"""agent.sqlite outlives firmware updates: its schema is migrated, never assumed."""

import sqlite3

import pytest

from charger.agent import migrations
from charger.agent.store import AgentStore

#: The schema every agent before versioned migrations created (user_version 0).
OLD_SCHEMA = """
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE transactions (
    local_id INTEGER PRIMARY KEY AUTOINCREMENT, connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL, meter_start INTEGER NOT NULL, start_ts TEXT NOT NULL,
    csms_id INTEGER, stop_ts TEXT, meter_stop INTEGER, stop_reason TEXT,
    state TEXT NOT NULL DEFAULT 'active');
CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY, status TEXT NOT NULL, expiry TEXT,
    parent TEXT, updated REAL NOT NULL);
CREATE TABLE local_list (id_tag TEXT PRIMARY KEY, status TEXT NOT NULL, expiry TEXT,
    parent TEXT);
CREATE TABLE reservations (reservation_id INTEGER PRIMARY KEY, connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL, parent TEXT, expiry TEXT NOT NULL);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, local_tx INTEGER,
    action TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
"""


def old_database(path):
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO config VALUES ('HeartbeatInterval', '77')")
    db.execute(
        "INSERT INTO transactions(connector_id, id_tag, meter_start, start_ts) "
        "VALUES (1, 'TAG', 1000, '2026-01-01T00:00:00Z')"
    )
    db.commit()
    db.close()


def test_an_old_database_is_brought_to_the_current_schema_keeping_its_data(tmp_path):
    path = tmp_path / "agent.sqlite"
    old_database(path)
    store = AgentStore(path)
    assert migrations.version(store.db) == len(migrations.STEPS)
    assert store.config()["HeartbeatInterval"] == "77"
    [tx] = store.active_transactions()
    store.add_tx_data(tx.local_id, {"timestamp": "t", "sampled_value": []})
    store.end_transaction(tx.local_id, 1500, "2026-01-01T01:00:00Z", "PowerLoss")
    assert store.head().payload["transaction_data"] == [{"timestamp": "t", "sampled_value": []}]
    store.close()
    assert migrations.migrate(sqlite3.connect(path)) == len(migrations.STEPS)  # idempotent


def test_a_database_from_newer_firmware_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "agent.sqlite", isolation_level=None)
    db.execute(f"PRAGMA user_version = {len(migrations.STEPS) + 1}")
    with pytest.raises(RuntimeError, match="newer than this firmware"):
        migrations.migrate(db)


def test_a_failing_step_leaves_the_database_at_the_last_good_version(tmp_path):
    db = sqlite3.connect(tmp_path / "agent.sqlite", isolation_level=None)
    steps = ["CREATE TABLE a (x)", "CREATE TABLE b (y); CREATE TABLE a (z)"]
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(db, steps)
    assert migrations.version(db) == 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name='b'").fetchone() is None


def test_the_database_is_private_to_the_charger(tmp_path):
    AgentStore(tmp_path / "agent.sqlite").close()
    assert (tmp_path / "agent.sqlite").stat().st_mode & 0o077 == 0
