"""The outbox's delivery inside the charger, with fake hardware and a fake OCPP link: no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from charger.agent.runtime import Charger
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.hw.interfaces import (
    ConnectorHardware,
    CpReading,
    EvStatus,
    Hardware,
    MeterReading,
    PowerStatus,
    PpReading,
)
from charger.protocol.errors import CallErrorReceived


class FakeMeter:
    async def read(self) -> MeterReading:
        return MeterReading(400.0, 0.0, 0.0, 1000.0, 0.0)

    async def close(self) -> None: ...


class FakePilot:
    def set_duty(self, duty): ...

    def cp(self):
        return CpReading("A", 12.0, 12.0)

    def pp(self):
        return PpReading(4.5, False)

    def close(self): ...


class FakePower:
    async def start(self): ...

    async def close(self): ...

    async def set_contactors(self, connector, closed): ...

    async def set_output(self, connector, voltage_v, current_a): ...

    async def set_evse(self, connector, command): ...

    def status(self, connector):
        return PowerStatus()

    def ev(self, connector):
        return EvStatus()

    def age_s(self, connector):
        return 0.1


class FakeRfid:
    def start(self, on_event): ...

    def close(self): ...


class FakeLink:
    """Answers CALLs from a script: an exception to raise or a response to return."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.sent: list[tuple[str, dict]] = []

    async def request(self, payload: Any) -> dict:
        self.sent.append((type(payload).__name__, payload))
        answer = self.script.pop(0) if self.script else {}
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_charger(tmp_path, **config: str) -> Charger:
    hw = Hardware(
        connectors={1: ConnectorHardware(1, "CCS2", FakeMeter(), FakePilot())},
        power=FakePower(),
        rfid=FakeRfid(),
    )
    settings = AgentSettings(
        charge_point_id="CP",
        csms_url="ws://127.0.0.1:1/ocpp",
        state_dir=str(tmp_path),
        hardware_file="unused",
        initial_config={"TransactionMessageRetryInterval": "1", **config},
    )
    return Charger(settings, hw, Clock.start(speed=100))


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
