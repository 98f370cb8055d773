"""Malformed and valid frames through Link.route_message, without a socket."""

import asyncio
import json

import pytest
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.link import Link

NOW = "2024-10-24T09:00:00.000Z"
BOOT = {"chargePointVendor": "CROCUS INC", "chargePointModel": "AE-240K-D"}


class FakeConnection:
    """What the link needs from a WebSocket: send, recv, close."""

    def __init__(self):
        self.sent: list[str] = []
        self.inbox: asyncio.Queue = asyncio.Queue()

    async def send(self, message):
        self.sent.append(message)

    async def recv(self):
        return await self.inbox.get()

    async def close(self, code=1000, reason=""):
        pass


class TestLink(Link):
    """Answers Heartbeat, BootNotification, StatusNotification and MeterValues only."""

    __test__ = False

    @on(Action.heartbeat)
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=NOW)

    @on(Action.boot_notification)
    def on_boot(self, call_unique_id, **_):
        if self.inbound_payload(call_unique_id)["chargePointModel"] == "crash":
            raise RuntimeError("handler bug")
        if self.inbound_payload(call_unique_id)["chargePointModel"] == "bad-answer":
            return call_result.BootNotification(current_time=NOW, interval=10, status="Nope")
        return call_result.BootNotification(current_time=NOW, interval=10, status="Accepted")

    @on(Action.status_notification)
    def on_status(self, **_):
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, **_):
        return call_result.MeterValues()


def route(raw, link_cls=TestLink):
    """Feed one raw frame; return (frames sent back as lists, trace entries)."""

    async def main():
        conn = FakeConnection()
        frames = []
        link = link_cls("CP1", conn, on_frame=lambda *args: frames.append(args))
        await link.route_message(raw)
        return [json.loads(m) for m in conn.sent], frames

    return asyncio.run(main())


@pytest.mark.parametrize(
    "raw, unique_id, code",
    [
        ("hello", "-1", "FormationViolation"),
        (b"\xff\xfe", "-1", "FormationViolation"),
        ('[2,"abc","Heartbeat",{', "abc", "FormationViolation"),
        ('{"a": 1}', "-1", "ProtocolError"),
        ("[]", "-1", "ProtocolError"),
        ('["2","x","Heartbeat",{}]', "x", "ProtocolError"),
        ('[7,"id1",{}]', "id1", "ProtocolError"),
        ('[2,"id2","Heartbeat"]', "id2", "ProtocolError"),
        ('[2,"id3","Heartbeat",{},5]', "id3", "ProtocolError"),
        ('[2,5,"Heartbeat",{}]', "-1", "ProtocolError"),
        ('[2,"' + "x" * 37 + '","Heartbeat",{}]', "x" * 37, "ProtocolError"),
        ('[2,"id4",7,{}]', "id4", "ProtocolError"),
        ('[2,"id5","Heartbeat",[]]', "id5", "FormationViolation"),
        ('[2,"id6","FooBar",{}]', "id6", "NotImplemented"),
        ('[2,"id7","Reset",{"type":"Soft"}]', "id7", "NotSupported"),
    ],
)
def test_malformed_frame_gets_callerror(raw, unique_id, code):
    sent, frames = route(raw)
    assert len(sent) == 1
    assert sent[0][:3] == [4, unique_id, code]
    assert isinstance(sent[0][3], str) and isinstance(sent[0][4], dict)
    assert [f[0] for f in frames] == ["in", "out"]
    assert frames[1][2] == 4


