"""Charge-point-initiated messages answered by the handler functions over the store."""

import time
from datetime import UTC, datetime

import pytest

from bench.csms import handlers
from bench.csms.store import Store
from charger.clock import Clock

CP = "CP1"
T0 = datetime(2024, 10, 24, 9, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def store():
    s = Store(":memory:")
    s.put_charge_point(CP, "hash")
    yield s
    s.close()


@pytest.fixture
def clock():
    """Simulated time frozen near 2024-10-24T09:00Z (speed ~0 keeps it there)."""
    return Clock(origin_wall=time.time(), origin_sim=T0, speed=1e-9)


def put_tag(store, tag, status="Accepted", expiry=None, parent=None):
    store.put_id_tag(tag, status, expiry, parent)


def start(store, clock, **overrides):
    payload = {
        "connectorId": 1,
        "idTag": "TAG1",
        "meterStart": 1000,
        "timestamp": "2024-10-24T08:59:00.000Z",
        **overrides,
    }
    return handlers.start_transaction(store, clock, CP, payload)


def sampled(value, **fields):
    return {"value": value, **fields}


def test_boot_follows_policy(store, clock):
    payload = {"chargePointVendor": "CROCUS INC", "chargePointModel": "AE-240K-D"}
    answer = handlers.boot_notification(store, clock, CP, payload)
    assert answer == {
        "status": "Accepted",
        "currentTime": "2024-10-24T09:00:00.000Z",
        "interval": 60,
    }
    store.set_boot_policy(CP, "Pending", 15)
    assert handlers.boot_notification(store, clock, CP, payload)["status"] == "Pending"
    assert handlers.boot_notification(store, clock, CP, payload)["interval"] == 15
    assert store.charge_point(CP)["last_boot"] == payload


def test_heartbeat_gives_current_time(store, clock):
    assert handlers.heartbeat(store, clock, CP, {}) == {"currentTime": "2024-10-24T09:00:00.000Z"}


@pytest.mark.parametrize(
    "row, expected",
    [
        (None, {"status": "Invalid"}),
        (("Accepted", None, None), {"status": "Accepted"}),
        (("Blocked", None, None), {"status": "Blocked"}),
        (("Expired", None, None), {"status": "Expired"}),
        (("Invalid", None, None), {"status": "Invalid"}),
        (
            ("Accepted", "2024-10-24T08:00:00.000Z", None),
            {"status": "Expired", "expiryDate": "2024-10-24T08:00:00.000Z"},
        ),
        (
            ("Accepted", "2024-10-25T08:00:00.000Z", None),
            {"status": "Accepted", "expiryDate": "2024-10-25T08:00:00.000Z"},
        ),
        (("Accepted", None, "FLEET"), {"status": "Accepted", "parentIdTag": "FLEET"}),
    ],
)
def test_authorize(store, clock, row, expected):
    if row is not None:
        put_tag(store, "TAG1", *row)
    assert handlers.authorize(store, clock, CP, {"idTag": "TAG1"}) == {"idTagInfo": expected}


def test_id_tags_are_case_insensitive(store, clock):
    put_tag(store, "ABCDEF01")
    answer = handlers.authorize(store, clock, CP, {"idTag": "abcdef01"})
    assert answer["idTagInfo"]["status"] == "Accepted"


def test_start_transaction_retry_returns_same_id(store, clock):
    put_tag(store, "TAG1")
    first = start(store, clock)
    again = start(store, clock)
    assert first == again
    assert first["idTagInfo"] == {"status": "Accepted"}
    assert len(store.transactions(CP)) == 1
    other = start(store, clock, timestamp="2024-10-24T09:10:00.000Z")
    assert other["transactionId"] != first["transactionId"]
    assert len(store.transactions(CP)) == 2


def test_start_transaction_with_unknown_tag_still_gets_an_id(store, clock):
    answer = start(store, clock, idTag="NOBODY")
    assert answer["idTagInfo"] == {"status": "Invalid"}
    assert store.transaction(answer["transactionId"])["start_status"] == "Invalid"


def test_meter_values_stored_with_defaults_and_once(store, clock):
    tx = start(store, clock)["transactionId"]
    payload = {
        "connectorId": 1,
        "transactionId": tx,
        "meterValue": [
            {
                "timestamp": "2024-10-24T09:00:05.000Z",
                "sampledValue": [
                    sampled("1200"),
                    sampled("402.5", measurand="Voltage", unit="V", phase="L1", location="Outlet"),
                    sampled(
                        "56", measurand="SoC", unit="Percent", location="EV", context="Trigger"
                    ),
                    sampled("10", measurand="Current.Import"),
                ],
            }
        ],
    }
    assert handlers.meter_values(store, clock, CP, payload) == {}
    handlers.meter_values(store, clock, CP, payload)  # a retry stores nothing new
    rows = store.meter_values(tx)
    assert len(rows) == 4
    energy, voltage, soc, current = rows
    assert (energy["measurand"], energy["unit"], energy["context"], energy["location"]) == (
        "Energy.Active.Import.Register",
        "Wh",
        "Sample.Periodic",
        "Outlet",
    )
    assert (energy["format"], energy["phase"], energy["value"]) == ("Raw", None, "1200")
    assert (voltage["unit"], voltage["phase"]) == ("V", "L1")
    assert (soc["location"], soc["context"], soc["unit"]) == ("EV", "Trigger", "Percent")
    assert current["unit"] is None
    assert all(r["ts"] == "2024-10-24T09:00:05.000Z" and r["connector_id"] == 1 for r in rows)


def test_stop_transaction_closes_once_and_stores_transaction_data(store, clock):
    put_tag(store, "TAG1")
    tx = start(store, clock)["transactionId"]
    payload = {
        "transactionId": tx,
        "meterStop": 5000,
        "timestamp": "2024-10-24T09:30:00.000Z",
        "idTag": "TAG1",
        "reason": "EVDisconnected",
        "transactionData": [
            {
                "timestamp": "2024-10-24T09:30:00.000Z",
                "sampledValue": [sampled("5000", context="Transaction.End")],
            }
        ],
    }
    assert handlers.stop_transaction(store, clock, CP, payload) == {
        "idTagInfo": {"status": "Accepted"}
    }
    retry = {**payload, "meterStop": 9999}
    handlers.stop_transaction(store, clock, CP, retry)
    row = store.transaction(tx)
    assert (row["meter_stop"], row["stop_reason"], row["stop_ts"]) == (
        5000,
        "EVDisconnected",
        "2024-10-24T09:30:00.000Z",
    )
    [end] = store.meter_values(tx)
    assert (end["context"], end["source"], end["value"]) == (
        "Transaction.End",
        "StopTransaction",
        "5000",
    )


def test_stop_without_reason_means_local(store, clock):
    tx = start(store, clock)["transactionId"]
    payload = {"transactionId": tx, "meterStop": 1, "timestamp": "2024-10-24T09:30:00.000Z"}
    assert handlers.stop_transaction(store, clock, CP, payload) == {}
    assert store.transaction(tx)["stop_reason"] == "Local"


def test_stop_for_unknown_transaction_is_accepted_and_kept_aside(store, clock):
    payload = {
        "transactionId": 4242,
        "meterStop": 7,
        "timestamp": "2024-10-24T09:30:00.000Z",
        "reason": "PowerLoss",
        "transactionData": [
            {"timestamp": "2024-10-24T09:29:00.000Z", "sampledValue": [sampled("7")]}
        ],
    }
    assert handlers.stop_transaction(store, clock, CP, payload) == {}
    handlers.stop_transaction(store, clock, CP, payload)
    assert store.transactions(CP) == []
    [orphan] = store.unknown_stops(CP)
    assert (orphan["transaction_id"], orphan["stop_reason"]) == (4242, "PowerLoss")
    assert len(store.meter_values(4242)) == 1


def test_status_notification_history_and_latest(store, clock):
    for status in ("Available", "Preparing", "Charging"):
        payload = {"connectorId": 2, "errorCode": "NoError", "status": status}
        assert handlers.status_notification(store, clock, CP, payload) == {}
    assert store.connector_status(CP, 2) == "Charging"
    assert store.connector_status(CP, 1) is None
    assert [r["status"] for r in store.status_history(CP)] == ["Available", "Preparing", "Charging"]


def test_data_transfer_unknown_vendor(store, clock):
    answer = handlers.data_transfer(store, clock, CP, {"vendorId": "com.crocus"})
    assert answer == {"status": "UnknownVendorId"}


def test_firmware_and_diagnostics_status_are_stored(store, clock):
    handlers.HANDLERS["FirmwareStatusNotification"](store, clock, CP, {"status": "Downloading"})
    handlers.HANDLERS["DiagnosticsStatusNotification"](store, clock, CP, {"status": "Uploaded"})
    rows = store.notifications(CP)
    assert [(r["action"], r["status"]) for r in rows] == [
        ("FirmwareStatusNotification", "Downloading"),
        ("DiagnosticsStatusNotification", "Uploaded"),
    ]
