"""Authorization cache: TC_007_1, TC_007_2, TC_061_1, TC_061_2."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    authorizes_of,
    configure,
    fill_cache_local,
    fill_cache_remote,
    idle,
    plug,
    remote_start,
    started,
    tap_again,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


async def _clear_cache(t: Handle) -> None:
    answer = await t.call(call.ClearCache())
    t.check(answer.get("status") == "Accepted", f"ClearCache answered {answer.get('status')}")


@scenario(
    "TC_007_1_CS",
    "Regular Start Charging Session - Cached Id",
    requires=("C-04", "C-07"),
)
async def tc_007_1(t: Handle) -> None:
    """AuthorizationCacheEnabled and LocalPreAuthorize true; an earlier session put the
    idTag in the cache. Presenting it again starts the transaction at once from the
    cache: StartTransaction without an Authorize. OCPP 1.6 §3.5.1 Authorization Cache,
    §9.1.13 LocalPreAuthorize ("without waiting for or requesting an Authorize.conf")."""
    await idle(t)
    await configure(t, AuthorizationCacheEnabled="true", LocalPreAuthorize="true")
    await fill_cache_local(t, TAG)
    await plug(t, 1)
    mark = t.mark()
    await tap_again(t, TAG)
    tx = await started(t, 1, TAG, mark)
    asked = authorizes_of(t, TAG, mark, until=tx.start)
    t.check(
        not asked,
        "the charger sent Authorize for a cached idTag before starting, though "
        "LocalPreAuthorize is true (§3.5.1)",
    )
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario("TC_007_2_CS", "Remote Start Charging Session - Cached Id", requires=("C-04",))
async def tc_007_2(t: Handle) -> None:
    """AuthorizeRemoteTxRequests, AuthorizationCacheEnabled and LocalPreAuthorize true;
    the idTag is cached by an earlier remotely started session. A RemoteStartTransaction
    for it is authorized like a local action, from the cache: StartTransaction without
    an Authorize. OCPP 1.6 §5.11 RemoteStartTransaction, §9.1.3 AuthorizeRemoteTxRequests,
    §3.5.1, §9.1.13."""
    await idle(t)
    await configure(
        t,
        AuthorizeRemoteTxRequests="true",
        AuthorizationCacheEnabled="true",
        LocalPreAuthorize="true",
    )
    await fill_cache_remote(t, TAG)
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 1, TAG)
    tx = await started(t, 1, TAG, mark)
    asked = authorizes_of(t, TAG, mark, until=tx.start)
    t.check(
        not asked,
        "the charger sent Authorize for a cached idTag on RemoteStartTransaction, though "
        "LocalPreAuthorize is true (§3.5.1, §9.1.3)",
    )
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_061_1_CS",
    "Clear Authorization Data in Authorization Cache - Local",
    requires=("C-04", "C-07"),
)
async def tc_061_1(t: Handle) -> None:
    """The idTag is in the cache; ClearCache is Accepted; presenting the idTag again must
    now be authorized online: Authorize, then StartTransaction. OCPP 1.6 §5.4 ClearCache,
    §3.5.1."""
    await idle(t)
    await configure(t, AuthorizationCacheEnabled="true", LocalPreAuthorize="true")
    await fill_cache_local(t, TAG)
    await _clear_cache(t)
    await plug(t, 1)
    mark = t.mark()
    await tap_again(t, TAG)
    await t.expect_sequence(
        [("Authorize", {"idTag": TAG}), ("StartTransaction", {"connectorId": 1, "idTag": TAG})],
        within=15,
        since=mark,
    )


@scenario(
    "TC_061_2_CS",
    "Clear Authorization Data in Authorization Cache - Remote",
    requires=("C-04",),
)
async def tc_061_2(t: Handle) -> None:
    """AuthorizeRemoteTxRequests true; the idTag is in the cache; ClearCache is Accepted;
    a RemoteStartTransaction for the idTag must now be authorized online: Authorize, then
    StartTransaction. OCPP 1.6 §5.4 ClearCache, §5.11, §9.1.3."""
    await idle(t)
    await configure(
        t,
        AuthorizeRemoteTxRequests="true",
        AuthorizationCacheEnabled="true",
        LocalPreAuthorize="true",
    )
    await fill_cache_remote(t, TAG)
    await _clear_cache(t)
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 1, TAG)
    await t.expect_sequence(
        [("Authorize", {"idTag": TAG}), ("StartTransaction", {"connectorId": 1, "idTag": TAG})],
        within=15,
        since=mark,
    )