@pytest.mark.parametrize(
    "action, payload, code",
    [
        ("BootNotification", {"chargePointVendor": "X"}, "ProtocolError"),
        ("BootNotification", {**BOOT, "chargePointVendor": 12}, "TypeConstraintViolation"),
        ("BootNotification", {**BOOT, "chargePointModel": "M" * 21}, "TypeConstraintViolation"),
        ("BootNotification", {**BOOT, "colour": "red"}, "FormationViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Bogus"},
            "PropertyConstraintViolation",
        ),
        ("MeterValues", {"connectorId": 1, "meterValue": []}, "OccurenceConstraintViolation"),
    ],
)
def test_schema_violation_gets_ocpp16_code(action, payload, code):
    sent, _ = route(json.dumps([2, "u1", action, payload]))
    assert sent[0][:3] == [4, "u1", code]


@pytest.mark.parametrize(
    "model, code", [("crash", "InternalError"), ("bad-answer", "InternalError")]
)
def test_our_own_failure_is_internal_error(model, code):
    sent, _ = route(json.dumps([2, "u2", "BootNotification", {**BOOT, "chargePointModel": model}]))
    assert sent[0][:3] == [4, "u2", code]


@pytest.mark.parametrize("raw", ['[3,"x"]', '[3,"x",{},1]', '[4,"x","GenericError"]', "[4,"])
def test_malformed_responses_are_traced_not_answered(raw):
    sent, frames = route(raw)
    assert sent == []
    assert len(frames) == 1 and frames[0][0] == "in"


def test_unknown_message_type_can_be_ignored_as_the_spec_says():
    class Quiet(TestLink):
        answer_unknown_message_type = False

    assert route('[7,"id1",{}]', Quiet)[0] == []


def test_valid_call_is_answered_and_traced_both_ways():
    sent, frames = route('[2,"h1","Heartbeat",{}]')
    assert sent == [[3, "h1", {"currentTime": NOW}]]
    (d1, a1, t1, u1, p1, ts1), (d2, a2, t2, u2, p2, ts2) = frames
    assert (d1, a1, t1, u1, p1) == ("in", "Heartbeat", 2, "h1", {})
    assert (d2, a2, t2, u2, p2) == ("out", "Heartbeat", 3, "h1", {"currentTime": NOW})
    assert ts1 <= ts2


def test_schema_violation_in_decimal_validated_action():
    """RemoteStartTransaction is validated with Decimal floats by the ocpp package."""

    class Charger(TestLink):
        @on(Action.remote_start_transaction)
        def on_remote_start(self, **_):
            return call_result.RemoteStartTransaction(status="Accepted")

    schedule = {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.5}],
    }
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
    }
    ok = [2, "r1", "RemoteStartTransaction", {"idTag": "T", "chargingProfile": profile}]
    assert route(json.dumps(ok), Charger)[0] == [[3, "r1", {"status": "Accepted"}]]
    bad = [
        2,
        "r2",
        "RemoteStartTransaction",
        {"idTag": "T", "chargingProfile": {**profile, "x": 1}},
    ]
    assert route(json.dumps(bad), Charger)[0][0][:3] == [4, "r2", "FormationViolation"]


def test_failing_after_hook_does_not_answer_twice():
    class After(TestLink):
        @after(Action.heartbeat)
        def after_heartbeat(self):
            raise RuntimeError("after-hook bug")

    sent, _ = route('[2,"h2","Heartbeat",{}]', After)
    assert sent == [[3, "h2", {"currentTime": NOW}]]


def test_handler_sees_wire_payload():
    seen = {}

    class Spy(TestLink):
        @on(Action.authorize)
        def on_authorize(self, call_unique_id, **_):
            seen.update(self.inbound_payload(call_unique_id))
            return call_result.Authorize(id_tag_info={"status": "Accepted"})

    sent, _ = route('[2,"a1","Authorize",{"idTag":"TAG1"}]', Spy)
    assert seen == {"idTag": "TAG1"}
    assert sent == [[3, "a1", {"idTagInfo": {"status": "Accepted"}}]]


