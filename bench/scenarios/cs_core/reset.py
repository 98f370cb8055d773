"""Resetting, happy flow: TC_013, TC_014, TC_015, TC_016."""

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


async def _reset(t: Handle, kind: str) -> int:
    mark = t.mark()
    answer = await t.call(call.Reset(type=kind))
    t.check(answer.get("status") == "Accepted", f"Reset {kind} answered {answer.get('status')}")
    return mark


async def _reset_without_transaction(t: Handle, kind: str) -> None:
    await idle(t)
    mark = await _reset(t, kind)
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    await status_after_boot(t, t.index_of(boot), {c: ("Available",) for c in [0, *connectors(t)]})


def _after_tx_reset(t: Handle) -> dict[int, tuple[str, ...]]:
    """Statuses after a reset that ended the transaction on connector 1, EV still plugged."""
    expected: dict[int, tuple[str, ...]] = {c: ("Available",) for c in [0, *connectors(t)]}
    expected[1] = ("Finishing", "Preparing")
    return expected


@scenario("TC_013_CS", "Hard Reset Without transaction")
async def tc_013(t: Handle) -> None:
    """No transaction; Reset Hard: Accepted, the charger reboots (BootNotification) and
    reports connector 0 and every connector Available. OCPP 1.6 §5.14 Reset (errata v3.0),
    §4.2, errata v4.0 on §4.9."""
    await _reset_without_transaction(t, "Hard")


@scenario("TC_014_CS", "Soft Reset Without Transaction")
async def tc_014(t: Handle) -> None:
    """No transaction; Reset Soft: Accepted, the charger restarts its software
    (BootNotification) and reports connector 0 and every connector Available.
    OCPP 1.6 §5.14 Reset, §4.2, errata v4.0 on §4.9."""
    await _reset_without_transaction(t, "Soft")


@scenario("TC_015_CS", "Hard Reset With Transaction")
async def tc_015(t: Handle) -> None:
    """A transaction is charging; Reset Hard: Accepted, the transaction ends with
    StopTransaction reason HardReset (before the reboot, or after it once accepted), the
    charger boots again and reports every connector. OCPP 1.6 §5.14 Reset (errata v3.0:
    Hard may stop transactions after the restart), §7.36 Reason HardReset."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = await _reset(t, "Hard")
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    await stopped(t, tx, "HardReset", mark, within=REBOOT_WITHIN)
    await status_after_boot(
        t,
        t.index_of(boot),
        _after_tx_reset(t),
    )


@scenario("TC_016_CS", "Soft Reset With Transaction")
async def tc_016(t: Handle) -> None:
    """A transaction is charging; Reset Soft: Accepted, the charger stops the transaction
    gracefully first (StopTransaction reason SoftReset before the BootNotification), then
    restarts and reports every connector. OCPP 1.6 §5.14 Reset (errata v3.0: a soft
    reset stops ongoing transactions and sends StopTransaction for each), §7.36 Reason SoftReset."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = await _reset(t, "Soft")
    stop = await stopped(t, tx, "SoftReset", mark, within=REBOOT_WITHIN)
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    t.check(
        t.index_of(stop) < t.index_of(boot),
        "the StopTransaction SoftReset came after the reboot; a soft reset stops the "
        "transaction gracefully before restarting",
    )
    await status_after_boot(
        t,
        t.index_of(boot),
        _after_tx_reset(t),
    )
