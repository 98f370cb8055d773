"""The outbox's delivery inside the charger, with fake hardware and a fake OCPP link: no sockets."""

from __future__ import annotations

import asyncio

from agent_fakes import FakeLink, make_charger

from charger.protocol.errors import CallErrorReceived


def error() -> CallErrorReceived:
    return CallErrorReceived("StartTransaction", "InternalError", "db down", {})


def run(coro):
    return asyncio.run(coro)


def test_a_transaction_message_is_retried_then_delivered_in_order(tmp_path):
    charger = make_charger(tmp_path, TransactionMessageAttempts="3")
    local = charger.store.begin_transaction(1, "TAG", 1000, "2026-01-01T00:00:00.000Z")
    charger.store.end_transaction(local, 1500, "2026-01-01T00:10:00.000Z", "Local", "TAG")
    link = FakeLink([error(), {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}, {}])

    async def go():
        charger.outbox.connected(link)
        await charger.outbox._drain()

    run(go())
    assert [name for name, _ in link.sent] == [
        "StartTransaction",
        "StartTransaction",
        "StopTransaction",
    ]
    assert link.sent[2][1].transaction_id == 7  # the CSMS's id, learnt from the retry
    assert charger.store.pending() == 0


def test_give_up_after_transaction_message_attempts(tmp_path):
    charger = make_charger(tmp_path, TransactionMessageAttempts="2")
    local = charger.store.begin_transaction(1, "TAG", 1000, "2026-01-01T00:00:00.000Z")
    charger.store.end_transaction(local, 1500, "2026-01-01T00:10:00.000Z", "Local")
    link = FakeLink([error(), error()])

    async def go():
        charger.outbox.connected(link)
        await charger.outbox._drain()

    run(go())
    # two attempts at the start; the stop cannot go without a transactionId: dropped too
    assert [name for name, _ in link.sent] == ["StartTransaction", "StartTransaction"]
    assert charger.store.pending() == 0


def test_a_lost_connection_keeps_the_message_for_later(tmp_path):
    from charger.protocol.errors import NotConnected

    charger = make_charger(tmp_path)
    charger.store.begin_transaction(1, "TAG", 1000, "2026-01-01T00:00:00.000Z")
    link = FakeLink([NotConnected("gone")])

    async def go():
        charger.outbox.connected(link)
        await charger.outbox._drain()

    run(go())
    assert charger.store.pending() == 1  # still there, attempt not counted
    assert charger.store.head().attempts == 0


def test_invalid_id_at_start_stops_the_transaction(tmp_path):
    charger = make_charger(tmp_path, StopTransactionOnInvalidId="true")
    local = charger.store.begin_transaction(1, "TAG", 1000, "2026-01-01T00:00:00.000Z")
    charger.local_tx[1] = local
    charger.connectors[1].tx_active = True
    link = FakeLink([{"transactionId": 3, "idTagInfo": {"status": "Blocked"}}])

    async def go():
        charger.outbox.connected(link)
        await charger.outbox._drain()

    run(go())
    assert charger.connectors[1].stopping == "DeAuthorized"
    assert charger.store.cache_get("TAG") == {"status": "Blocked"}  # learnt into the cache
