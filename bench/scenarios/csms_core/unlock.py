"""Unlock: the Central System unlocks a connector on the operator's request."""

from __future__ import annotations

from typing import Any

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle, OperatorRequest

CONNECTOR = 1


async def unlock(t: CsmsHandle, connector: int, answered: str) -> tuple[OperatorRequest, Any]:
    """Operator unlocks ``connector``; the CSMS must send UnlockConnector.req for it."""
    request, _ = await t.operated(
        t.operator.unlock_connector(connector), "UnlockConnector", {"connectorId": connector}
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported UnlockConnector", outcome.get("status"), answered)
    return request, outcome


@core_case("TC_017_1_CSMS", "Unlock connector - no charging session running (Not fixed cable)")
async def tc_017_1_unlock_no_session(t: CsmsHandle) -> None:
    """The operator unlocks an idle connector: UnlockConnector.req for connector 1, Unlocked."""
    await t.booted()
    await unlock(t, CONNECTOR, "Unlocked")


@core_case("TC_017_2_CSMS", "Unlock connector - no charging session running (Fixed cable)")
async def tc_017_2_unlock_fixed_cable(t: CsmsHandle) -> None:
    """The operator unlocks a fixed-cable connector: the CSMS handles the answer NotSupported."""
    await t.booted()
    t.answer("UnlockConnector", {"status": "NotSupported"})
    await unlock(t, CONNECTOR, "NotSupported")


@core_case("TC_018_1_CSMS", "Unlock Connector - With Charging Session (Not fixed cable)")
async def tc_018_1_unlock_with_session(t: CsmsHandle) -> None:
    """Unlocking a connector with a transaction: the transaction ends with UnlockCommand.

    From Charging, the CSMS sends UnlockConnector.req for connector 1; the charge point
    unlocks, sends StopTransaction (reason UnlockCommand), which is answered, and
    Finishing and Available are acknowledged.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    await unlock(t, CONNECTOR, "Unlocked")
    await t.stop_transaction(tx, "UnlockCommand")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Finishing"))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
