"""Cold boot: the Central System registers a booting charge point."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.csms_core.steps import (
    MAX_HEARTBEAT_S,
    check_current_time,
    core_case,
    quiet_after,
)
from bench.scenarios.csms_role import CsmsHandle


@core_case("TC_001_CSMS", "Cold Boot Charge Point")
async def tc_001_cold_boot(t: CsmsHandle) -> None:
    """The CSMS accepts a booting, registered charge point.

    BootNotification is answered Accepted with a heartbeat interval (1 s to a day) and
    a currentTime close to now; the StatusNotifications for connector 0 and every
    connector (Available) and a Heartbeat are answered; the CSMS sends no unsolicited
    GetConfiguration after the boot.
    """
    await t.connect()
    since = t.mark()
    boot = await t.boot(expect_status=None)
    t.check(
        boot.get("status") == "Accepted",
        f"the CSMS answered BootNotification with status {boot.get('status')}, not Accepted",
    )
    interval = boot.get("interval")
    t.check(
        isinstance(interval, int) and 0 < interval <= MAX_HEARTBEAT_S,
        f"the CSMS's BootNotification.conf interval is {interval!r}: not a heartbeat "
        f"interval of 1..{MAX_HEARTBEAT_S} s",
    )
    check_current_time(t, "BootNotification", boot)
    t.details["heartbeat_interval"] = interval
    for connector in range(t.connectors + 1):
        t.expect_empty_conf("StatusNotification", await t.status(connector, "Available"))
    heartbeat = await t.send(call.Heartbeat())
    check_current_time(t, "Heartbeat", heartbeat)
    await quiet_after(t, "boot", since)
