"""Stop session: the Central System closes a transaction the EV side ended."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1


@core_case(
    "TC_005_1_CSMS",
    "EV Side Disconnected - StopTransactionOnEVSideDisconnect = true - "
    "UnlockConnectorOnEVSideDisconnect = true",
)
async def tc_005_1_ev_side_disconnected(t: CsmsHandle) -> None:
    """The cable is pulled at the EV: the charge point stops the transaction (EVDisconnected).

    From Charging: SuspendedEV is acknowledged, StopTransaction (reason EVDisconnected,
    the starting idTag) is answered - with idTagInfo Accepted if it carries one - and
    Finishing and Available are acknowledged.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "SuspendedEV"))
    stop = await t.stop_transaction(tx, "EVDisconnected", id_tag=t.tags.valid)
    if "idTagInfo" in stop:
        t.expect_id_tag_status("StopTransaction", t.tags.valid, stop["idTagInfo"], "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Finishing"))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
