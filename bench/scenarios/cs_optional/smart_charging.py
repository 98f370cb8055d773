"""Smart Charging: TC_056, TC_057, TC_058_1, TC_058_2, TC_059, TC_060, TC_066, TC_067,
TC_072, TC_082.

Each case checks the charger's answers and composite schedule as the OCTT does, and
that the limit in force really limits the output: the rig measures the connector's DC
current (a limit in A) or V*I (a limit in W). The EVs ask for more than any limit set
here, so they charge at the limit; with no limit they draw well above all of them.
"""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    Tx,
    authorize_remote,
    idle,
    parse_ts,
    plug,
    start_remote,
    started,
)
from bench.scenarios.cs_optional.steps import (
    at,
    check_composite,
    composite,
    expect_output,
    expect_unlimited,
    expect_window,
    max_items,
    new_id,
    profile,
    request,
    set_profile,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

PROFILE = "profile.smart-charging"
CONSTRAINT = ("PropertyConstraintViolation",)


async def charging(t: Handle, connector: int = 1) -> Tx:
    """Reusable state Charging (remote start), at full current before any profile."""
    tx = await start_remote(t, connector, TAG)
    await expect_unlimited(t, connector, hold=2)
    return tx


@scenario(
    "TC_056_CS",
    "Central Smart Charging - TxDefaultProfile",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_056(t: Handle) -> None:
    """SetChargingProfile TxDefaultProfile for connector 0 (every connector), Relative,
    20 kW (chargingRateUnit W): Accepted. A transaction then starts on connector 1 and is
    held to it: within the settling time V*I is 20 kW (+/-3 %) and stays there;
    GetCompositeSchedule (W) for connector 1 shows 20000 W. OCPP 1.6 §3.13.2
    TxDefaultProfile (connector 0: all connectors), §5.16 SetChargingProfile, §5.7."""
    await idle(t)
    await set_profile(
        t, 0, profile(new_id(), "TxDefaultProfile", [(0, 20_000)], unit="W", kind="Relative")
    )
    await start_remote(t, 1, TAG)
    await expect_output(t, 1, 20_000, "W", what="TxDefaultProfile of connector 0")
    answer, sent = await composite(t, 1, 300, "W")
    check_composite(t, answer, [(sent, sent + 300, 20_000)], "W")


@scenario(
    "TC_057_CS",
    "Central Smart Charging - TxProfile",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_057(t: Handle) -> None:
    """A transaction charging at full current on connector 1; SetChargingProfile
    TxProfile with its transactionId, Absolute from now, 50 A: Accepted. Within the
    settling time the DC current comes down to 50 A (+/-2 A) and stays there;
    GetCompositeSchedule shows 50 A. OCPP 1.6 §3.13.2 TxProfile, §5.16, §5.7."""
    await idle(t)
    tx = await charging(t)
    body = profile(
        new_id(),
        "TxProfile",
        [(0, 50)],
        transaction_id=tx.transaction_id,
        start=at(t),
        duration=3600,
        valid_from=at(t, -60),
        valid_to=at(t, 3600),
    )
    await set_profile(t, 1, body)
    await expect_output(t, 1, 50, "A", what="TxProfile")
    answer, sent = await composite(t, 1, 300)
    check_composite(t, answer, [(sent, sent + 300, 50)])


@scenario(
    "TC_058_1_CS",
    "Central Smart Charging - No ongoing transaction",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_058_1(t: Handle) -> None:
    """No transaction; SetChargingProfile TxProfile with a transactionId for connector 1:
    Rejected (or CALLERROR PropertyConstraintViolation) - a TxProfile needs a transaction.
    OCPP 1.6 §5.16 ("If there is no transaction, the Charge Point SHALL ... reject")."""
    await idle(t)
    body = profile(new_id(), "TxProfile", [(0, 16)], transaction_id=4711, kind="Relative")
    await request(
        t,
        call.SetChargingProfile(connector_id=1, cs_charging_profiles=body),
        ("Rejected",),
        or_error=CONSTRAINT,
    )


@scenario(
    "TC_058_2_CS",
    "Central Smart Charging - Wrong transactionId",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_058_2(t: Handle) -> None:
    """A transaction charging on connector 1; SetChargingProfile TxProfile for connector
    1 with a transactionId other than the running one, 20 A: Rejected (or CALLERROR
    PropertyConstraintViolation), and the running transaction is not limited by it - the
    output stays at full current. OCPP 1.6 §5.16, §3.13.2."""
    await idle(t)
    tx = await charging(t)
    body = profile(
        new_id(), "TxProfile", [(0, 20)], transaction_id=tx.transaction_id + 1000, kind="Relative"
    )
    await request(
        t,
        call.SetChargingProfile(connector_id=1, cs_charging_profiles=body),
        ("Rejected",),
        or_error=CONSTRAINT,
    )
    await expect_unlimited(t, 1, hold=6)


@scenario(
    "TC_059_CS",
    "Remote Start Transaction with Charging Profile",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_059(t: Handle) -> None:
    """Cable plugged in; RemoteStartTransaction for connector 1 with a TxProfile
    (Relative, no transactionId, 60 A): Accepted, StartTransaction, Charging - held to 60
    A from the start. GetCompositeSchedule for connector 1 (300 s, A): Accepted, for
    connector 1, duration 300, in A, starting now, 60 A throughout. OCPP 1.6 §5.11
    ("the Charge Point SHALL use this profile for the transaction"), §5.7."""
    await idle(t)
    authorize = await authorize_remote(t)
    await plug(t, 1)
    body = profile(new_id(), "TxProfile", [(0, 60)], kind="Relative")
    mark = t.mark()
    await request(
        t,
        call.RemoteStartTransaction(id_tag=TAG, connector_id=1, charging_profile=body),
        ("Accepted",),
    )
    if authorize:
        await t.expect("Authorize", {"idTag": TAG}, since=mark)
    await started(t, 1, TAG, mark)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)
    await expect_output(t, 1, 60, "A", what="TxProfile of the RemoteStartTransaction")
    answer, sent = await composite(t, 1, 300)
    duration = answer["chargingSchedule"].get("duration")
    t.check(duration == 300, f"the composite schedule lasts {duration} s, not the 300 s asked for")
    check_composite(t, answer, [(sent, sent + 300, 60)])


@scenario(
    "TC_060_CS",
    "Remote Start Transaction with Charging Profile - Rejected",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_060(t: Handle) -> None:
    """Cable plugged in; RemoteStartTransaction for connector 1 with a charging profile
    whose purpose is not TxProfile (TxDefaultProfile): Rejected (or CALLERROR
    PropertyConstraintViolation), and no transaction starts. OCPP 1.6 §5.11
    ("chargingProfilePurpose SHALL be set to TxProfile"), §6.33."""
    await idle(t)
    await plug(t, 1)
    body = profile(new_id(), "TxDefaultProfile", [(0, 16)], kind="Relative")
    mark = t.mark()
    await request(
        t,
        call.RemoteStartTransaction(id_tag=TAG, connector_id=1, charging_profile=body),
        ("Rejected",),
        or_error=CONSTRAINT,
    )
    await t.expect_none("StartTransaction", during=5, since=mark)


@scenario("TC_066_CS", "Get Composite Schedule", profile="smart-charging", requires=(PROFILE,))
async def tc_066(t: Handle) -> None:
    """A transaction on connector 1; three profiles from now: ChargePointMaxProfile
    (connector 0) 100 A, TxDefaultProfile 25 A, and the transaction's TxProfile 40 A then
    150 A after 40 s. GetCompositeSchedule (connector 1, 400 s, A): Accepted, duration
    400, the TxProfile prevailing over the TxDefaultProfile and capped by the
    ChargePointMaxProfile - 40 A, then 100 A. The output follows: 40 A, then 100 A.
    Needs MaxChargingProfilesInstalled >= 3, ChargingScheduleMaxPeriods >= 5.
    OCPP 1.6 §3.13 (purposes, stacking, "ChargePointMaxProfile ... limits"), §5.7."""
    await idle(t)
    found, _ = await t.get_configuration(
        ["MaxChargingProfilesInstalled", "ChargingScheduleMaxPeriods"]
    )
    installed = max_items(
        (found.get("MaxChargingProfilesInstalled") or {}).get("value"),
        "MaxChargingProfilesInstalled",
        t,
    )
    periods = max_items(
        (found.get("ChargingScheduleMaxPeriods") or {}).get("value"),
        "ChargingScheduleMaxPeriods",
        t,
    )
    t.check(
        installed >= 3 and periods >= 5,
        f"precondition not met: MaxChargingProfilesInstalled {installed} (>= 3), "
        f"ChargingScheduleMaxPeriods {periods} (>= 5)",
    )
    tx = await charging(t)
    start = at(t)
    t0 = parse_ts(start)
    await set_profile(
        t, 0, profile(new_id(), "ChargePointMaxProfile", [(0, 100)], start=start, duration=86_400)
    )
    await set_profile(
        t, 1, profile(new_id(), "TxDefaultProfile", [(0, 25)], start=start, duration=86_400)
    )
    await set_profile(
        t,
        1,
        profile(
            new_id(),
            "TxProfile",
            [(0, 40), (40, 150)],
            start=start,
            duration=400,
            transaction_id=tx.transaction_id,
        ),
    )
    answer, sent = await composite(t, 1, 400)
    duration = answer["chargingSchedule"].get("duration")
    t.check(duration == 400, f"the composite schedule lasts {duration} s, not the 400 s asked for")
    check_composite(t, answer, [(t0, t0 + 40, 40), (t0 + 40, sent + 400, 100)])
    await expect_window(t, 1, t0, t0 + 40, 40)
    await expect_window(t, 1, t0 + 40, t0 + 70, 100)


async def composite_after_clear(t: Handle, windows) -> None:
    answer, _ = await composite(t, 1, 300)
    check_composite(t, answer, windows)


async def clear(t: Handle, expect: str, **criteria) -> None:
    await request(t, call.ClearChargingProfile(**criteria), (expect,))


@scenario("TC_067_CS", "Clear Charging Profile", profile="smart-charging", requires=(PROFILE,))
async def tc_067(t: Handle) -> None:
    """No transaction. Installed: TxDefaultProfile stack 1 (40 A), TxDefaultProfile stack 2
    (25 A, the first 100 s) on connector 1, ChargePointMaxProfile (30 A) on connector 0;
    the composite for connector 1 is 25 A then 30 A. ClearChargingProfile by an unknown
    id: Unknown. By the stack-2 profile's id: Accepted, composite 30 A. By criteria
    (connector 0, ChargePointMaxProfile): Accepted, composite 40 A. With no criteria (all):
    Accepted, no limit left; clearing the first profile's id again: Unknown.
    OCPP 1.6 §5.5 ClearChargingProfile, §7.12 ClearChargingProfileStatus, §5.7."""
    await idle(t)
    start = at(t)
    t0 = parse_ts(start)
    first, second = new_id(), new_id()
    await set_profile(
        t, 1, profile(first, "TxDefaultProfile", [(0, 40)], stack=1, start=start, duration=86_400)
    )
    await set_profile(
        t, 1, profile(second, "TxDefaultProfile", [(0, 25)], stack=2, start=start, duration=100)
    )
    await set_profile(
        t, 0, profile(new_id(), "ChargePointMaxProfile", [(0, 30)], start=start, duration=86_400)
    )
    answer, sent = await composite(t, 1, 300)
    check_composite(t, answer, [(t0, t0 + 100, 25), (t0 + 100, sent + 300, 30)])
    await clear(t, "Unknown", id=first + second + 1)
    await clear(t, "Accepted", id=second)
    now = t.clock.time()
    await composite_after_clear(t, [(now, now + 300, 30)])
    await clear(t, "Accepted", connector_id=0, charging_profile_purpose="ChargePointMaxProfile")
    now = t.clock.time()
    await composite_after_clear(t, [(now, now + 300, 40)])
    await clear(t, "Accepted")
    now = t.clock.time()
    # With every profile cleared the charger can still report connector 1's schedule:
    # Accepted, with no limit in it (no chargingSchedule, or periods without a limit).
    answer = await request(
        t,
        call.GetCompositeSchedule(connector_id=1, duration=300, charging_rate_unit="A"),
        ("Accepted",),
    )
    if answer.get("chargingSchedule"):
        check_composite(t, answer, [(now, now + 300, None)])
    await clear(t, "Unknown", id=first)


@scenario("TC_072_CS", "Stacking Charging Profiles", profile="smart-charging", requires=(PROFILE,))
async def tc_072(t: Handle) -> None:
    """Two TxDefaultProfiles for connector 1 from 40 s from now: stack level 0 - 90 A, 45
    A after 60 s, for 90 s - and stack level 1 - 30 A for 30 s. GetCompositeSchedule (no
    transaction yet): no limit, then 30 A (stack 1 prevails while it lasts), 90 A, 45 A,
    no limit. A transaction then starts and its output follows the stack: full current,
    30 A, 90 A, 45 A, full current again. OCPP 1.6 §3.13.2 ("the prevailing charging
    profile SHALL be the charging profile with the highest stackLevel"), §5.7."""
    await idle(t)
    lead = 40
    begin = at(t, lead)
    s = parse_ts(begin)
    t0 = s - lead
    valid = {"valid_from": at(t, -60), "valid_to": at(t, 600)}
    await set_profile(
        t,
        1,
        profile(
            new_id(), "TxDefaultProfile", [(0, 90), (60, 45)], start=begin, duration=90, **valid
        ),
    )
    await set_profile(
        t,
        1,
        profile(
            new_id(), "TxDefaultProfile", [(0, 30)], stack=1, start=begin, duration=30, **valid
        ),
    )
    answer, sent = await composite(t, 1, 150)
    check_composite(
        t,
        answer,
        [
            (sent, s, None),
            (s, s + 30, 30),
            (s + 30, s + 60, 90),
            (s + 60, s + 90, 45),
            (s + 90, t0 + 150, None),
        ],
    )
    await start_remote(t, 1, TAG)
    await expect_window(t, 1, t.clock.time(), s, None)
    await expect_window(t, 1, s, s + 30, 30)
    await expect_window(t, 1, s + 30, s + 60, 90)
    await expect_window(t, 1, s + 60, s + 90, 45)
    await expect_window(t, 1, s + 90, s + 105, None)


@scenario(
    "TC_082_CS",
    "Central Smart Charging - TxDefaultProfile with ongoing transaction",
    profile="smart-charging",
    requires=(PROFILE,),
)
async def tc_082(t: Handle) -> None:
    """A transaction charging at full current on connector 1 (no TxProfile);
    SetChargingProfile TxDefaultProfile for connector 1, Absolute from now, 70 A:
    Accepted, and it applies to the ongoing transaction at once: the DC current comes down
    to 70 A and stays there; GetCompositeSchedule shows 70 A. OCPP 1.6 §3.13.2 (the
    TxDefaultProfile governs a transaction without a TxProfile), §5.16."""
    await idle(t)
    await charging(t)
    body = profile(new_id(), "TxDefaultProfile", [(0, 70)], start=at(t), duration=3600)
    await set_profile(t, 1, body)
    await expect_output(t, 1, 70, "A", what="TxDefaultProfile during the transaction")
    answer, sent = await composite(t, 1, 300)
    check_composite(t, answer, [(sent, sent + 300, 70)])
