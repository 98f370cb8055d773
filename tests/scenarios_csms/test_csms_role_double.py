"""The engine can fail a Central System: the Core cases against a misbehaving CSMS double.

The double is a tiny Central System on ``charger.protocol.link`` (plain ws://, any
credentials). It answers like a sane CSMS unless told to misbehave: accept every
idTag, never answer BootNotification, query the configuration after boot. The bench
reaches it as an *external* DUT, so this also covers that path and operator hooks.
"""

import asyncio
import itertools
from contextlib import asynccontextmanager
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import serve

from bench.scenarios.csms_role import IdTags
from bench.scenarios.registry import select
from bench.scenarios.runner import RunOptions, run_case
from charger.clock import Clock, iso
from charger.protocol.link import Link
from charger.protocol.transport import OCPP16

SPEED = 10.0
CP_ID = "DOUBLE-CP-01"
TAGS = IdTags()
KNOWN = {
    TAGS.valid: "Accepted",
    TAGS.valid2: "Accepted",
    TAGS.expired: "Expired",
    TAGS.blocked: "Blocked",
}


class DoubleSession(Link):
    """One charge point's connection to the double."""

    def __init__(self, double: "CsmsDouble", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.double = double

    def _info(self, id_tag: str) -> dict[str, str]:
        if self.double.accept_any_tag:
            return {"status": "Accepted"}
        return {"status": KNOWN.get(id_tag, "Invalid")}

    @on(Action.boot_notification)
    async def on_boot(self, **_: Any):
        if self.double.ignore_boot:
            await self._connection.wait_closed()  # a CSMS that never answers
        if self.double.query_config_after_boot:
            asyncio.get_running_loop().call_later(
                0.05, lambda: asyncio.ensure_future(self._query_config())
            )
        return call_result.BootNotification(
            current_time=iso(Clock.start().now()), interval=300, status="Accepted"
        )

    async def _query_config(self) -> None:
        try:
            await self.request(call.GetConfiguration())
        except Exception:  # noqa: BLE001 - the double does not care about the answer
            pass

    @on(Action.status_notification)
    def on_status(self, **_: Any):
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any):
        return call_result.Heartbeat(current_time=iso(Clock.start().now()))

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any):
        return call_result.Authorize(id_tag_info=self._info(id_tag))

    @on(Action.start_transaction)
    def on_start(self, id_tag: str, **_: Any):
        return call_result.StartTransaction(
            transaction_id=next(self.double.ids), id_tag_info=self._info(id_tag)
        )

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any):
        return call_result.StopTransaction()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any):
        return call_result.DataTransfer(status="UnknownVendorId")


class CsmsDouble:
    def __init__(self, **misbehaviour: bool) -> None:
        self.accept_any_tag = misbehaviour.pop("accept_any_tag", False)
        self.ignore_boot = misbehaviour.pop("ignore_boot", False)
        self.query_config_after_boot = misbehaviour.pop("query_config_after_boot", False)
        assert not misbehaviour, misbehaviour
        self.ids = itertools.count(1)
        self.sessions: dict[str, DoubleSession] = {}
        self.port = 0

    async def _serve(self, connection) -> None:
        cp_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        session = DoubleSession(self, cp_id, connection, response_timeout=5)
        self.sessions[cp_id] = session
        await session.run()

    @asynccontextmanager
    async def running(self):
        async with serve(self._serve, "127.0.0.1", 0, subprotocols=[OCPP16]) as server:
            self.port = server.sockets[0].getsockname()[1]
            yield self

    def options(self, **extra: Any) -> RunOptions:
        options = RunOptions(
            speed=SPEED,
            dut_url=f"ws://127.0.0.1:{self.port}/ocpp/",
            dut_cp_id=CP_ID,
            dut_password="any-password-0123456789",
        )
        for name, value in extra.items():
            setattr(options, name, value)
        return options


async def run_against(double: CsmsDouble, case_id: str, **extra: Any):
    async with double.running():
        return await run_case(select([case_id])[0], double.options(**extra))


def test_a_sane_double_passes_the_authorize_cases():
    for case_id in ("TC_023_1_CSMS", "TC_023_3_CSMS", "TC_001_CSMS"):
        result = asyncio.run(run_against(CsmsDouble(), case_id))
        assert result.verdict == "pass", (case_id, result.details)


def test_authorize_of_an_unknown_tag_answered_accepted_fails_023_1():
    result = asyncio.run(run_against(CsmsDouble(accept_any_tag=True), "TC_023_1_CSMS"))
    assert result.verdict == "fail"
    message = result.details["message"]
    assert TAGS.invalid in message
    assert "answered idTagInfo.status Accepted, expected Invalid" in message


def test_a_csms_that_never_answers_boot_fails_001():
    result = asyncio.run(run_against(CsmsDouble(ignore_boot=True), "TC_001_CSMS"))
    assert result.verdict == "fail"
    assert result.details["message"] == "the CSMS did not answer BootNotification within 10 s"
    assert [f["action"] for f in result.trace] == ["BootNotification"]


def test_an_unsolicited_get_configuration_after_boot_fails_001():
    result = asyncio.run(run_against(CsmsDouble(query_config_after_boot=True), "TC_001_CSMS"))
    assert result.verdict == "fail"
    assert "unsolicited GetConfiguration after boot" in result.details["message"]


def test_an_offline_start_with_an_unknown_tag_accepted_fails_037_3():
    result = asyncio.run(run_against(CsmsDouble(accept_any_tag=True), "TC_037_3_CSMS"))
    assert result.verdict == "fail"
    assert "StartTransaction of idTag" in result.details["message"]
    assert "expected Invalid" in result.details["message"]


def test_an_operator_action_on_an_external_csms_without_a_hook_is_an_error():
    result = asyncio.run(run_against(CsmsDouble(), "TC_061_CSMS"))
    assert result.verdict == "error"
    assert "OperatorActionUnavailable" in result.details["message"]
    assert "clear_cache" in result.details["message"]


def test_an_operator_hook_drives_the_external_csms():
    double = CsmsDouble()
    asked = []

    async def hook(action: str, params: dict[str, Any]) -> None:
        asked.append((action, params))
        session = double.sessions[params["cp_id"]]
        asyncio.ensure_future(session.request(call.ClearCache()))

    result = asyncio.run(run_against(double, "TC_061_CSMS", operator_hook=hook))
    assert result.verdict == "pass", result.details
    assert asked == [("clear_cache", {"cp_id": CP_ID})]
    assert any(f["action"] == "ClearCache" and f["sender"] == "dut" for f in result.trace)


def test_an_operator_hook_that_makes_the_csms_send_the_wrong_thing_fails_the_case():
    double = CsmsDouble()

    async def hook(action: str, params: dict[str, Any]) -> None:
        session = double.sessions[params["cp_id"]]
        asyncio.ensure_future(session.request(call.UnlockConnector(connector_id=2)))

    result = asyncio.run(run_against(double, "TC_017_1_CSMS", operator_hook=hook))
    assert result.verdict == "fail"
    assert (
        "the CSMS sent no UnlockConnector matching {'connectorId': 1}" in result.details["message"]
    )
    assert "'connectorId': 2" in result.details["message"]
