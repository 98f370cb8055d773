"""Power failure: the Central System closes transactions a charge point stops after a power loss."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1
OUTAGE_S = 5.0


@core_case("TC_032_1_CSMS", "Power failure boot charging point-configured to stop transaction(s)")
async def tc_032_1_power_failure(t: CsmsHandle) -> None:
    """After a power loss the charge point boots and stops its transaction (PowerLoss).

    From Charging the connection drops without a close frame; after the outage the
    BootNotification is answered Accepted, the StatusNotifications (Finishing on the
    transaction's connector, Available elsewhere) are acknowledged, and the
    StopTransaction with reason PowerLoss, timestamped at the outage, is answered (an
    idTagInfo, if any, Accepted for the valid idTag); the next transaction on the
    connector gets a new transactionId.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    lost_at = t.now()
    t.step("power loss")
    await t.disconnect(abrupt=True)
    await t.sleep(OUTAGE_S)
    await t.connect()
    boot = await t.boot()
    t.details["boot_after_power_loss"] = boot.get("status")
    for connector in range(t.connectors + 1):
        status = "Finishing" if connector == CONNECTOR else "Available"
        t.expect_empty_conf("StatusNotification", await t.status(connector, status))
    stop = await t.stop_transaction(tx, "PowerLoss", timestamp=lost_at, id_tag=t.tags.valid)
    t.details["stop_response"] = stop
    if "idTagInfo" in stop:
        t.expect_id_tag_status("StopTransaction", t.tags.valid, stop["idTagInfo"], "Accepted")
    # The transaction is closed: the next one on the connector is a new one.
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
    again = await t.charging(CONNECTOR)
    t.check(
        again != tx,
        f"the CSMS gave the next transaction the id {again} of the one stopped by PowerLoss",
    )
