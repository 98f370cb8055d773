"""Security, the Central System's certificate: TC_078_CS."""

from __future__ import annotations

from bench.scenarios.cs_security.steps import (
    PROFILE,
    RECONNECT_WITHIN,
    Connections,
    check_handshake,
    event_types,
    fetch_security_log,
    new_ca,
    present_server_certificate,
    ready,
    server_identity,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

REFUSE_FOR = 30.0  # long enough for several reconnection attempts
EVENT = "InvalidCentralSystemCertificate"


@scenario(
    "TC_078_CS",
    "Invalid CentralSystemCertificate Security Event",
    profile="security",
    requires=(PROFILE, "SEC-2"),
    timeout_s=420,
)
async def tc_078(t: Handle) -> None:
    """The CSMS presents a server certificate from a CA the charge point has no root for,
    then one from the right CA but for another host name: the charge point connects to
    neither (it does not complete a WebSocket handshake, so never sends its password).
    With the genuine certificate back it connects again, and the InvalidCentralSystemCertificate
    security event reaches the CSMS: as a SecurityEventNotification, or else in the
    security log (GetLog SecurityLog). Whitepaper 1.3.3 (the charge point verifies the
    server's chain and host name; on failure no connection and an
    InvalidCentralSystemCertificate event), 3 (security events and log)."""
    await ready(t)
    mark = t.mark()
    rogue = new_ca(t, "rogue-csms")
    seen = Connections(t)
    identity = server_identity(t, rogue, "rogue-server", "127.0.0.1")
    await present_server_certificate(t, identity, "a certificate from an unknown CA")
    await seen.none(REFUSE_FOR, "to a CSMS whose certificate no installed root vouches for")
    seen = Connections(t)
    identity = server_identity(t, t.csms.cpo_ca(), "wrong-host", "csms.invalid")
    await present_server_certificate(t, identity, "a CPO-CA certificate for host csms.invalid")
    await seen.none(REFUSE_FOR, "to 127.0.0.1 presenting a certificate for csms.invalid")
    seen = Connections(t)
    await present_server_certificate(t, None, "its genuine certificate")
    c = await seen.next(
        RECONNECT_WITHIN * 2, why="once the CSMS presented its genuine certificate again"
    )
    check_handshake(t, c, 2, "back with the genuine certificate")
    deadline = t.clock.time() + 30
    while EVENT not in event_types(t, mark) and t.clock.time() < deadline:
        await t.sleep(0.5)
    if EVENT in event_types(t, mark):
        t.details["event"] = "SecurityEventNotification"
        return
    name, text = await fetch_security_log(t)
    if EVENT not in text:
        raise ScenarioFailed(
            f"the charge point refused the invalid certificates, but recorded no {EVENT} "
            f"event: no SecurityEventNotification (it sent {event_types(t, mark) or 'none'}) "
            f"and its security log {name!r} does not name it"
        )
    t.details["event"] = f"in the security log {name}"