async def _request_with_reply(reply):
    """Send a GetConfiguration through request() and answer it with ``reply(unique_id)``."""
    conn = FakeConnection()
    frames = []
    link = TestLink("CP1", conn, on_frame=lambda *a: frames.append(a), response_timeout=2)
    task = asyncio.create_task(link.request(call.GetConfiguration(key=["HeartbeatInterval"])))
    while not conn.sent:
        await asyncio.sleep(0)
    sent = json.loads(conn.sent[0])
    assert sent[:3] == [2, sent[1], "GetConfiguration"]
    assert sent[3] == {"key": ["HeartbeatInterval"]}
    if reply is None:
        await link.close()
    else:
        await link.route_message(json.dumps(reply(sent[1])))
    try:
        return await task
    finally:
        assert frames[0][:3] == ("out", "GetConfiguration", 2)


def test_request_returns_wire_payload():
    key = {"key": "HeartbeatInterval", "readonly": False, "value": "60"}
    result = asyncio.run(_request_with_reply(lambda uid: [3, uid, {"configurationKey": [key]}]))
    assert result == {"configurationKey": [key]}


def test_request_raises_call_error_with_its_code():
    with pytest.raises(CallErrorReceived) as err:
        asyncio.run(_request_with_reply(lambda uid: [4, uid, "NotSupported", "no", {}]))
    assert err.value.code == "NotSupported"
    assert err.value.action == "GetConfiguration"


def test_request_on_closed_link_raises_not_connected():
    with pytest.raises(NotConnected):
        asyncio.run(_request_with_reply(None))


def test_an_answer_queued_behind_a_call_we_cannot_answer_still_counts():
    """The peer sends a CALL, then its answer to our Reset, then closes: answering its
    CALL fails (closed), yet the answer behind it is still read and returned."""
    from websockets.exceptions import ConnectionClosedOK
    from websockets.frames import Close

    class ClosingConnection(FakeConnection):
        async def send(self, message):
            if self.sent:  # our Reset went out; then the peer closed
                raise ConnectionClosedOK(Close(1001, "rebooting"), None)
            await super().send(message)

    async def main():
        conn = ClosingConnection()
        link = TestLink("CP1", conn, response_timeout=2)
        task = asyncio.create_task(link.request(call.Reset(type="Soft")))
        while not conn.sent:
            await asyncio.sleep(0)
        uid = json.loads(conn.sent[0])[1]
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        await link.route_message(json.dumps([2, "s1", "StatusNotification", status]))
        await link.route_message(json.dumps([3, uid, {"status": "Accepted"}]))
        return await task

    assert asyncio.run(main()) == {"status": "Accepted"}


RESERVE = {"connectorId": 1, "expiryDate": NOW, "idTag": "T", "reservationId": 1}
PROFILE = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": "LIMIT"}],
    },
}


class Everything(TestLink):
    """Answers the calls the hostile frames below aim at."""

    @on(Action.reserve_now)
    def on_reserve(self, **_):
        return call_result.ReserveNow(status="Accepted")

    @on(Action.set_charging_profile)
    def on_profile(self, **_):
        return call_result.SetChargingProfile(status="Accepted")


def _profile_frame(limit: str) -> str:
    body = json.dumps({"connectorId": 1, "csChargingProfiles": PROFILE})
    return '[2,"p1","SetChargingProfile",' + body.replace('"LIMIT"', limit) + "]"


