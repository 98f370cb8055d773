"""Cache: transactions started from the charge point's authorization cache, clearing the cache."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1


@core_case("TC_007_CSMS", "Regular Start Charging Session - Cached Id")
async def tc_007_cached_id(t: CsmsHandle) -> None:
    """A transaction started with a cached idTag (no Authorize first) is accepted.

    Preparing is acknowledged; StartTransaction without a preceding Authorize gets a
    transactionId with idTagInfo Accepted; Charging is acknowledged.
    """
    await t.booted()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case("TC_061_CSMS", "Clear Authorization Data in Authorization Cache")
async def tc_061_clear_cache(t: CsmsHandle) -> None:
    """The operator clears the charge point's authorization cache.

    The operator action makes the CSMS send ClearCache.req; the charge point answers
    Accepted, and (where the DUT reports back) the CSMS reports Accepted.
    """
    await t.booted()
    request, _ = await t.operated(t.operator.clear_cache(), "ClearCache")
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported ClearCache", outcome.get("status"), "Accepted")
