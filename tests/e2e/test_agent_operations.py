"""CSMS-initiated operations on the agent, through real processes."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from ocpp.v16 import call

from bench.scenarios.handle import Handle
from bench.scenarios.sessions import FAST, TAG, charging
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock

pytestmark = pytest.mark.e2e


def run_on_bench(body, **config):
    async def main():
        with tempfile.TemporaryDirectory() as root:
            system = BenchSystem(
                StateDir(Path(root)), clock=Clock.start(3), agent_config={**FAST, **config}
            )
            await system.start()
            try:
                await asyncio.wait_for(body(Handle(system)), 120)
                assert system.agent_crashes == 0
            finally:
                await system.stop()

    asyncio.run(main())


async def start_session(t: Handle, connector: int = 1) -> int:
    t.plug(connector)
    mark = t.mark()
    await t.tap(TAG)
    await charging(t, connector, mark)
    return t.csms.transactions(t.cp_id)[-1]["id"]


def test_soft_reset_stops_the_transaction_then_reboots():
    async def body(t: Handle):
        await t.booted()
        tx = await start_session(t)
        mark = t.mark()
        answer = await t.call(call.Reset(type="Soft"))
        assert answer["status"] == "Accepted"
        stop = await t.expect("StopTransaction", within=15, since=mark)
        assert (stop["transactionId"], stop["reason"]) == (tx, "SoftReset")
        await t.expect("BootNotification", within=30, since=mark)

    run_on_bench(body)


def test_hard_reset_reports_the_transaction_after_the_reboot():
    async def body(t: Handle):
        await t.booted()
        tx = await start_session(t)
        mark = t.mark()
        await t.call(call.Reset(type="Hard"))
        boot = await t.expect("BootNotification", within=30, since=mark)
        stop = await t.expect("StopTransaction", within=30, since=mark)
        assert (stop["transactionId"], stop["reason"]) == (tx, "HardReset")
        assert t.system.trace.index(next(f for f in t.system.trace if f["payload"] is boot)) < (
            t.system.trace.index(next(f for f in t.system.trace if f["payload"] is stop))
        )

    run_on_bench(body)


def test_unavailable_is_scheduled_during_a_transaction_and_survives_a_reboot():
    async def body(t: Handle):
        await t.booted()
        tx = await start_session(t)
        answer = await t.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
        assert answer["status"] == "Scheduled"
        mark = t.mark()
        await t.call(call.RemoteStopTransaction(transaction_id=tx))
        await t.expect(
            "StatusNotification", {"connectorId": 1, "status": "Unavailable"}, within=15, since=mark
        )
        mark = t.mark()
        await t.call(call.Reset(type="Hard"))
        await t.expect("BootNotification", within=30, since=mark)
        await t.expect(
            "StatusNotification", {"connectorId": 1, "status": "Unavailable"}, within=15, since=mark
        )
        answer = await t.call(call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
        assert answer["status"] == "Rejected"
        assert (await t.call(call.ChangeAvailability(connector_id=1, type="Operative")))[
            "status"
        ] == "Accepted"

    run_on_bench(body)


def test_offline_start_from_the_cache_and_unknown_tags_refused():
    async def body(t: Handle):
        await t.booted()
        mark = t.mark()
        await t.tap(TAG)  # learnt into the cache while online
        await t.expect("Authorize", {"idTag": TAG}, since=mark)
        await t.sleep(2)  # nobody plugs in: the authorization lapses (ConnectionTimeOut)
        t.cut_link()
        await t.sleep(2)
        t.plug(1)
        await t.tap("0A00000001")  # unknown, AllowOfflineTxForUnknownId=false
        await t.sleep(2)
        assert t.rig.power_w(1) == 0  # the unknown tag did not start a session
        await t.tap(TAG)
        # charging offline on the cached authorization
        await t.wait_until("charging offline", lambda: t.rig.power_w(1) > 0, within=60)
        t.restore_link()
        start = await t.expect("StartTransaction", {"idTag": TAG}, within=40, since=mark)
        assert start["connectorId"] == 1
        assert not t.from_dut(mark, "StartTransaction")[1:]  # the unknown tag never started

    run_on_bench(
        body,
        ConnectionTimeOut="1",
        LocalAuthorizeOffline="true",
        AllowOfflineTxForUnknownId="false",
    )


def test_unlock_clear_cache_and_data_transfer_answers():
    async def body(t: Handle):
        await t.booted()
        assert (await t.call(call.UnlockConnector(connector_id=1)))["status"] == "NotSupported"
        assert (await t.call(call.ClearCache()))["status"] == "Accepted"
        answer = await t.call(call.DataTransfer(vendor_id="com.example"))
        assert answer["status"] == "UnknownVendorId"

    run_on_bench(body)
