"""Unlocking, happy flow: TC_017_1, TC_017_2, TC_018_1, TC_018_2."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import TAG, idle, start_remote, stopped
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


async def _unlock(t: Handle, connector: int, expect: str) -> None:
    answer = await t.call(call.UnlockConnector(connector_id=connector))
    t.check(
        answer.get("status") == expect,
        f"UnlockConnector({connector}) answered {answer.get('status')}, not {expect}",
    )


@scenario("TC_017_1_CS", "Unlock connector - no session (Not fixed cable)", requires=("HFS-1",))
async def tc_017_1(t: Handle) -> None:
    """No transaction, detachable cable: UnlockConnector is answered Unlocked.
    OCPP 1.6 §5.18 UnlockConnector, §7.46 UnlockStatus."""
    await idle(t)
    await _unlock(t, 1, "Unlocked")


@scenario("TC_017_2_CS", "Unlock connector - no session (Fixed cable)", requires=("HFS-2",))
async def tc_017_2(t: Handle) -> None:
    """No transaction, fixed cable (no cable lock at the charger): UnlockConnector is
    answered NotSupported. OCPP 1.6 §5.18, §7.46 UnlockStatus NotSupported ("Charge Point
    has no connector lock", errata v3.0)."""
    await idle(t)
    await _unlock(t, 1, "NotSupported")


@scenario(
    "TC_018_1_CS",
    "Unlock Connector - With Charging Session (Not fixed cable)",
    requires=("HFS-1",),
)
async def tc_018_1(t: Handle) -> None:
    """A transaction is charging on a detachable cable; UnlockConnector: the charger
    finishes the transaction first (StopTransaction reason UnlockCommand) and answers
    Unlocked. OCPP 1.6 §5.18 ("finish the transaction first"), §7.36 Reason UnlockCommand."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = t.mark()
    await _unlock(t, 1, "Unlocked")
    await stopped(t, tx, "UnlockCommand", mark)


@scenario(
    "TC_018_2_CS",
    "Unlock Connector - With Charging Session (Fixed cable)",
    requires=("HFS-2",),
)
async def tc_018_2(t: Handle) -> None:
    """A transaction is charging on a fixed cable; UnlockConnector is answered
    NotSupported (there is no lock to open) and the transaction goes on. OCPP 1.6 §5.18,
    §7.46 UnlockStatus NotSupported."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = t.mark()
    await _unlock(t, 1, "NotSupported")
    await t.expect_none("StopTransaction", {"transactionId": tx.transaction_id}, 3, mark)
