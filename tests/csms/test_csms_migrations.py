"""csms.sqlite outlives bench updates: an unversioned database is migrated, not assumed."""

import sqlite3

import pytest

from bench.csms.store import Store
from bench.csms.store.schema import STEPS
from charger.agent.migrations import version


def test_a_database_from_before_versioning_gains_the_security_tables_and_keeps_its_rows(
    tmp_path,
):
    path = tmp_path / "csms.sqlite"
    db = sqlite3.connect(path)
    db.executescript(STEPS[0])  # what the CSMS created before schema versions
    db.execute("INSERT INTO charge_points(id, password_hash) VALUES ('OLD-CP', 'h')")
    db.commit()
    db.close()
    store = Store(path)
    assert version(store.connection) == len(STEPS)
    assert store.charge_point("OLD-CP")["password_hash"] == "h"
    tables = {r[0] for r in store.connection.execute("SELECT name FROM sqlite_master")}
    assert {"cp_security", "issued_certificates", "signed_firmware"} <= tables
    store.close()
    assert version(Store(path).connection) == len(STEPS)  # opening again changes nothing


def test_a_database_of_a_newer_bench_is_refused(tmp_path):
    path = tmp_path / "csms.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(STEPS) + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_the_database_holding_password_hashes_is_the_owners_alone(tmp_path):
    path = tmp_path / "csms.sqlite"
    path.touch(mode=0o644)  # one a bench made before: tightened when opened
    store = Store(path)
    store.connection.execute("SELECT 1")
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {
        "csms.sqlite": 0o600,
        "csms.sqlite-wal": 0o600,
        "csms.sqlite-shm": 0o600,
    }
    store.close()
