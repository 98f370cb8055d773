"""Meter values: TC_070 (sampled), TC_071 (clock-aligned)."""

from __future__ import annotations

from typing import Any

from bench.scenarios.cs_core.steps import (
    TAG,
    configure,
    idle,
    parse_ts,
    start_remote,
    stop_remote,
    tolerance,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

ALIGNED_S = 10
SAMPLES = 3
DEFAULT_MEASURAND = "Energy.Active.Import.Register"


def _measurands(t: Handle, item: str) -> list[str]:
    declared = t.pics.get(item) or [DEFAULT_MEASURAND]
    return [str(m) for m in declared]


def _with_context(context: str):
    """A matcher for MeterValues.meterValue holding at least one value of ``context``."""

    def match(meter_values: Any) -> bool:
        return any(
            sv.get("context", "Sample.Periodic") == context
            for mv in meter_values or []
            for sv in mv.get("sampledValue", [])
        )

    return match


async def _expect_context(
    t: Handle, connector: int, context: str, within: float, since: int
) -> dict[str, Any]:
    """The next MeterValues for ``connector`` with a value of ``context``; on failure,
    the contexts the charger did send."""
    try:
        return await t.expect(
            "MeterValues",
            {"connectorId": connector, "meterValue": _with_context(context)},
            within=within,
            since=since,
        )
    except ScenarioFailed:
        sent = sorted(
            {
                sv.get("context", "Sample.Periodic")
                for f in t.from_dut(since, "MeterValues")
                for mv in f["payload"].get("meterValue", [])
                for sv in mv.get("sampledValue", [])
            }
        )
        raise ScenarioFailed(
            f"no MeterValues with context {context} for connector {connector} within "
            f"{within:g} s; the MeterValues sent meanwhile had contexts {sent or 'none'}"
        ) from None


def _check_values(
    t: Handle, payload: dict[str, Any], tx_id: int, context: str, measurands: list[str]
) -> list[float]:
    """Every sample has ``context``, the configured measurands, the transactionId."""
    t.check(
        payload.get("transactionId") == tx_id,
        f"MeterValues transactionId {payload.get('transactionId')}, not {tx_id}",
    )
    stamps = []
    for mv in payload["meterValue"]:
        stamps.append(parse_ts(mv["timestamp"]))
        contexts = {sv.get("context", "Sample.Periodic") for sv in mv["sampledValue"]}
        t.check(contexts == {context}, f"sampledValue contexts {sorted(contexts)}, not {context}")
        have = {sv.get("measurand", DEFAULT_MEASURAND) for sv in mv["sampledValue"]}
        lacking = [m for m in measurands if m not in have]
        t.check(
            not lacking, f"MeterValues at {mv['timestamp']} lacks {lacking} (has {sorted(have)})"
        )
    return stamps


@scenario("TC_070_CS", "Sampled Meter Values")
async def tc_070(t: Handle) -> None:
    """MeterValueSampleInterval set (ORS-4, the smallest supported), clock-aligned data
    off, MeterValuesSampledData = the PICS measurands (C-09.1). During a transaction the
    charger sends MeterValues with the transactionId, context Sample.Periodic and every
    configured measurand, every MeterValueSampleInterval (±1 s); the energy register never
    decreases. OCPP 1.6 §4.7 MeterValues (errata v4.0: SHALL send at the interval),
    §9.1.17, §9.1.19, Metering Data (errata: Charging Session Meter Values)."""
    await idle(t)
    interval = int(t.pics.get("ORS-4", 5))
    measurands = _measurands(t, "C-09.1")
    await configure(
        t,
        MeterValueSampleInterval=str(interval),
        ClockAlignedDataInterval="0",
        MeterValuesSampledData=",".join(measurands),
    )
    tx = await start_remote(t, 1, TAG)
    position = t.index_of(tx.start)
    stamps: list[float] = []
    energy: list[float] = []
    for _ in range(SAMPLES):
        payload = await _expect_context(t, 1, "Sample.Periodic", interval + 5, position)
        position = t.index_of(payload) + 1
        stamps += _check_values(t, payload, tx.transaction_id, "Sample.Periodic", measurands)
        energy += [
            float(sv["value"])
            for mv in payload["meterValue"]
            for sv in mv["sampledValue"]
            if sv.get("measurand", DEFAULT_MEASURAND) == DEFAULT_MEASURAND
        ]
    gaps = [round(b - a, 1) for a, b in zip(stamps, stamps[1:], strict=False)]
    t.check(
        all(abs(gap - interval) <= tolerance(t) for gap in gaps),
        f"samples {gaps} s apart; MeterValueSampleInterval is {interval} s",
        timing=True,
    )
    t.check(energy == sorted(energy), f"the energy register went down: {energy}")
    await stop_remote(t, tx)


@scenario("TC_071_CS", "Clock-aligned Meter Values")
async def tc_071(t: Handle) -> None:
    """ClockAlignedDataInterval set, MeterValuesAlignedData = the PICS measurands (C-09.2),
    sampled data at its longest interval (ORS-5) so it does not interfere. During a
    transaction the charger sends MeterValues with context Sample.Clock, the
    transactionId and every configured measurand, timestamped on the interval boundaries
    counted from midnight (±1 s), one interval apart. OCPP 1.6 §4.7, §9.1.5
    ClockAlignedDataInterval, §9.1.15, Metering Data (errata: Clock-Aligned Meter
    Values; errata v4.0 on §4.7: transactionId)."""
    await idle(t)
    measurands = _measurands(t, "C-09.2")
    await configure(
        t,
        MeterValueSampleInterval=str(int(t.pics.get("ORS-5", 60))),
        ClockAlignedDataInterval=str(ALIGNED_S),
        MeterValuesAlignedData=",".join(measurands),
    )
    tx = await start_remote(t, 1, TAG)
    position = t.index_of(tx.start)
    stamps: list[float] = []
    for _ in range(2):
        payload = await _expect_context(t, 1, "Sample.Clock", ALIGNED_S + 5, position)
        position = t.index_of(payload) + 1
        stamps += _check_values(t, payload, tx.transaction_id, "Sample.Clock", measurands)
    for stamp in stamps:
        offset = stamp % ALIGNED_S
        # Stamped by the charger when it sampled: its own scheduling delay, which a faster
        # clock stretches in simulated time, is all the tolerance allows.
        t.check(
            min(offset, ALIGNED_S - offset) <= tolerance(t),
            f"clock-aligned value at {stamp % 86400:.1f} s after midnight is not on a "
            f"{ALIGNED_S} s boundary",
            timing=True,
        )
    gaps = [round(b - a, 1) for a, b in zip(stamps, stamps[1:], strict=False)]
    t.check(
        all(abs(gap - ALIGNED_S) <= tolerance(t) for gap in gaps),
        f"clock-aligned values {gaps} s apart; ClockAlignedDataInterval is {ALIGNED_S} s",
        timing=True,
    )
    await stop_remote(t, tx)
