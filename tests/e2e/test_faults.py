"""Faults through real processes: a dead meter, a CSMS that goes away."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from bench.scenarios.handle import Handle
from bench.scenarios.sessions import FAST, TAG, charging, plug, tap
from bench.statedir import StateDir
from bench.system import BenchSystem

pytestmark = pytest.mark.e2e


def run_on_bench(body, **config):
    async def main():
        with tempfile.TemporaryDirectory() as root:
            system = BenchSystem(StateDir(Path(root)), agent_config={**FAST, **config})
            await system.start()
            try:
                await asyncio.wait_for(body(Handle(system)), 120)
            finally:
                await system.stop()

    asyncio.run(main())


def test_dead_meter_faults_the_connector_then_recovers():
    async def body(t: Handle):
        await t.booted()
        mark = t.mark()
        t.rig.meters[1].set_fault("timeout")
        faulted = await t.expect(
            "StatusNotification", {"connectorId": 1, "status": "Faulted"}, within=15, since=mark
        )
        assert faulted["errorCode"] == "PowerMeterFailure"
        t.rig.meters[1].set_fault(None)
        await t.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, since=mark)

    run_on_bench(body)


def test_meter_exception_mid_session_stops_charging_and_keeps_the_transaction():
    async def body(t: Handle):
        await t.booted()
        await plug(t, 1)
        mark = t.mark()
        await tap(t, TAG)
        await charging(t, 1, mark)
        t.rig.meters[1].set_fault("exception")
        stop = await t.expect("StopTransaction", within=15, since=mark)
        assert stop["reason"] == "Other"
        await t.expect("StatusNotification", {"connectorId": 1, "status": "Faulted"}, since=mark)
        await t.sleep(1)
        assert t.rig.power_w(1) == 0
        t.rig.meters[1].set_fault(None)
        await t.expect(
            "StatusNotification", {"connectorId": 1, "status": "Finishing"}, within=15, since=mark
        )

    run_on_bench(body)


def test_transaction_messages_queued_offline_arrive_in_order_after_reconnect():
    async def body(t: Handle):
        await t.booted()
        before = t.rig.meter_wh(1)
        await plug(t, 1)
        mark = t.mark()
        await tap(t, TAG)
        start = await charging(t, 1, mark)
        tx_id = t.csms.transactions(t.cp_id)[0]["id"]
        await t.system.stop_csms()
        await t.sleep(11)  # two MeterValues fall due while offline
        await tap(t, TAG)  # local stop needs no CSMS: it is the tag that started
        await t.sleep(2)
        assert t.rig.power_w(1) == 0
        restart = t.mark()
        await t.system.start_csms()
        stop = await t.expect("StopTransaction", within=40, since=restart)
        assert stop["transactionId"] == tx_id and stop["reason"] == "Local"
        inbound = [
            f["action"]
            for f in t.from_dut(restart)
            if f["action"] in ("MeterValues", "StopTransaction")
        ]
        assert inbound[-1] == "StopTransaction"
        assert inbound.count("MeterValues") >= 2, inbound
        assert not t.from_dut(restart, "BootNotification")
        await t.wait_until(
            "stop stored", lambda: t.csms.transactions(t.cp_id)[0]["meter_stop"] is not None, 5
        )
        tx = t.csms.transactions(t.cp_id)
        assert len(tx) == 1 and tx[0]["meter_stop"] is not None
        assert tx[0]["meter_stop"] - tx[0]["meter_start"] == round(t.rig.meter_wh(1) - before)
        assert start["idTag"] == TAG

    run_on_bench(body)


def test_emergency_stop_ends_the_session_and_recovers_when_released():
    async def body(t: Handle):
        await t.booted()
        await plug(t, 1)
        mark = t.mark()
        await tap(t, TAG)
        await charging(t, 1, mark)
        t.emergency_stop(True)
        stop = await t.expect("StopTransaction", within=10, since=mark)
        assert stop["reason"] == "EmergencyStop"
        for connector in (1, 2):
            faulted = await t.expect(
                "StatusNotification", {"connectorId": connector, "status": "Faulted"}, since=mark
            )
            assert faulted["errorCode"] == "OtherError"
        assert t.rig.power_w(1) == 0
        mark = t.mark()
        t.emergency_stop(False)
        await t.expect("StatusNotification", {"connectorId": 2, "status": "Available"}, since=mark)
        await t.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, since=mark)

    run_on_bench(body)
