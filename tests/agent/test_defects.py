"""Defects an independent OCPP 1.6 suite found in the agent (issue 13, part 1)."""

from __future__ import annotations

import asyncio
import json

from agent_fakes import FakeLink, make_charger
from ocpp.v16 import call

from charger.agent.features.core import REBOOT_REASON
from charger.agent.link import AgentLink
from charger.agent.uplink import GOING_AWAY


class FakeConnection:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, message: str) -> None:
        self.sent.append(message)

    async def recv(self) -> str:
        await asyncio.Event().wait()
        return ""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


def answer(charger, frame: list) -> list:
    """Route one CALL frame through the agent's link; the frame it sent back."""
    connection = FakeConnection()
    link = AgentLink("CP", connection, charger.features, clock=charger.clock)

    async def go():
        await link.route_message(json.dumps(frame))

    asyncio.run(go())
    return json.loads(connection.sent[-1])


def test_configuration_keys_are_matched_whatever_their_case(tmp_path):
    charger = make_charger(tmp_path)
    reply = answer(
        charger, [2, "1", "ChangeConfiguration", {"key": "ConnectionTimeout", "value": "42"}]
    )
    assert reply == [3, "1", {"status": "Accepted"}]
    assert charger.config.int("ConnectionTimeOut") == 42
    reply = answer(charger, [2, "2", "GetConfiguration", {"key": ["connectiontimeout"]}])
    assert reply[2]["configurationKey"] == [
        {"key": "ConnectionTimeOut", "readonly": False, "value": "42"}
    ]


def test_a_new_heartbeat_interval_applies_at_once(tmp_path):
    charger = make_charger(tmp_path, HeartbeatInterval="3600")
    link = FakeLink([])

    async def go():
        charger.outbox.connected(link)
        pump = asyncio.create_task(charger.outbox.run())
        beats = asyncio.create_task(charger.uplink._heartbeats())
        await asyncio.sleep(0.05)
        assert charger.config.change("HeartbeatInterval", "5") == "Accepted"
        # 5 simulated s at speed 100 is 0.05 s; the old interval would be 36 s
        for _ in range(100):
            if any(name == "Heartbeat" for name, _ in link.sent):
                break
            await asyncio.sleep(0.02)
        for task in (pump, beats):
            task.cancel()

    asyncio.run(go())
    assert [name for name, _ in link.sent][:1] == ["Heartbeat"]


def test_remote_start_and_stop_are_rejected_while_the_registration_is_pending(tmp_path):
    charger = make_charger(tmp_path)
    charger.uplink.registration = "Pending"
    start = answer(charger, [2, "1", "RemoteStartTransaction", {"idTag": "TAG", "connectorId": 1}])
    assert start[2] == {"status": "Rejected"}
    assert charger.connectors[1].authorized_tag is None
    stop = answer(charger, [2, "2", "RemoteStopTransaction", {"transactionId": 1}])
    assert stop[2] == {"status": "Rejected"}
    charger.uplink.registration = "Accepted"
    start = answer(charger, [2, "3", "RemoteStartTransaction", {"idTag": "TAG", "connectorId": 1}])
    assert start[2] == {"status": "Accepted"}


def test_a_hard_reset_stop_transaction_carries_its_transaction_data(tmp_path):
    charger = make_charger(tmp_path, StopTxnSampledData="Energy.Active.Import.Register")

    async def start():
        await charger._start_transaction(1, "TAG", None)

    asyncio.run(start())
    charger.config.set_internal(REBOOT_REASON, "HardReset")
    charger.store.close()
    after = make_charger(tmp_path)  # the reboot
    asyncio.run(after._recover_after_power_loss())
    stops = []
    while (item := after.store.head()) is not None:
        if item.action == "StopTransaction":
            stops.append(item.payload)
        after.store.done(item.seq)
    [stop] = stops
    assert stop["reason"] == "HardReset"
    [begin] = stop["transaction_data"]
    assert begin["sampled_value"][0]["context"] == "Transaction.Begin"


def test_a_commanded_reboot_closes_the_websocket_going_away(tmp_path):
    charger = make_charger(tmp_path)
    connection = FakeConnection()
    charger.uplink.ws = connection
    asyncio.run(charger.uplink.close())
    assert connection.closed is not None and connection.closed[0] == GOING_AWAY == 1001


def test_not_implemented_and_not_supported_say_what_they_mean(tmp_path):
    charger = make_charger(tmp_path)
    charger.features = []  # a charger without any feature: every 1.6 action NotSupported
    unknown = answer(charger, [2, "1", "MakeCoffee", {}])
    assert unknown[2:4] == ["NotImplemented", "Requested Action is not known by receiver"]
    known = answer(charger, [2, "2", "ClearCache", {}])
    assert known[2:4] == [
        "NotSupported",
        "Requested Action is recognized but not supported by the receiver",
    ]


def test_the_trigger_answer_leaves_before_the_triggered_message(tmp_path):
    charger = make_charger(tmp_path)
    reply = answer(charger, [2, "1", "TriggerMessage", {"requestedMessage": "Heartbeat"}])
    assert reply == [3, "1", {"status": "Accepted"}]
    queued = charger.outbox.fifo.get_nowait()
    assert isinstance(queued.payload, call.Heartbeat)


def test_going_down_waits_for_the_answer_in_progress(tmp_path):
    """A Reset right after a key change (which asks for a reconnect) lost its answer when
    the connection was closed under the handler."""
    charger = make_charger(tmp_path)
    events: list[str] = []

    class BusyLink:
        def __init__(self) -> None:
            self.busy = True

        def answering(self) -> bool:
            return self.busy

    class RecordingConnection(FakeConnection):
        async def close(self, code: int = 1000, reason: str = "") -> None:
            events.append(f"close {code}")

    async def go():
        link = BusyLink()
        charger.uplink.ws, charger.uplink.link = RecordingConnection(), link

        async def answer_leaves():
            await asyncio.sleep(0.2)
            events.append("answer sent")
            link.busy = False

        sender = asyncio.create_task(answer_leaves())
        await charger.uplink.close()
        await sender

    asyncio.run(go())
    assert events == ["answer sent", "close 1001"]
