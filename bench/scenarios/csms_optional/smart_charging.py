"""Smart charging: the Central System sets, clears and queries charging profiles."""

from __future__ import annotations

from typing import Any

from bench.scenarios.csms_optional.steps import optional_case, profile, reported
from bench.scenarios.csms_role import CsmsHandle, parse_ocpp_time
from charger.charging_profiles import check_profile, clear_matches, composite_response, install

CONNECTOR = 1
COMPOSITE_DURATION_S = 3600


def check_set_profile(
    t: CsmsHandle, sent: dict[str, Any], purpose: str, connector: int | None = None
) -> dict[str, Any]:
    """SetChargingProfile.req carries a coherent profile of ``purpose``."""
    cs_profile = sent.get("csChargingProfiles") or {}
    t.check(
        cs_profile.get("chargingProfilePurpose") == purpose,
        f"the CSMS's SetChargingProfile has purpose {cs_profile.get('chargingProfilePurpose')}, "
        f"expected {purpose}",
    )
    if connector is not None:
        t.check(
            sent.get("connectorId") == connector,
            f"the CSMS's SetChargingProfile is for connector {sent.get('connectorId')}, "
            f"expected {connector}",
        )
    problems = check_profile(cs_profile, sent.get("connectorId"))
    t.check(not problems, f"the CSMS's charging profile is not valid: {'; '.join(problems)}")
    return cs_profile


async def set_profile(
    t: CsmsHandle, connector: int, charging_profile: dict[str, Any], expected_connector=None
) -> dict[str, Any]:
    request, sent = await t.operated(
        t.operator.set_charging_profile(connector, charging_profile), "SetChargingProfile"
    )
    check_set_profile(
        t,
        sent,
        charging_profile["chargingProfilePurpose"],
        connector if expected_connector is None else expected_connector,
    )
    await reported(t, request, "SetChargingProfile", "Accepted")
    return sent


def installed_on_charge_point(t: CsmsHandle) -> list[dict[str, Any]]:
    """The profiles the simulated charge point holds: what it accepted, minus what it cleared."""
    installed: list[dict[str, Any]] = []
    for frame in t.bench.trace:
        if frame["sender"] != "dut" or frame["message_type"] != 2:
            continue
        reply = t.reply_to(frame["payload"])
        if reply is None or reply["payload"].get("status") != "Accepted":
            continue
        p = frame["payload"]
        if frame["action"] == "SetChargingProfile":
            installed = install(installed, p["connectorId"], p["csChargingProfiles"])
        elif frame["action"] == "ClearChargingProfile":
            installed = [
                i
                for i in installed
                if not clear_matches(
                    i,
                    p.get("id"),
                    p.get("connectorId"),
                    p.get("chargingProfilePurpose"),
                    p.get("stackLevel"),
                )
            ]
    return installed


@optional_case("TC_056_CSMS", "Central Smart Charging - TxDefaultProfile", "smart-charging")
async def tc_056_tx_default_profile(t: CsmsHandle) -> None:
    """The operator sets a TxDefaultProfile: SetChargingProfile.req with a valid profile.

    The profile has purpose TxDefaultProfile, no transactionId, a schedule whose first
    period starts at 0; the charge point accepts it.
    """
    await t.booted()
    sent = await set_profile(
        t, 0, profile(1, "TxDefaultProfile", "Relative", 0, ((0, 16.0), (1800, 10.0))), 0
    )
    t.check(
        "transactionId" not in sent["csChargingProfiles"],
        "a TxDefaultProfile has no transactionId",
    )
    if t.operator.local:
        held = t.operator.csms.charging_profiles(t.cp_id)  # type: ignore[attr-defined]
        t.check(len(held) == 1, f"the CSMS holds {len(held)} profiles after one was accepted")


