"""The charge-point bench (CsmsBench + CsmsHandle) against our own CSMS, without the CLI."""

import asyncio
import re
import shlex

import pytest
from ocpp.v16 import call

from bench.scenarios.csms_role import (
    NO_ANSWER,
    CpConfig,
    CsmsBench,
    CsmsHandle,
    LocalOperator,
    OperatorActionUnavailable,
    command_hook,
)
from bench.scenarios.csms_role.rig import _cp_url
from bench.scenarios.handle import ScenarioFailed
from bench.scenarios.registry import select
from bench.scenarios.runner import RunOptions, run_case
from charger.clock import Clock

MS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SPEED = 10.0


async def with_handle(body, speed: float = SPEED):
    bench = CsmsBench(RunOptions(speed=speed), Clock.start(speed))
    await bench.start()
    try:
        return await body(bench.make_handle({}), bench)
    finally:
        await bench.stop()


def test_boot_exchange_is_traced_as_on_the_wire():
    async def body(t: CsmsHandle, bench: CsmsBench):
        boot = await t.booted()
        assert boot["status"] == "Accepted" and boot["interval"] > 0
        return list(bench.trace)

    trace = asyncio.run(with_handle(body))
    first, answer = trace[0], trace[1]
    assert (first["sender"], first["message_type"], first["action"]) == (
        "bench",
        2,
        "BootNotification",
    )
    assert first["payload"]["chargePointVendor"]  # camelCase, as on the wire
    assert (answer["sender"], answer["message_type"], answer["action"]) == (
        "dut",
        3,
        "BootNotification",
    )
    assert answer["unique_id"] == first["unique_id"]
    assert MS_TIMESTAMP.match(answer["payload"]["currentTime"])
    statuses = [f for f in trace if f["action"] == "StatusNotification" and f["sender"] == "bench"]
    assert [f["payload"]["connectorId"] for f in statuses] == [0, 1, 2]
    assert all(MS_TIMESTAMP.match(f["payload"]["timestamp"]) for f in statuses)
    assert all(isinstance(f["ts"], float) for f in trace)


def test_scripted_answer_to_remote_start_reaches_the_operator():
    async def body(t: CsmsHandle, bench: CsmsBench):
        assert isinstance(t.operator, LocalOperator)
        await t.booted()
        t.answer("RemoteStartTransaction", {"status": "Rejected"})
        request, sent = await t.operated(
            t.operator.remote_start(t.tags.valid, 1), "RemoteStartTransaction"
        )
        assert sent == {"idTag": t.tags.valid, "connectorId": 1}
        assert await t.outcome(request) == {"status": "Rejected"}
        # t.expect finds the CALL from the CSMS in the trace, too.
        assert (
            await t.expect("RemoteStartTransaction", {"connectorId": 1}, within=1, since=0) is sent
        )
        replies = [f for f in bench.trace if f["sender"] == "bench" and f["message_type"] == 3]
        assert replies[-1]["payload"] == {"status": "Rejected"}

        # A callable answer sees the request; None restores the default answer.
        seen = []
        t.answer("RemoteStartTransaction", lambda p: seen.append(p) or {"status": "Accepted"})
        request, _ = await t.operated(
            t.operator.remote_start(t.tags.valid2), "RemoteStartTransaction"
        )
        assert await t.outcome(request) == {"status": "Accepted"}
        assert seen == [{"idTag": t.tags.valid2}]
        t.answer("RemoteStartTransaction", None)
        request, _ = await t.operated(
            t.operator.remote_start(t.tags.valid, 9), "RemoteStartTransaction"
        )
        assert await t.outcome(request) == {"status": "Rejected"}  # no connector 9

    asyncio.run(with_handle(body))


def test_default_answers_use_the_charge_points_configuration():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        op = t.operator
        request, _ = await t.operated(
            op.get_configuration(["HeartbeatInterval", "X"]), "GetConfiguration"
        )
        report = await t.outcome(request)
        assert report["configurationKey"][0]["key"] == "HeartbeatInterval"
        assert report["unknownKey"] == ["X"]
        for key, value, status in [
            ("MeterValueSampleInterval", "15", "Accepted"),
            ("MeterValueSampleInterval", "soon", "Rejected"),
            ("NumberOfConnectors", "3", "Rejected"),
            ("NoSuchKey", "1", "NotSupported"),
        ]:
            request, _ = await t.operated(
                op.change_configuration(key, value), "ChangeConfiguration"
            )
            assert (await t.outcome(request))["status"] == status, (key, value)
        assert t.cp.config.get("MeterValueSampleInterval") == "15"

    asyncio.run(with_handle(body))


