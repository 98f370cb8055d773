"""The Basic-auth password: the Central System changes it (AuthorizationKey)."""

from __future__ import annotations

from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.csms_security.steps import (
    check_status,
    handshake_status,
    local_dut,
    reconnected,
    security_case,
)

KEY_LENGTHS = range(16, 41)  # whitepaper: AuthorizationKey of 16 to 40 characters


@security_case("TC_073_CSMS", "Update Charge Point Password for HTTP Basic Authentication")
async def tc_073_update_password(t: CsmsHandle) -> None:
    """The operator sets a new AuthorizationKey: ChangeConfiguration.req AuthorizationKey
    with a value of 16-40 characters; the charge point accepts, reconnects with it and is
    let in; the old password is refused from then on (HTTP 401)."""
    await t.booted()
    old = t.cp.password
    before = len(t.cp.security.switches)
    request, sent = await t.operated(
        t.operator.change_configuration("AuthorizationKey", None),
        "ChangeConfiguration",
        {"key": "AuthorizationKey"},
    )
    value = sent.get("value")
    t.check(
        isinstance(value, str) and len(value) in KEY_LENGTHS,
        f"the new AuthorizationKey has {len(value or '')} characters, not 16-40",
    )
    t.check(value != old, "the CSMS sent the old password as the new AuthorizationKey")
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported ChangeConfiguration", outcome.get("status"), "Accepted")
    await reconnected(t, before)
    t.check(t.cp.password == value, "the charge point does not use the new key")
    status = await handshake_status(t, t.cp.url, old)
    t.check(status == "HTTP 401", f"the old password still opens a connection: {status}")
    dut = local_dut(t)
    if dut is not None:
        view = dut.security_overview(t.cp_id)
        t.check(not view["pending_key"], "the CSMS still keeps the old key next to the new one")
        stored = dut.store.charge_point(t.cp_id)["password_hash"]
        t.check(value not in str(stored), "the CSMS stores the new key in clear")
