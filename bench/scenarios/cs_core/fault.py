"""Fault behaviour: TC_041."""

from __future__ import annotations

from bench.scenarios.cs_core.steps import connectors, idle
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


@scenario("TC_041_CS", "Fault Behavior")
async def tc_041(t: Handle) -> None:
    """The energy meter of connector 1 stops answering: the charger reports connector 1
    Faulted with errorCode PowerMeterFailure (other connectors unaffected); when the
    meter answers again it reports the connector Available with errorCode NoError.
    OCPP 1.6 §4.9 StatusNotification, §7.6 ChargePointErrorCode, §7.7 Faulted."""
    await idle(t)
    mark = t.mark()
    t.meter_fault(1, "timeout")
    faulted = await t.expect_status(1, "Faulted", within=20, since=mark)
    t.check(
        faulted.get("errorCode") == "PowerMeterFailure",
        f"Faulted with errorCode {faulted.get('errorCode')}, not PowerMeterFailure "
        "(the meter is not answering)",
    )
    others = [c for c in connectors(t) if c != 1]
    for connector in others:
        t.check(
            "Faulted" not in t.statuses(connector, mark),
            f"connector {connector} went Faulted with connector 1's meter",
        )
    mark = t.mark()
    t.meter_fault(1, None)
    cleared = await t.expect_status(1, "Available", within=20, since=mark)
    t.check(
        cleared.get("errorCode") == "NoError",
        f"Available with errorCode {cleared.get('errorCode')}, not NoError",
    )