def test_trigger_message_is_answered_then_followed_by_the_message():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        since = t.mark()
        request, _ = await t.operated(t.operator.trigger_message("Heartbeat"), "TriggerMessage")
        assert (await t.outcome(request))["status"] == "Accepted"
        await t.wait_until(
            "triggered Heartbeat answered",
            lambda: any(
                f["action"] == "Heartbeat" and f["sender"] == "dut" for f in bench.trace[since:]
            ),
            within=10,
        )
        order = [(f["sender"], f["action"]) for f in bench.trace[since:]]
        assert order.index(("bench", "TriggerMessage")) < order.index(("bench", "Heartbeat"))

    asyncio.run(with_handle(body))


def test_expect_call_fails_with_what_the_csms_did_instead():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        await t.operator.unlock_connector(1)
        with pytest.raises(ScenarioFailed) as failed:
            await t.expect_call("RemoteStartTransaction", within=1, since=0)
        return str(failed.value)

    message = asyncio.run(with_handle(body))
    assert "the CSMS sent no RemoteStartTransaction" in message
    assert "UnlockConnector" in message


def test_an_unanswered_request_times_out_at_the_operator():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        t.answer("ClearCache", lambda p: NO_ANSWER)
        request, _ = await t.operated(t.operator.clear_cache(), "ClearCache")
        with pytest.raises(ScenarioFailed, match="no result"):
            await t.outcome(request, within=2)

    asyncio.run(with_handle(body))


def test_send_reports_the_csms_refusing_the_connection():
    async def body(t: CsmsHandle, bench: CsmsBench):
        t.cp.password = "wrong-password-0123456789"
        with pytest.raises(ScenarioFailed, match="HTTP 401"):
            await t.connect()
        with pytest.raises(ScenarioFailed, match="not connected"):
            await t.send(call.Heartbeat())

    asyncio.run(with_handle(body))


def test_offline_transaction_keeps_its_past_timestamps():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        await t.disconnect(abrupt=True)
        started = t.now(-120)
        await t.connect()
        start = await t.start_transaction(1, t.tags.valid, timestamp=started)
        await t.stop_transaction(start["transactionId"], "Local", timestamp=t.now(-60))
        tx = bench.operator.transactions()[0]
        assert tx["start_ts"] == started and tx["stop_reason"] == "Local"

    asyncio.run(with_handle(body))


def test_a_core_case_through_the_runner():
    case = select(["TC_023_2_CSMS"])[0]
    result = asyncio.run(run_case(case, RunOptions(speed=SPEED)))
    assert result.verdict == "pass", result.details
    assert result.role == "csms"
    authorize = [f for f in result.trace if f["action"] == "Authorize"]
    assert authorize[-1]["sender"] == "dut"
    assert authorize[-1]["payload"]["idTagInfo"]["status"] == "Expired"
    assert any("Authorize" in s["text"] for s in result.steps)


def test_core_cases_are_registered_with_titles_and_docstrings():
    cases = select(roles=["csms"], profiles=["core"])
    ids = [c.id for c in cases]
    assert len(ids) == 34 and len(set(ids)) == 34
    assert ids[0] == "TC_001_CSMS" and ids[-1] == "TC_064_CSMS"
    for case in cases:
        assert case.title and case.fn.__doc__, case.id
        assert case.requires == ("profile.core",)


def test_charge_point_configuration_and_urls():
    config = CpConfig(2)
    assert config.change("HeartbeatInterval", "30") == "Accepted"
    assert config.change("HeartbeatInterval", "-1") == "Rejected"
    assert config.change("LocalPreAuthorize", "TRUE") == "Accepted"
    assert config.get("LocalPreAuthorize") == "true"
    assert config.report(None)["configurationKey"][0]["key"] == "AllowOfflineTxForUnknownId"
    assert _cp_url("wss://csms.example/ocpp/", "CP1") == "wss://csms.example/ocpp/"
    assert _cp_url("wss://csms.example/ocpp", "CP1") == "wss://csms.example/ocpp/"
    assert _cp_url("wss://csms.example/ocpp/CP1", "CP1") == "wss://csms.example/ocpp/CP1"


def test_operator_call_sends_any_request():
    async def body(t: CsmsHandle, bench: CsmsBench):
        await t.booted()
        request, sent = await t.operated(
            t.operator.call(call.GetLocalListVersion()), "GetLocalListVersion"
        )
        assert sent == {}
        assert await t.outcome(request) == {"listVersion": 0}

    asyncio.run(with_handle(body))


def test_command_hook_runs_a_program_per_operator_action():
    import sys

    script = "import json, sys; print(json.dumps({'did': sys.argv[1], **json.loads(sys.argv[2])}))"
    hook = command_hook(f"{sys.executable} -c {shlex.quote(script)}")
    result = asyncio.run(hook("reset", {"cp_id": "CP1", "kind": "Hard"}))
    assert result == {"did": "reset", "cp_id": "CP1", "kind": "Hard"}
    failing = command_hook(f"{sys.executable} -c 'import sys; sys.exit(\"no console\")'")
    with pytest.raises(OperatorActionUnavailable, match="no console"):
        asyncio.run(failing("reset", {}))
