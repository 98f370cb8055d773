"""Optional profiles on the agent, through real processes: reservation, local list, trigger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ocpp.v16 import call
from tests_e2e_support import run_on_bench

from bench.scenarios.handle import Handle
from bench.scenarios.sessions import TAG, TAG_2, charging
from charger.clock import iso

pytestmark = pytest.mark.e2e


def test_a_reservation_holds_the_connector_for_its_tag():
    async def body(t: Handle):
        await t.booted()
        expiry = iso(t.clock.now() + timedelta(minutes=5))
        mark = t.mark()
        answer = await t.call(
            call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag=TAG, reservation_id=42)
        )
        assert answer["status"] == "Accepted"
        await t.expect("StatusNotification", {"connectorId": 1, "status": "Reserved"}, since=mark)
        rejected = await t.call(call.RemoteStartTransaction(id_tag=TAG_2, connector_id=1))
        assert rejected["status"] == "Rejected"  # someone else's reservation
        t.plug(1)
        mark = t.mark()
        await t.tap(TAG)
        start = await charging(t, 1, mark)
        assert start["reservationId"] == 42
        again = await t.call(call.CancelReservation(reservation_id=42))
        assert again["status"] == "Rejected"  # redeemed: nothing left to cancel

    run_on_bench(body)


def test_a_reservation_expires():
    async def body(t: Handle):
        await t.booted()
        expiry = iso(t.clock.now() + timedelta(seconds=4))
        mark = t.mark()
        await t.call(
            call.ReserveNow(connector_id=2, expiry_date=expiry, id_tag=TAG, reservation_id=7)
        )
        await t.expect("StatusNotification", {"connectorId": 2, "status": "Reserved"}, since=mark)
        mark = t.mark()
        await t.expect(
            "StatusNotification", {"connectorId": 2, "status": "Available"}, within=10, since=mark
        )

    run_on_bench(body)


def test_local_list_versions_and_offline_authorization_from_it():
    async def body(t: Handle):
        await t.booted()
        assert (await t.call(call.GetLocalListVersion()))["listVersion"] == 0
        entry = {"idTag": "0A00C0FFEE", "idTagInfo": {"status": "Accepted"}}
        answer = await t.call(
            call.SendLocalList(list_version=3, update_type="Full", local_authorization_list=[entry])
        )
        assert answer["status"] == "Accepted"
        assert (await t.call(call.GetLocalListVersion()))["listVersion"] == 3
        stale = await t.call(
            call.SendLocalList(
                list_version=3, update_type="Differential", local_authorization_list=[]
            )
        )
        assert stale["status"] == "VersionMismatch"
        t.cut_link()
        t.plug(1)
        await t.tap("0A00C0FFEE")  # unknown to the CSMS, but on the list: charges offline
        await t.wait_until("charging offline", lambda: t.rig.power_w(1) > 0, within=30)
        t.restore_link()

    run_on_bench(body, LocalAuthorizeOffline="true", AllowOfflineTxForUnknownId="false")


def test_trigger_message_sends_what_was_asked_and_rejects_unknown_connectors():
    async def body(t: Handle):
        await t.booted()
        mark = t.mark()
        answer = await t.call(
            call.TriggerMessage(requested_message="StatusNotification", connector_id=2)
        )
        assert answer["status"] == "Accepted"
        await t.expect("StatusNotification", {"connectorId": 2}, since=mark)
        assert (await t.call(call.TriggerMessage(requested_message="Heartbeat")))[
            "status"
        ] == "Accepted"
        await t.expect("Heartbeat", since=mark)
        bad = await t.call(call.TriggerMessage(requested_message="MeterValues", connector_id=9))
        assert bad["status"] == "Rejected"

    run_on_bench(body)


def _profile(pid: int, purpose: str, limit: float, unit: str = "A", level: int = 0) -> dict:
    return {
        "chargingProfileId": pid,
        "stackLevel": level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative" if purpose == "TxProfile" else "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }


def test_a_charging_profile_limits_the_power_the_meter_sees():
    async def body(t: Handle):
        await t.booted()
        t.plug(1)
        mark = t.mark()
        await t.tap(TAG)
        await charging(t, 1, mark)
        await t.wait_until("full current", lambda: t.rig.outputs[1].current_a > 150, within=20)
        tx = t.csms.transactions(t.cp_id)[-1]["id"]
        profile = _profile(11, "TxProfile", 50.0)
        profile["transactionId"] = tx
        answer = await t.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))
        assert answer["status"] == "Accepted"
        await t.wait_until("50 A", lambda: t.rig.outputs[1].current_a <= 50.5, within=10)
        composite = await t.call(call.GetCompositeSchedule(connector_id=1, duration=600))
        assert composite["status"] == "Accepted"
        periods = composite["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods[0]["limit"] == 50.0
        # a W cap for the whole charger wins when it is lower: 10 kW at ~340 V is ~29 A
        cap = _profile(12, "ChargePointMaxProfile", 10_000.0, unit="W")
        answer = await t.call(call.SetChargingProfile(connector_id=0, cs_charging_profiles=cap))
        assert answer["status"] == "Accepted"
        await t.wait_until("10 kW", lambda: t.rig.power_w(1) <= 10_100, within=10)
        assert t.rig.power_w(1) > 5_000  # limited, not stopped
        cleared = await t.call(call.ClearChargingProfile())
        assert cleared["status"] == "Accepted"
        await t.wait_until("unlimited", lambda: t.rig.outputs[1].current_a > 150, within=15)
        wrong = _profile(13, "TxProfile", 10.0)
        wrong["transactionId"] = tx + 100
        answer = await t.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=wrong))
        assert answer["status"] == "Rejected"

    run_on_bench(body)