@pytest.mark.parametrize(
    "raw, code",
    [
        ("[" * 1200 + "]" * 1200, "FormationViolation"),
        ('[2,"d1","Heartbeat",' + '{"a":' * 1200 + "1" + "}" * 1200 + "]", "FormationViolation"),
        ('[2,"d2","Heartbeat",' + '{"a":' * 40 + "1" + "}" * 40 + "]", "FormationViolation"),
        ('[2,"n1","StatusNotification",{"connectorId":NaN}]', "FormationViolation"),
        ('[2,"n2","StatusNotification",{"connectorId":-Infinity}]', "FormationViolation"),
        ('[2,"n3","StatusNotification",{"connectorId":1e400}]', "FormationViolation"),
        (
            '[2,"c1","StatusNotification",{"connectorId":1000000000000000000000000000000,'
            '"errorCode":"NoError","status":"Available"}]',
            "PropertyConstraintViolation",
        ),
        (
            f'[2,"c2","StatusNotification",{{"connectorId":{2**63},'
            '"errorCode":"NoError","status":"Available"}]',
            "PropertyConstraintViolation",
        ),
        (
            f'[2,"c3","StatusNotification",{{"connectorId":{-(2**63)},'
            '"errorCode":"NoError","status":"Available"}]',
            "PropertyConstraintViolation",
        ),
        (_profile_frame("NaN"), "FormationViolation"),
        (_profile_frame("Infinity"), "FormationViolation"),
        (_profile_frame("1e308"), "PropertyConstraintViolation"),
        (
            json.dumps([2, "r1", "ReserveNow", {**RESERVE, "expiryDate": "not-a-date"}]),
            "PropertyConstraintViolation",
        ),
        (
            json.dumps([2, "r2", "ReserveNow", {**RESERVE, "expiryDate": "2024-13-40T99:00:00Z"}]),
            "PropertyConstraintViolation",
        ),
        (b'[2,"b1","Heartbeat",{}]', "FormationViolation"),
    ],
)
def test_hostile_frame_gets_its_callerror_not_a_crash(raw, code):
    sent, frames = route(raw, Everything)
    assert len(sent) == 1 and sent[0][0] == 4
    assert sent[0][2] == code, sent[0]
    assert [f[0] for f in frames] == ["in", "out"]


def test_valid_dates_and_limits_still_pass():
    sent, _ = route(json.dumps([2, "r3", "ReserveNow", RESERVE]), Everything)
    assert sent == [[3, "r3", {"status": "Accepted"}]]
    offset = {**RESERVE, "expiryDate": "2024-10-24T11:00:00+02:00"}
    assert route(json.dumps([2, "r4", "ReserveNow", offset]), Everything)[0][0][0] == 3
    assert route(_profile_frame("16.5"), Everything)[0] == [[3, "p1", {"status": "Accepted"}]]


def test_a_binary_frame_is_not_answered_like_text():
    sent, frames = route(b'[2,"b2","Heartbeat",{}]')
    assert sent[0][:3] == [4, "b2", "FormationViolation"]
    assert "binary" in sent[0][3] + json.dumps(sent[0][4])
    assert frames[0][4] == {"raw": '[2,"b2","Heartbeat",{}]'}


def test_thousands_of_stray_responses_do_not_break_later_calls():
    async def main():
        conn = FakeConnection()
        link = TestLink("CP1", conn, response_timeout=2)
        for n in range(3000):
            await link.route_message(json.dumps([3, f"stray-{n}", {}]))
            await link.route_message(json.dumps([4, f"err-{n}", "GenericError", "", {}]))
        task = asyncio.create_task(link.request(call.Heartbeat()))
        while not conn.sent:
            await asyncio.sleep(0)
        uid = json.loads(conn.sent[0])[1]
        await link.route_message(json.dumps([3, uid, {"currentTime": NOW}]))
        return await task

    assert asyncio.run(main()) == {"currentTime": NOW}


def test_an_answer_just_before_the_peer_closes_is_not_lost():
    """A charger answers Reset Accepted and closes to reboot: the caller gets the answer."""

    async def main():
        conn = FakeConnection()
        link = TestLink("CP1", conn, response_timeout=2)
        task = asyncio.create_task(link.request(call.Reset(type="Hard")))
        while not conn.sent:
            await asyncio.sleep(0)
        uid = json.loads(conn.sent[0])[1]
        await link.route_message(json.dumps([3, uid, {"status": "Accepted"}]))
        link.mark_closed()  # the close arrives before the caller ran again
        return await task

    assert asyncio.run(main()) == {"status": "Accepted"}
