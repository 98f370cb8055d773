"""Offline: the Central System takes transaction messages queued while the link was down."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1
OFFLINE_S = 5.0


async def offline_start(t: CsmsHandle, id_tag: str) -> tuple[dict, str]:
    """Booted, then the link drops; a transaction starts offline; the link comes back."""
    await t.booted()
    t.step("connectivity lost")
    await t.disconnect(abrupt=True)
    started_at = t.now()
    t.step(f"EV driver starts a transaction offline with {id_tag}")
    await t.sleep(OFFLINE_S)
    t.step("connectivity restored")
    await t.connect()
    start = await t.start_transaction(CONNECTOR, id_tag, timestamp=started_at)
    return start, started_at


@core_case("TC_037_1_CSMS", "Offline Start Transaction - Valid IdTag")
async def tc_037_1_offline_start_valid(t: CsmsHandle) -> None:
    """A StartTransaction queued offline (past timestamp, valid idTag) is accepted on reconnect.

    The CSMS gives a transactionId with idTagInfo Accepted and acknowledges Charging.
    """
    start, _ = await offline_start(t, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case(
    "TC_037_3_CSMS", "Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = true"
)
async def tc_037_3_offline_start_invalid(t: CsmsHandle) -> None:
    """A transaction started offline with an unknown idTag: Invalid, then DeAuthorized stop.

    The queued StartTransaction still gets a transactionId, with idTagInfo Invalid;
    the charge point (StopTransactionOnInvalidId = true) stops it with reason
    DeAuthorized, which is answered, and Finishing is acknowledged.
    """
    start, _ = await offline_start(t, t.tags.invalid)
    t.expect_id_tag_status("StartTransaction", t.tags.invalid, start.get("idTagInfo"), "Invalid")
    await t.stop_transaction(start["transactionId"], "DeAuthorized")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Finishing"))


@core_case("TC_039_CSMS", "Offline Transaction")
async def tc_039_offline_transaction(t: CsmsHandle) -> None:
    """A whole transaction happened offline: queued Start and Stop are taken in order.

    After reconnecting, StartTransaction (timestamp in the past, valid idTag) gets a
    transactionId with idTagInfo Accepted, and the StopTransaction for it (reason
    Local, later past timestamp) is answered - with idTagInfo Accepted if it has one.
    """
    await t.booted()
    t.step("connectivity lost")
    await t.disconnect(abrupt=True)
    started_at = t.now()
    await t.sleep(OFFLINE_S)
    stopped_at = t.now()
    t.step("EV driver started and stopped a transaction offline, then unplugged")
    await t.sleep(1)
    t.step("connectivity restored")
    await t.connect()
    start = await t.start_transaction(CONNECTOR, t.tags.valid, timestamp=started_at)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    stop = await t.stop_transaction(
        start["transactionId"], "Local", id_tag=t.tags.valid, timestamp=stopped_at
    )
    if "idTagInfo" in stop:
        t.expect_id_tag_status("StopTransaction", t.tags.valid, stop["idTagInfo"], "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
