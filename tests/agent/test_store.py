"""The outbox keeps transaction messages in order across a restart."""

from charger.agent.store import AgentStore


def test_outbox_order_and_recovery(tmp_path):
    store = AgentStore(tmp_path / "a.sqlite")
    local = store.begin_transaction(1, "TAG", 1000, "2026-01-01T00:00:00.000Z")
    store.enqueue(local, "MeterValues", {"connector_id": 1, "meter_value": []})
    store.close()

    store = AgentStore(tmp_path / "a.sqlite")  # as after a kill -9
    assert [t.local_id for t in store.active_transactions()] == [local]
    store.end_transaction(local, 1500, "2026-01-01T00:10:00.000Z", "PowerLoss")
    actions = []
    while (item := store.head()) is not None:
        actions.append((item.action, item.payload.get("reason")))
        store.done(item.seq)
    assert actions == [
        ("StartTransaction", None),
        ("MeterValues", None),
        ("StopTransaction", "PowerLoss"),
    ]
    assert store.active_transactions() == []


def test_start_payload_is_what_the_ocpp_call_takes(tmp_path):
    store = AgentStore(tmp_path / "a.sqlite")
    store.begin_transaction(2, "TAG", 5, "2026-01-01T00:00:00.000Z")
    head = store.head()
    from ocpp.v16 import call

    request = call.StartTransaction(**head.payload)
    assert request.connector_id == 2 and request.meter_start == 5