@optional_case("TC_057_CSMS", "Central Smart Charging - TxProfile", "smart-charging")
async def tc_057_tx_profile(t: CsmsHandle) -> None:
    """During a transaction the operator limits it: a TxProfile for that transaction.

    SetChargingProfile.req is for the transaction's connector, purpose TxProfile,
    with the running transaction's transactionId; the charge point accepts.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    tx_profile = profile(2, "TxProfile", "Relative", 0, ((0, 10.0),))
    if not t.operator.local:
        tx_profile["transactionId"] = tx  # an external operator picks the transaction
    sent = await set_profile(t, CONNECTOR, tx_profile)
    have = sent["csChargingProfiles"].get("transactionId")
    t.check(have == tx, f"the CSMS's TxProfile has transactionId {have}, the running one is {tx}")


@optional_case("TC_059_CSMS", "Remote Start Transaction with Charging Profile", "smart-charging")
async def tc_059_remote_start_with_profile(t: CsmsHandle) -> None:
    """A remote start carrying a TxProfile, then the transaction.

    RemoteStartTransaction.req has the valid idTag and a chargingProfile of purpose
    TxProfile without transactionId; the charge point accepts; Authorize,
    StartTransaction and Charging follow and are accepted.
    """
    await t.booted()
    tx_profile = profile(3, "TxProfile", "Relative", 0, ((0, 12.0), (600, 8.0)))
    request, sent = await t.operated(
        t.operator.remote_start(t.tags.valid, CONNECTOR, tx_profile), "RemoteStartTransaction"
    )
    charging = sent.get("chargingProfile") or {}
    t.check(bool(charging), "the CSMS's RemoteStartTransaction has no chargingProfile")
    t.check(
        charging.get("chargingProfilePurpose") == "TxProfile",
        f"the remote start's profile has purpose {charging.get('chargingProfilePurpose')}, "
        "not TxProfile",
    )
    t.check(
        "transactionId" not in charging,
        "the remote start's profile has a transactionId (there is no transaction yet)",
    )
    problems = check_profile(charging, sent.get("connectorId"))
    t.check(not problems, f"the remote start's profile is not valid: {'; '.join(problems)}")
    await reported(t, request, "RemoteStartTransaction", "Accepted")
    await t.authorized()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))
    if t.operator.local:
        held = t.operator.csms.charging_profiles(t.cp_id)  # type: ignore[attr-defined]
        bound = [i["chargingProfile"].get("transactionId") for i in held]
        t.check(
            bound == [start["transactionId"]],
            f"the CSMS did not bind the remote start's profile to the transaction: {bound}",
        )


@optional_case("TC_066_CSMS", "Get Composite Schedule", "smart-charging")
async def tc_066_get_composite_schedule(t: CsmsHandle) -> None:
    """The operator asks for connector 1's composite schedule.

    After a TxDefaultProfile is accepted, GetCompositeSchedule.req names connector 1
    and a duration > 0 (and a unit A or W, if any). The charge point answers with the
    composite of its profiles (computed by ``charger.charging_profiles``); where the DUT
    reports back, it reports that schedule. Our CSMS must find it equal to its own
    prediction.
    """
    await t.booted()
    await set_profile(
        t, CONNECTOR, profile(4, "TxDefaultProfile", "Relative", 0, ((0, 20.0), (900, 11.0)))
    )

    def composite(request: dict[str, Any]) -> dict[str, Any]:
        return composite_response(
            installed_on_charge_point(t),
            request["connectorId"],
            t.clock.now(),
            request["duration"],
            request.get("chargingRateUnit"),
        )

    t.answer("GetCompositeSchedule", composite)
    request, sent = await t.operated(
        t.operator.get_composite_schedule(CONNECTOR, COMPOSITE_DURATION_S, "A"),
        "GetCompositeSchedule",
        {"connectorId": CONNECTOR},
    )
    t.check(
        isinstance(sent.get("duration"), int) and sent["duration"] > 0,
        f"GetCompositeSchedule.req duration {sent.get('duration')!r} is not > 0",
    )
    t.check(
        sent.get("chargingRateUnit") in (None, "A", "W"),
        f"GetCompositeSchedule.req chargingRateUnit {sent.get('chargingRateUnit')!r}",
    )
    outcome = await reported(t, request, "GetCompositeSchedule", "Accepted")
    answered = (t.reply_to(sent) or {}).get("payload", {})
    t.details["composite"] = answered.get("chargingSchedule")
    if outcome is not None:
        t.check(
            outcome.get("chargingSchedule") == answered.get("chargingSchedule"),
            "the CSMS reported another schedule than the charge point answered",
        )
        start = parse_ocpp_time(outcome.get("scheduleStart"))
        t.check(start is not None, "the CSMS reported no valid scheduleStart")
    if t.operator.local:
        checks = t.operator.csms.composite_checks(t.cp_id)  # type: ignore[attr-defined]
        t.check(bool(checks), "the CSMS did not check the composite schedule")
        t.check(
            checks[-1]["ok"],
            f"the CSMS's prediction disagrees with the charge point: {checks[-1]['problems']}",
        )


@optional_case("TC_067_CSMS", "Clear Charging Profile", "smart-charging")
async def tc_067_clear_charging_profile(t: CsmsHandle) -> None:
    """Three profiles are cleared: one by id, one by criteria, then all.

    Three TxDefaultProfiles (ids 11, 12, 13 at stack levels 0, 1, 2) are set on
    connector 1. ClearChargingProfile.req then names id 11; then connector 1, purpose
    TxDefaultProfile and stack level 1 (no id); then nothing at all. The charge point
    accepts each; our CSMS lists no profile for it afterwards.
    """
    await t.booted()
    for pid, level in ((11, 0), (12, 1), (13, 2)):
        await set_profile(
            t, CONNECTOR, profile(pid, "TxDefaultProfile", "Relative", level, ((0, 16.0 - level),))
        )
    request, sent = await t.operated(
        t.operator.clear_charging_profile(id=11), "ClearChargingProfile", {"id": 11}
    )
    await reported(t, request, "ClearChargingProfile by id", "Accepted")
    request, sent = await t.operated(
        t.operator.clear_charging_profile(
            connector_id=CONNECTOR, charging_profile_purpose="TxDefaultProfile", stack_level=1
        ),
        "ClearChargingProfile",
        {"connectorId": CONNECTOR, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1},
    )
    t.check("id" not in sent, f"clearing by criteria sent an id: {sent}")
    await reported(t, request, "ClearChargingProfile by criteria", "Accepted")
    request, sent = await t.operated(t.operator.clear_charging_profile(), "ClearChargingProfile")
    t.check(sent == {}, f"clearing all profiles sent criteria: {sent}")
    await reported(t, request, "ClearChargingProfile (all)", "Accepted")
    if t.operator.local:  # what the CSMS believes the charge point holds
        held = t.operator.csms.charging_profiles(t.cp_id)  # type: ignore[attr-defined]
        t.check(held == [], f"the CSMS still lists {len(held)} profile(s) after clearing all")
