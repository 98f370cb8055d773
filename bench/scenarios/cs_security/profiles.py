"""Security, security profiles: TC_083_CS, TC_084_CS, TC_085_CS, TC_086_CS, TC_087_CS.

A case that starts at profile 1 provisions the charger with SecurityProfile 1 (the
bench's CSMS then expects it on its plain-ws port); the others start at profile 2, the
bench's default.
"""

from __future__ import annotations

from typing import Any

from bench.scenarios.cs_security.steps import (
    CS_ROOT,
    PROFILE,
    Connections,
    bench_root,
    change_configuration,
    check_client_certificate,
    check_handshake,
    current_connection,
    ensure_root,
    key_not_disclosed,
    new_ca,
    present_server_certificate,
    ready,
    reboot,
    renew_certificate,
    security_profile,
    server_identity,
    upgrade_to_profile_3,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

AT_PROFILE_1 = {"SecurityProfile": "1"}
#: Several failed attempts with the new profile (back-off between them), then the old one.
FALLBACK_WITHIN = 180.0


async def profile_is(t: Handle, want: str, when: str) -> None:
    value = await security_profile(t)
    t.check(value == want, f"{when} GetConfiguration reports SecurityProfile {value!r}, not {want}")


async def connected_at(t: Handle, profile: int) -> None:
    """Booted over ``profile``'s port, and GetConfiguration reports that profile."""
    await ready(t)
    check_handshake(t, current_connection(t), profile, "at power-up")
    await profile_is(t, str(profile), f"at profile {profile}")


async def after_reset(t: Handle, profile: int, what: str, kind: str = "Soft") -> dict[str, Any]:
    """Reset ``kind``: the connection the charge point came back on, with ``profile``."""
    seen = await reboot(t, kind)
    c = await seen.next(why="after a hard reset" if kind == "Hard" else "after a reset")
    check_handshake(t, c, profile, what)
    return c


async def after_power_loss(t: Handle, profile: int) -> None:
    """Power lost and back: the charge point boots and connects with ``profile`` again."""
    seen = Connections(t)
    mark = t.mark()
    t.power_loss()
    t.power_restore()
    await t.expect("BootNotification", within=60, since=mark)
    check_handshake(t, await seen.next(why="after a power loss"), profile, "after a power loss")


@scenario(
    "TC_083_CS",
    "Upgrade Charge Point Security Profile - Accepted",
    profile="security",
    requires=(PROFILE, "SEC-1", "SEC-2"),
    timeout_s=480,
    agent_config=AT_PROFILE_1,
)
async def tc_083(t: Handle) -> None:
    """At profile 1 (plain ws, Basic auth). SecurityProfile 3 without a
    ChargePointCertificate: Rejected (its prerequisite is missing), no reconnection. The
    CPO root is a CentralSystemRootCertificate (InstallCertificate Accepted unless
    GetInstalledCertificateIds lists it already). While the profile-2 port presents a
    certificate no installed root vouches for, SecurityProfile 2: Accepted, and since the
    charge point cannot connect with it, it falls back to profile 1 (GetConfiguration
    still 1). With the genuine certificate back, SecurityProfile 2: Accepted; the charge
    point reconnects on the profile-2 port with TLS 1.2+ and Basic auth; GetConfiguration
    reports 2; after a reset it connects with profile 2 again. Whitepaper 1.3.4 (raising
    the profile: prerequisites checked, reconnect, fall back if the new one fails)."""
    await ready(t)
    check_handshake(t, current_connection(t), 1, "at the start")
    seen = Connections(t)
    await change_configuration(t, "SecurityProfile", "3", "Rejected")
    await seen.none(5, "after rejecting SecurityProfile 3")
    await ensure_root(t, CS_ROOT, bench_root(t, CS_ROOT), "the bench's CPO root")

    seen = Connections(t)
    rogue = server_identity(t, new_ca(t, "rogue-csms"), "rogue-server", "127.0.0.1")
    await present_server_certificate(t, rogue, "a certificate no installed root vouches for")
    check_handshake(t, await seen.next(why="after the CSMS restarted"), 1, "still at profile 1")
    seen = Connections(t)
    await change_configuration(t, "SecurityProfile", "2", "Accepted")
    c = await seen.next(
        FALLBACK_WITHIN,
        why="after accepting SecurityProfile 2, whose port it cannot trust: it neither "
        "reconnected with profile 2 nor fell back to profile 1",
    )
    check_handshake(t, c, 1, "after failing to connect with profile 2 (the fallback)")
    await profile_is(t, "1", "after falling back")

    seen = Connections(t)
    await present_server_certificate(t, None, "its genuine certificate")
    await seen.next(why="after the CSMS restarted")
    seen = Connections(t)
    await change_configuration(t, "SecurityProfile", "2", "Accepted")
    c = await seen.next(why="with security profile 2 after accepting it")
    check_handshake(t, c, 2, "after the upgrade")
    await profile_is(t, "2", "after the upgrade")
    await after_reset(t, 2, "after the upgrade and a reset")


@scenario(
    "TC_084_CS",
    "Downgrade Charge Point Security Profile - Rejected",
    profile="security",
    requires=(PROFILE, "SEC-2"),
    timeout_s=240,
)
async def tc_084(t: Handle) -> None:
    """At profile 2. ChangeConfiguration SecurityProfile 1, then 0: both Rejected; the
    charge point stays connected (no new connection), GetConfiguration still reports 2,
    and after a reset it connects with profile 2 again. Whitepaper 1.3.4 (lowering the
    profile over OCPP is not allowed)."""
    await ready(t)
    check_handshake(t, current_connection(t), 2, "at the start")
    seen = Connections(t)
    for lower in ("1", "0"):
        await change_configuration(t, "SecurityProfile", lower, "Rejected", raw=True)
    await seen.none(10, "again after rejecting a lower security profile")
    await profile_is(t, "2", "after the refused downgrade")
    await after_reset(t, 2, "after the refused downgrade")


@scenario(
    "TC_085_CS",
    "Basic Authentication - Valid username/password combination",
    profile="security",
    requires=(PROFILE, "SEC-1"),
    timeout_s=240,
    agent_config=AT_PROFILE_1,
)
async def tc_085(t: Handle) -> None:
    """At profile 1 the charge point connects over plain ws with HTTP Basic auth, user
    its charge point id and password its AuthorizationKey (the CSMS checks both), and
    boots; GetConfiguration reports SecurityProfile 1 and does not reveal the key; after a
    power loss it connects the same way. Whitepaper 1.3.2 (profile 1)."""
    await connected_at(t, 1)
    await key_not_disclosed(t, t.system.password)
    await after_power_loss(t, 1)


@scenario(
    "TC_086_CS",
    "TLS - Server-side certificate - Valid certificate",
    profile="security",
    requires=(PROFILE, "SEC-2"),
    timeout_s=240,
)
async def tc_086(t: Handle) -> None:
    """At profile 2 the charge point connects over TLS 1.2 or higher, with a cipher suite
    the whitepaper allows, verifying the CSMS's certificate (issued by the installed CPO
    root for 127.0.0.1), and with Basic auth; GetConfiguration reports SecurityProfile 2;
    after a power loss it connects the same way. Whitepaper 1.3.3 (profile 2)."""
    await connected_at(t, 2)
    await after_power_loss(t, 2)


@scenario(
    "TC_087_CS",
    "TLS - Client-side certificate - Valid certificate",
    profile="security",
    requires=(PROFILE, "SEC-3"),
    timeout_s=360,
)
async def tc_087(t: Handle) -> None:
    """The charge point gets a ChargePointCertificate from the CPO CA (the CSR flow) and
    is raised to profile 3: it connects on the profile-3 port over TLS 1.2+ presenting
    that certificate (subject CN its id, as the CSMS requires) and no password; after a
    hard reset it connects with the same certificate again and boots. Whitepaper 1.3.5
    (profile 3: TLS with client-side certificates)."""
    await ready(t)
    chain = await renew_certificate(t)
    await upgrade_to_profile_3(t, chain)
    await profile_is(t, "3", "at profile 3")
    c = await after_reset(t, 3, "after a hard reset", "Hard")
    check_client_certificate(t, c, chain)
