"""Non-happy unlock: the Central System handles a failed or unsupported unlock."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_core.unlock import CONNECTOR, unlock
from bench.scenarios.csms_role import CsmsHandle


@core_case("TC_030_CSMS", "Unlock Connector - Unlock Failure")
async def tc_030_unlock_failure(t: CsmsHandle) -> None:
    """The connector fails to unlock: UnlockConnector.req for connector 1, answered UnlockFailed."""
    await t.booted()
    t.answer("UnlockConnector", {"status": "UnlockFailed"})
    await unlock(t, CONNECTOR, "UnlockFailed")


@core_case("TC_031_CSMS", "Unlock Connector - Unknown Connector")
async def tc_031_unknown_connector(t: CsmsHandle) -> None:
    """Unlock of a connector the charge point does not have is answered NotSupported.

    The operator asks to unlock connector NumberOfConnectors + 1; the CSMS forwards
    UnlockConnector.req for it and takes the answer NotSupported.
    """
    await t.booted()
    await unlock(t, t.connectors + 1, "NotSupported")
