"""Start session: the Central System authorizes and registers locally started transactions."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1


@core_case("TC_003_CSMS", "Regular Charging Session - Plugin First")
async def tc_003_plugin_first(t: CsmsHandle) -> None:
    """Cable first, then identification: Authorize and StartTransaction are answered Accepted.

    Preparing is acknowledged, Authorize of the valid idTag is Accepted, StartTransaction
    gets a transactionId with idTagInfo Accepted, and Charging is acknowledged.
    """
    await t.booted()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    await t.authorized()
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case("TC_004_1_CSMS", "Regular Charging Session - Identification First")
async def tc_004_1_identification_first(t: CsmsHandle) -> None:
    """Identification first, then the cable (reusable state Charging).

    Authorize of the valid idTag is Accepted; after Preparing, StartTransaction gets a
    transactionId with idTagInfo Accepted; Charging is acknowledged.
    """
    await t.booted()
    await t.authorized()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case("TC_004_2_CSMS", "Regular Charging Session - Identification First - ConnectionTimeOut")
async def tc_004_2_connection_timeout(t: CsmsHandle) -> None:
    """The driver identifies but never plugs in: the connector goes back to Available.

    Authorize is Accepted; Preparing and, after the charge point's ConnectionTimeOut,
    Available are acknowledged; the CSMS starts nothing on its own (no
    RemoteStartTransaction) meanwhile.
    """
    await t.booted()
    await t.authorized()
    since = t.mark()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    await t.sleep(t.cp.config.int("ConnectionTimeOut", 10))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
    await t.expect_none("RemoteStartTransaction", during=0, since=since)
