"""Power failure: TC_032_1, TC_032_2, TC_034."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    REBOOT_WITHIN,
    TAG,
    connectors,
    idle,
    start_remote,
    status_after_boot,
    stopped,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

DARK_S = 2


async def _power_cycle(t: Handle) -> tuple[int, dict]:
    mark = t.mark()
    t.power_loss()
    await t.sleep(DARK_S)
    t.power_restore()
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    return mark, boot


def _after_loss(t: Handle) -> dict[int, tuple[str, ...]]:
    """Statuses after the power came back; the EV is still plugged into connector 1."""
    expected: dict[int, tuple[str, ...]] = {c: ("Available",) for c in [0, *connectors(t)]}
    expected[1] = ("Finishing", "Preparing")
    return expected


@scenario(
    "TC_032_1_CS",
    "Power failure - stop transaction(s) before going down",
    requires=("AQ-7.1",),
)
async def tc_032_1(t: Handle) -> None:
    """A transaction is charging when the mains fail; a charger configured to report it
    before going down (AQ-7.1) sends StopTransaction reason PowerLoss before it reboots;
    after the power returns it boots and reports its connectors. OCPP 1.6 §4.10,
    §7.36 Reason PowerLoss, §4.2."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark, boot = await _power_cycle(t)
    stop = await stopped(t, tx, "PowerLoss", mark, within=REBOOT_WITHIN)
    t.check(
        t.index_of(stop) < t.index_of(boot),
        "StopTransaction PowerLoss came after the reboot, not before going down (AQ-7.1)",
    )
    await status_after_boot(t, t.index_of(boot), _after_loss(t))


@scenario(
    "TC_032_2_CS",
    "Power failure - stop transaction(s) after going down",
    requires=("AQ-7.2",),
)
async def tc_032_2(t: Handle) -> None:
    """A transaction is charging when the mains fail; after the power returns the
    charger boots (BootNotification, status of connector 0 and every connector) and then
    ends the transaction with StopTransaction reason PowerLoss, meterStop the register at
    the time. OCPP 1.6 §4.10, §7.36 Reason PowerLoss, §4.2, §4.9."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    _, boot = await _power_cycle(t)
    after = t.index_of(boot)
    stop = await stopped(t, tx, "PowerLoss", after, within=REBOOT_WITHIN)
    register = round(t.rig.meter_wh(1))
    t.check(
        stop["meterStop"] == register,
        f"meterStop {stop['meterStop']} Wh is not the meter register {register} Wh",
    )
    await status_after_boot(t, after, _after_loss(t))


@scenario("TC_034_CS", "Power Failure with Unavailable Status")
async def tc_034(t: Handle) -> None:
    """ChangeAvailability(0, Inoperative) is Accepted and every connector becomes
    Unavailable; the power fails and returns: after the BootNotification the charger
    still reports connector 0 and every connector Unavailable (availability persists);
    ChangeAvailability(0, Operative) makes them Available again. OCPP 1.6 §5.2
    ChangeAvailability ("persistent across reboots"), §4.9."""
    await idle(t)
    mark = t.mark()
    answer = await t.call(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    t.check(answer.get("status") == "Accepted", f"ChangeAvailability answered {answer}")
    for connector in [0, *connectors(t)]:
        await t.expect_status(connector, "Unavailable", since=mark)
    _, boot = await _power_cycle(t)
    await status_after_boot(t, t.index_of(boot), {c: ("Unavailable",) for c in [0, *connectors(t)]})
    mark = t.mark()
    answer = await t.call(call.ChangeAvailability(connector_id=0, type="Operative"))
    t.check(answer.get("status") == "Accepted", f"ChangeAvailability answered {answer}")
    for connector in [0, *connectors(t)]:
        await t.expect_status(connector, "Available", since=mark)
