"""Security, HTTP Basic authentication: TC_073_CS."""

from __future__ import annotations

import secrets

from bench.scenarios.cs_security.steps import (
    PROFILE,
    Connections,
    change_configuration,
    check_handshake,
    current_connection,
    key_not_disclosed,
    ready,
    reboot,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario
from bench.security.passwords import verify_password


def key_in_force(t: Handle, key: str) -> bool:
    """The CSMS accepted a handshake with ``key``: it promotes a pending key to the
    charge point's only one when, and only when, a handshake presents it."""
    row = t.csms.store.charge_point(t.cp_id) or {}
    sec = t.csms.store.security(t.cp_id) or {}
    return not sec.get("pending_hash") and verify_password(key, row.get("password_hash") or "")


@scenario(
    "TC_073_CS",
    "Update Charge Point Password for HTTP Basic Authentication",
    profile="security",
    requires=(PROFILE,),
    timeout_s=300,
)
async def tc_073(t: Handle) -> None:
    """ChangeConfiguration AuthorizationKey with a new 32-hex-digit key (the CSMS keeps
    the old one valid until the new one is used): Accepted; the charge point disconnects
    and connects again, on the same profile's port, with the new key as the Basic-auth
    password - the CSMS then voids the old one; GetConfiguration does not reveal the key
    (write-only); after a reset it connects with the new key again (it persisted).
    Whitepaper 1.3.2 (profile 1/2 Basic authentication), 2.1 AuthorizationKey."""
    await ready(t)
    before = current_connection(t)
    profile = int(before.get("profile") or 2)
    key = secrets.token_hex(16)
    seen = Connections(t)
    await change_configuration(t, "AuthorizationKey", key, "Accepted")
    c = await seen.next(why="after accepting a new AuthorizationKey (it must reconnect with it)")
    t.check(
        key_in_force(t, key),
        "the charge point connected again, but with its old AuthorizationKey, not the new one",
    )
    check_handshake(t, c, profile, "with the new AuthorizationKey")
    await key_not_disclosed(t, key)
    seen = await reboot(t, "Soft")
    c = await seen.next(why="after a reset (only the new AuthorizationKey is valid now)")
    check_handshake(t, c, profile, "after the reset")
    t.details["authorization_key"] = "new key in use at the next handshake and after a reset"
