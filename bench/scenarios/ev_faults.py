"""Faults a lab injects on the EV side of a DC session, and the charger's reaction.

Each case charges, then breaks one thing the vehicle or its cable presents, and checks
what a charger must do: report the connector Faulted with the error code that names
the fault (or, for a driver's own act, no fault at all), end the transaction with the
right reason, and open its contactors with no current left flowing. The rig injects
on the simulated pilot wire what the vehicle-side board (bench.ev.board) switches on
a real rig: the diode shorted, the CP shorted to PE, a PP resistor out of every
window; the CCS1 latch is pressed by the modelled driver; an EV that stops answering
freezes mid-session until its SECC's sequence timeout (60 s) gives the session up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.rig.sim import SECC_SEQUENCE_TIMEOUT_S
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario
from bench.scenarios.sessions import TAG, charging, plug, tap

PP_OUT_OF_RANGE_OHMS = 47.0  # below 75 Ohm (CCS2) and below the CCS1 latched window
OPEN_WITHIN_S = 5.0
FAULTED_WITHIN_S = 5.0  # after the StopTransaction: the status may follow it
OVERDEMAND_SAMPLES = 16  # every 0.25 s of bench time: 4 s of CurrentDemand


async def _charge(t: Handle, connector: int) -> dict[str, Any]:
    await t.booted()
    await plug(t, connector)
    mark = t.mark()
    await tap(t, TAG)
    start = await charging(t, connector, mark)
    await t.sleep(2)
    return start


@asynccontextmanager
async def _mid_session(t: Handle, connector: int) -> AsyncIterator[int]:
    """Charge on ``connector``; the body breaks something and checks the reaction from the
    mark it is given; then the EV is unplugged."""
    await _charge(t, connector)
    yield t.mark()
    t.unplug(connector)


def _never_faulted(t: Handle, connector: int, since: int) -> None:
    statuses = t.statuses(connector, since)
    t.check("Faulted" not in statuses, f"connector {connector} went Faulted ({statuses})")


async def _reaction(
    t: Handle,
    connector: int,
    since: int,
    *,
    error_code: str | None,
    reason: str,
    info: str = "",
    within: float = 20.0,
) -> None:
    """The charger's expected reaction after ``since``: Faulted with ``error_code`` (None:
    never Faulted), StopTransaction with ``reason``, contactors open and no current."""
    stop = await t.expect("StopTransaction", within=within, since=since)
    t.check(
        stop.get("reason") == reason,
        f"StopTransaction reason {stop.get('reason')!r}, not {reason!r}",
    )
    if error_code is None:
        _never_faulted(t, connector, since)
    else:
        faulted = await t.expect(
            "StatusNotification",
            {"connectorId": connector, "status": "Faulted"},
            within=FAULTED_WITHIN_S,
            since=since,
        )
        code = faulted.get("errorCode")
        t.check(code == error_code, f"Faulted with errorCode {code}, not {error_code}")
        if info:
            t.check(
                info in (faulted.get("info") or ""),
                f"Faulted info {faulted.get('info')!r} does not say {info!r}",
            )
    power = t.rig.power
    await t.wait_until(
        f"connector {connector}'s contactors open with no current",
        lambda: not power.contactors_closed(connector) and abs(t.rig.power_w(connector)) < 1.0,
        within=OPEN_WITHIN_S,
    )


@scenario(
    "ev-diode-fault",
    "EV side: the CP diode shorts mid-session -> Faulted EVCommunicationError, stop Other",
    profile="bench",
)
async def ev_diode_fault(t: Handle) -> None:
    async with _mid_session(t, 1) as mark:
        t.cp_fault(1, "diode_fault")
        await _reaction(t, 1, mark, error_code="EVCommunicationError", reason="Other")
        t.cp_fault(1, None)


@scenario(
    "ev-cp-pe-short",
    "EV side: CP shorted to PE mid-session (state E) -> Faulted GroundFailure, stop Other",
    profile="bench",
)
async def ev_cp_pe_short(t: Handle) -> None:
    async with _mid_session(t, 1) as mark:
        t.cp_fault(1, "E")
        await _reaction(t, 1, mark, error_code="GroundFailure", reason="Other")
        t.cp_fault(1, None)


@scenario(
    "ev-pp-out-of-range",
    "EV side: the PP reads out of every window mid-session -> Faulted OtherError, stop Other",
    profile="bench",
)
async def ev_pp_out_of_range(t: Handle) -> None:
    async with _mid_session(t, 1) as mark:
        t.pp_fault(1, PP_OUT_OF_RANGE_OHMS)
        await _reaction(t, 1, mark, error_code="OtherError", reason="Other", info="proximity pilot")
        t.pp_fault(1, None)


@scenario(
    "ev-latch-pressed",
    "EV side (CCS1): the driver presses the plug's latch mid-session -> stop Local, no fault",
    profile="bench",
)
async def ev_latch_pressed(t: Handle) -> None:
    async with _mid_session(t, 2) as mark:
        t.press_latch(2)
        await _reaction(t, 2, mark, error_code=None, reason="Local")
        t.release_latch(2)


@scenario(
    "ev-stops-answering",
    "EV side: the EV stops answering mid-session -> after the SECC's 60 s sequence timeout "
    "Faulted EVCommunicationError, stop Other",
    profile="bench",
)
async def ev_stops_answering(t: Handle) -> None:
    async with _mid_session(t, 1) as mark:
        t.ev_silent(1)
        await t.sleep(SECC_SEQUENCE_TIMEOUT_S / 2)
        t.check(
            not t.from_dut(mark, "StopTransaction"),
            "the transaction ended before the SECC's sequence timeout",
            timing=True,
        )
        await _reaction(
            t,
            1,
            mark,
            error_code="EVCommunicationError",
            reason="Other",
            within=SECC_SEQUENCE_TIMEOUT_S + 20,
        )


@scenario(
    "ev-overdemand",
    "EV side: the EV asks for twice the charger's rated current -> the charger caps its "
    "module at its rating and keeps charging",
    profile="bench",
)
async def ev_overdemand(t: Handle) -> None:
    spec = t.rig.specs[1]
    t.ev_demand(1, 2 * spec.max_current_a)
    await _charge(t, 1)
    mark = t.mark()
    asked = offered = delivered = 0.0
    for _ in range(OVERDEMAND_SAMPLES):
        await t.sleep(0.25)
        asked = max(asked, t.rig.evs[1].target_current_a)
        offered = max(offered, t.rig.power.module_setpoint(1).current_a)
        delivered = max(delivered, t.rig.outputs[1].current_a)
    t.check(asked > spec.max_current_a, f"the EV asked for only {asked:.0f} A")  # the premise
    t.check(
        offered <= spec.max_current_a + 0.5,
        f"the charger set its module to {offered:.0f} A, above its {spec.max_current_a:.0f} A "
        "rating",
    )
    t.check(delivered > 0.5 * spec.max_current_a, f"only {delivered:.0f} A delivered")
    t.check(not t.from_dut(mark, "StopTransaction"), "the charger ended the transaction")
    _never_faulted(t, 1, mark)
    t.unplug(1)


@scenario(
    "ev-isolation-fault",
    "EV side: an insulation fault shows in CableCheck -> Faulted GroundFailure, stop Other, "
    "never Charging",
    profile="bench",
)
async def ev_isolation_fault(t: Handle) -> None:
    await t.booted()
    t.isolation_fault(1)
    await plug(t, 1)
    mark = t.mark()
    await tap(t, TAG)
    await t.expect("StartTransaction", {"connectorId": 1}, within=10, since=mark)
    await _reaction(
        t, 1, mark, error_code="GroundFailure", reason="Other", info="isolation", within=40
    )
    statuses = t.statuses(1, mark)
    t.check("Charging" not in statuses, f"connector 1 charged through the fault ({statuses})")
    t.isolation_fault(1, False)
    t.unplug(1)
