"""Cold boot: TC_001_CS, TC_002_CS."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    REBOOT_WITHIN,
    connectors,
    idle,
    status_after_boot,
    tolerance,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

HEARTBEAT_S = 5  # ORS-6, the smallest HeartbeatInterval the seed charger supports
PENDING_S = 10


@scenario("TC_001_CS", "Cold Boot Charge Point")
async def tc_001(t: Handle) -> None:
    """Power the charger up from off: its first message is BootNotification; once
    Accepted it reports every connector including 0 as Available, then sends Heartbeats
    at the interval the BootNotification.conf gave. OCPP 1.6 §4.2 BootNotification, §4.6
    Heartbeat, §4.9 StatusNotification (errata v4.0: status of connector 0 and all
    connectors after Accepted)."""
    await idle(t)
    t.csms.set_boot_policy(t.cp_id, "Accepted", HEARTBEAT_S)
    mark = t.mark()
    t.power_loss()
    await t.sleep(1)
    t.power_restore()
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    first = t.from_dut(mark)[0]
    t.check(
        first["action"] == "BootNotification",
        f"the first message after power-up was {first['action']}, not BootNotification",
    )
    boot_at = t.frame_of(boot)["ts"]
    await status_after_boot(t, t.index_of(boot), {c: ("Available",) for c in [0, *connectors(t)]})
    beat_1 = await t.expect("Heartbeat", within=2 * HEARTBEAT_S + 2, since=mark)
    mark_2 = t.mark()
    beat_2 = await t.expect("Heartbeat", within=HEARTBEAT_S + 2, since=mark_2)
    at_1, at_2 = t.frame_of(beat_1)["ts"], t.frame_of(beat_2)["ts"]
    t.check(
        at_1 - boot_at <= HEARTBEAT_S + 1 + tolerance(t),
        f"first Heartbeat {at_1 - boot_at:.1f} s after the BootNotification",
        timing=True,
    )
    t.check(
        abs((at_2 - at_1) - HEARTBEAT_S) <= tolerance(t),
        f"Heartbeats {at_2 - at_1:.1f} s apart; "
        f"the BootNotification.conf interval is {HEARTBEAT_S} s",
        timing=True,
    )


@scenario("TC_002_CS", "Cold Boot Charge Point - Pending")
async def tc_002(t: Handle) -> None:
    """The Central System answers the BootNotification with Pending: the charger answers
    the Central System's GetConfiguration/ChangeConfiguration meanwhile, sends nothing
    but BootNotification, retries it no sooner than the interval, and once Accepted
    reports connector 0 and every connector. OCPP 1.6 §4.2 BootNotification
    (RegistrationStatus Pending, §7.38), errata v4.0 on §4.9."""
    await idle(t)
    t.csms.set_boot_policy(t.cp_id, "Pending", PENDING_S)
    mark = t.mark()
    t.power_loss()
    await t.sleep(1)
    t.power_restore()
    first = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    answer = await t.answer(first)
    t.check(answer.get("status") == "Pending", f"the bench answered {answer}, not Pending")
    pending_at = t.frame_of(first)["ts"]
    after_first = t.mark()
    found, _ = await t.get_configuration(["HeartbeatInterval"])
    t.check("HeartbeatInterval" in found, "GetConfiguration while Pending did not report the key")
    changed = await t.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="15"))
    t.check(
        changed.get("status") == "Accepted",
        f"ChangeConfiguration while Pending answered {changed.get('status')}",
    )
    t.csms.set_boot_policy(t.cp_id, "Accepted", 60)
    second = await t.expect("BootNotification", within=PENDING_S + 10, since=after_first)
    gap = t.frame_of(second)["ts"] - pending_at
    t.check(
        gap >= PENDING_S - 0.5,
        f"BootNotification repeated after {gap:.1f} s; Pending asked for at least {PENDING_S} s",
    )
    limit = t.frame_of(second)["ts"]
    others = [
        f["action"]
        for f in t.from_dut(after_first)
        if f["ts"] < limit and f["action"] not in ("BootNotification", "Heartbeat")
    ]
    t.check(not others, f"while Pending the charger sent {others}")
    await status_after_boot(t, t.index_of(second), {c: ("Available",) for c in [0, *connectors(t)]})
