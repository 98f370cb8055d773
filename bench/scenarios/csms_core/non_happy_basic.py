"""Non-happy basic: the Central System refuses idTags it must not accept; lock failures."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1


async def authorize_refused(t: CsmsHandle, id_tag: str, expected: str, kind: str) -> None:
    await t.booted()
    t.step(f"EV driver presents an {kind} idTag {id_tag}")
    info = await t.authorize(id_tag)
    t.expect_id_tag_status("Authorize", id_tag, info, expected)
    t.details["idTagInfo"] = info


@core_case("TC_023_1_CSMS", "Start Charging Session - Authorize invalid")
async def tc_023_1_authorize_invalid(t: CsmsHandle) -> None:
    """Authorize of an idTag the CSMS does not know is answered idTagInfo.status Invalid."""
    await authorize_refused(t, t.tags.invalid, "Invalid", "unknown")


@core_case("TC_023_2_CSMS", "Start Charging Session - Authorize expired")
async def tc_023_2_authorize_expired(t: CsmsHandle) -> None:
    """Authorize of an idTag the CSMS holds as expired is answered idTagInfo.status Expired."""
    await authorize_refused(t, t.tags.expired, "Expired", "expired")


@core_case("TC_023_3_CSMS", "Start Charging Session - Authorize blocked")
async def tc_023_3_authorize_blocked(t: CsmsHandle) -> None:
    """Authorize of an idTag the CSMS holds as blocked is answered idTagInfo.status Blocked."""
    await authorize_refused(t, t.tags.blocked, "Blocked", "blocked")


@core_case("TC_024_CSMS", "Start Charging Session Lock Failure")
async def tc_024_lock_failure(t: CsmsHandle) -> None:
    """The connector cannot lock the cable: the CSMS takes the Faulted report.

    After Authorize (Accepted), Preparing and then Faulted with errorCode
    ConnectorLockFailure are acknowledged; the CSMS does not try to start a
    transaction on the faulted connector.
    """
    await t.booted()
    await t.authorized()
    since = t.mark()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    faulted = await t.status(CONNECTOR, "Faulted", error_code="ConnectorLockFailure")
    t.expect_empty_conf("StatusNotification", faulted)
    await t.expect_none("RemoteStartTransaction", during=2, since=since)
    if t.operator.local:  # our CSMS: what it shows its operator for the connector
        shown = t.operator.csms.store.connector_statuses(t.cp_id).get(CONNECTOR) or {}  # type: ignore[attr-defined]
        t.check(
            (shown.get("status"), shown.get("error_code")) == ("Faulted", "ConnectorLockFailure"),
            f"after the lock failure the CSMS shows connector {CONNECTOR} as {shown}, not "
            "Faulted with ConnectorLockFailure",
        )
