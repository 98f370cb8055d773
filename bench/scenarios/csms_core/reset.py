"""Reset: the Central System resets a charge point and registers it again after the reboot."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle


async def reset_case(t: CsmsHandle, kind: str) -> None:
    await t.booted()
    request, _ = await t.operated(t.operator.reset(kind), "Reset", {"type": kind})
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported Reset", outcome.get("status"), "Accepted")
    # A hard reset is a power cycle (no close frame); a soft one closes the connection.
    boot = await t.reboot(abrupt=kind == "Hard")
    t.details["boot_after_reset"] = boot.get("status")
    for connector in range(t.connectors + 1):
        t.expect_empty_conf("StatusNotification", await t.status(connector, "Available"))


@core_case("TC_013_CSMS", "Hard Reset Without transaction")
async def tc_013_hard_reset(t: CsmsHandle) -> None:
    """The operator hard-resets an idle charge point.

    The CSMS sends Reset.req with type Hard; the charge point accepts, drops off and
    boots again: BootNotification is answered Accepted and the StatusNotifications
    are acknowledged.
    """
    await reset_case(t, "Hard")


@core_case("TC_014_CSMS", "Soft Reset Without Transaction")
async def tc_014_soft_reset(t: CsmsHandle) -> None:
    """The operator soft-resets an idle charge point.

    The CSMS sends Reset.req with type Soft; the charge point accepts, closes the
    connection and boots again: BootNotification is answered Accepted and the
    StatusNotifications are acknowledged.
    """
    await reset_case(t, "Soft")
