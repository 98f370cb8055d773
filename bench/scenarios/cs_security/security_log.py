"""Security, the security log: TC_079_CS."""

from __future__ import annotations

from bench.scenarios.cs_security.steps import (
    PROFILE,
    event_types,
    expect_event,
    fetch_security_log,
    ready,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


@scenario("TC_079_CS", "Get Security Log", profile="security", requires=(PROFILE,), timeout_s=240)
async def tc_079(t: Handle) -> None:
    """After a power-up the charge point has sent SecurityEventNotification
    StartupOfTheDevice (a critical event). GetLog SecurityLog to the CSMS's FTP server:
    Accepted with a filename; LogStatusNotification Uploading then Uploaded, both with the
    GetLog's requestId; that file is on the FTP server, not empty, and names every
    security event the charge point has notified. Whitepaper 3 (security events, security
    log), 2.9 (N01 Retrieve Log Information)."""
    await ready(t)
    await expect_event(t, "StartupOfTheDevice", 0, why="after the charge point's power-up")
    name, text = await fetch_security_log(t)
    notified = sorted(set(event_types(t)))
    missing = [kind for kind in notified if kind not in text]
    t.details["security_log"]["events"] = notified
    t.check(
        not missing,
        f"the security log {name!r} does not name the events {missing} the charge point notified",
    )
