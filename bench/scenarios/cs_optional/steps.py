"""Steps the optional-profile _CS cases share (the Core ones are in ``cs_core._common``).

Times are simulated seconds. Every helper fails with what the charger did instead.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from datetime import timedelta
from typing import Any

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import connectors, parse_ts, tolerance
from bench.scenarios.handle import Handle, ScenarioFailed, ScenarioTimedOut
from charger.clock import iso
from charger.protocol.errors import CallErrorReceived, NotConnected

#: Tags for the optional cases, known to nobody until a case adds them
#: (RDM6300 uids: 10 hex digits).
PARENT = "0A00FA0001"  # a parentIdTag (group)
CHILD_1 = "0A00FA0101"  # Accepted, parent PARENT
CHILD_2 = "0A00FA0102"  # Accepted, parent PARENT
LIST_ONLY = "0A00AA0001"  # in a local list only: the Central System does not know it


def at(t: Handle, seconds: float = 0.0) -> str:
    """An OCPP dateTime ``seconds`` from now on the bench's clock."""
    return iso(t.clock.now() + timedelta(seconds=seconds))


async def resolved(value: Any) -> Any:
    """``value``, awaited if it is awaitable (handle methods may be either)."""
    if inspect.isawaitable(value):
        return await value
    return value


def new_id() -> int:
    return random.randint(1000, 999_999)


async def request(
    t: Handle,
    payload: Any,
    expect: tuple[Any, ...],
    *,
    or_error: tuple[str, ...] = (),
    field: str = "status",
    within: float = 10.0,
) -> dict[str, Any]:
    """Send ``payload``; its ``field`` must be one of ``expect`` - or, where the OCTT allows
    it, the request may be refused with a CALLERROR whose code is in ``or_error`` (then
    ``{"callError": code}`` is returned). Fails saying what the charger answered."""
    name = type(payload).__name__
    t.step(f"send {name}")
    want = " or ".join([str(e) for e in expect] + [f"CALLERROR {c}" for c in or_error])
    try:
        answer = await asyncio.wait_for(t.csms.call(t.cp_id, payload), t.clock.wall(within))
    except CallErrorReceived as exc:
        if exc.code in or_error:
            return {"callError": exc.code}
        raise ScenarioFailed(f"{name} answered with CALLERROR {exc.code}, not {want}") from None
    except NotConnected:
        raise ScenarioFailed(f"{name}: the charge point is not connected") from None
    except TimeoutError:
        raise ScenarioFailed(f"{name}: no response within {within:g} s") from None
    t.check(
        answer.get(field) in expect,
        f"{name} answered {field} {answer.get(field)!r} ({answer}), not {want}",
    )
    return answer


async def set_unavailable(t: Handle, connector: int) -> None:
    """ChangeAvailability Inoperative: Accepted and the connector reports Unavailable
    (the OCTT's reusable states SetConnectorUnavailable / SetChargePointUnavailable)."""
    mark = t.mark()
    await request(
        t, call.ChangeAvailability(connector_id=connector, type="Inoperative"), ("Accepted",)
    )
    for c in [connector] if connector else connectors(t):
        await t.expect_status(c, "Unavailable", within=15, since=mark)


async def unused_unavailable(t: Handle, used: int = 1) -> None:
    """The OCTT's "SetConnectorUnavailable for all unused connectors"."""
    for c in connectors(t):
        if c != used:
            await set_unavailable(t, c)


def max_items(value: str | None, key: str, t: Handle) -> int:
    t.check(value is not None, f"GetConfiguration does not report {key}")
    try:
        return int(str(value))
    except ValueError:
        raise ScenarioFailed(f"{key} is {value!r}, not an integer") from None


# --- smart charging ---------------------------------------------------------------------

SETTLE_S = 5.0  # the limit in force reaches the output within this (simulated) time


def profile(
    pid: int,
    purpose: str,
    periods: list[tuple[float, float]],
    *,
    stack: int = 0,
    unit: str = "A",
    kind: str = "Absolute",
    start: str | None = None,
    duration: int | None = None,
    transaction_id: int | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
) -> dict[str, Any]:
    """A csChargingProfiles object (wire form); ``periods`` are (startPeriod, limit)."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": int(s), "limit": float(v)} for s, v in periods],
    }
    if duration is not None:
        schedule["duration"] = int(duration)
    if start is not None:
        schedule["startSchedule"] = start
    body: dict[str, Any] = {
        "chargingProfileId": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
    }
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    if valid_from is not None:
        body["validFrom"] = valid_from
    if valid_to is not None:
        body["validTo"] = valid_to
    return body


async def set_profile(
    t: Handle, connector: int, body: dict[str, Any], expect: str = "Accepted"
) -> dict[str, Any]:
    return await request(
        t, call.SetChargingProfile(connector_id=connector, cs_charging_profiles=body), (expect,)
    )


async def composite(
    t: Handle, connector: int, duration: int, unit: str = "A"
) -> tuple[dict[str, Any], float]:
    """GetCompositeSchedule: Accepted, for ``connector``, in ``unit``, starting now.
    Returns the response and the (simulated) time the request was sent."""
    sent = t.clock.time()
    answer = await request(
        t,
        call.GetCompositeSchedule(
            connector_id=connector, duration=duration, charging_rate_unit=unit
        ),
        ("Accepted",),
    )
    if "connectorId" in answer:
        t.check(
            answer["connectorId"] == connector,
            f"GetCompositeSchedule.conf is for connector {answer['connectorId']}, not {connector}",
        )
    schedule = answer.get("chargingSchedule")
    t.check(
        isinstance(schedule, dict), f"GetCompositeSchedule.conf has no chargingSchedule: {answer}"
    )
    t.check(
        schedule.get("chargingRateUnit") == unit,
        f"the composite schedule is in {schedule.get('chargingRateUnit')}, "
        f"not the {unit} asked for",
    )
    start = schedule.get("startSchedule") or answer.get("scheduleStart")
    t.check(start is not None, f"the composite schedule has no start: {answer}")
    skew = parse_ts(start) - sent
    t.check(
        abs(skew) <= tolerance(t, 2),
        f"the composite schedule starts {skew:+.1f} s from the moment it was asked for",
    )
    t.details.setdefault("composites", []).append(answer)
    return answer, sent


def composite_limit(answer: dict[str, Any], at_ts: float) -> float | None:
    """The composite schedule's limit at simulated time ``at_ts`` (None: no limit there)."""
    schedule = answer["chargingSchedule"]
    start = parse_ts(schedule.get("startSchedule") or answer["scheduleStart"])
    offset = at_ts - start
    duration = schedule.get("duration")
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    limit = None
    for period in sorted(
        schedule.get("chargingSchedulePeriod") or [], key=lambda p: p["startPeriod"]
    ):
        if period["startPeriod"] <= offset:
            limit = float(period["limit"])
    return limit


def check_composite(
    t: Handle,
    answer: dict[str, Any],
    windows: list[tuple[float, float, float | None]],
    unit: str = "A",
) -> None:
    """Each (from, to, limit) window, in absolute simulated time, has that limit in the
    composite schedule (sampled away from the window's edges); None: no profile limit
    there (no period, or only the charger's own rating, above every limit a case sets)."""
    margin = tolerance(t, 2)
    problems = []
    schedule = answer["chargingSchedule"]
    # The schedule starts when the charger computed it; a busy host asks later than the
    # case planned, and what lies before that start the answer cannot show.
    reported_from = parse_ts(schedule.get("startSchedule") or answer["scheduleStart"])
    for begin, end, want in windows:
        points = [begin + margin, (begin + end) / 2, end - margin]
        for point in points:
            if point < max(begin, reported_from) or point > end:
                continue
            got = composite_limit(answer, point)
            offset = point - windows[0][0]
            if want is None:
                if got is not None and got <= _NO_LIMIT_FLOOR[unit]:
                    problems.append(f"at +{offset:.0f} s a limit {got:g} {unit} where none applies")
            elif got is None or abs(got - want) > 0.05:
                problems.append(f"at +{offset:.0f} s {got} {unit} instead of {want:g} {unit}")
    if problems:
        periods = answer["chargingSchedule"].get("chargingSchedulePeriod")
        # Where each window lies depends on when the request went out: a time check.
        raise ScenarioTimedOut(
            "the composite schedule is wrong: " + "; ".join(problems[:4]) + f" (periods {periods})"
        )


_NO_LIMIT_FLOOR = {"A": 150.0, "W": 60_000.0}  # any limit a case sets stays below these
#: Unlimited, the EVs of the simulated rig draw 150-200 A (50-68 kW): above these.
UNLIMITED = {"A": 120.0, "W": 40_000.0}


def measured(t: Handle, connector: int, unit: str) -> float:
    out = t.rig.outputs[connector]
    return out.current_a if unit == "A" else out.voltage_v * out.current_a


def band(limit: float, unit: str) -> float:
    return max(2.0 if unit == "A" else 800.0, 0.03 * limit)


async def expect_output(
    t: Handle,
    connector: int,
    limit: float,
    unit: str = "A",
    *,
    hold: float = 6.0,
    settle: float = SETTLE_S,
    what: str = "",
) -> None:
    """The limit in force shows at the connector: within ``settle`` s the measured current
    (A) or power V*I (W) comes to ``limit`` and stays within a band around it for ``hold``
    s. The EV asks for more than any limit a case sets, so it charges at the limit: below
    the band is as wrong as above it."""
    tol = band(limit, unit)
    label = f"{what}: " if what else ""
    t.step(f"expect connector {connector} at {limit:g} {unit} (+/-{tol:g}) for {hold:g} s")
    deadline = t.clock.time() + settle
    value = measured(t, connector, unit)
    while abs(value - limit) > tol:
        if t.clock.time() > deadline:
            raise ScenarioFailed(
                f"{label}connector {connector} delivers {value:.1f} {unit} {settle:.0f} s after "
                f"the limit of {limit:g} {unit} came into force"
            )
        await t.sleep(0.2)
        value = measured(t, connector, unit)
    samples = []
    end = t.clock.time() + hold
    while t.clock.time() < end:
        samples.append(measured(t, connector, unit))
        await t.sleep(0.25)
    _record(t, connector, unit, limit, samples)
    low, high = min(samples), max(samples)
    t.check(
        high <= limit + tol,
        f"{label}connector {connector} went up to {high:.1f} {unit} "
        f"under a limit of {limit:g} {unit}",
    )
    t.check(
        low >= limit - tol,
        f"{label}connector {connector} fell to {low:.1f} {unit} under a limit of {limit:g} {unit} "
        "though the EV asks for more",
    )


async def expect_unlimited(
    t: Handle, connector: int, unit: str = "A", *, hold: float = 6.0, settle: float = SETTLE_S
) -> None:
    """No profile limits the connector: within ``settle`` s the output rises above every
    limit a case sets and stays there for ``hold`` s (the EV asks for more)."""
    floor = UNLIMITED[unit]
    t.step(f"expect connector {connector} unlimited (above {floor:g} {unit}) for {hold:g} s")
    deadline = t.clock.time() + settle
    value = measured(t, connector, unit)
    while value <= floor:
        if t.clock.time() > deadline:
            raise ScenarioFailed(
                f"connector {connector} delivers {value:.1f} {unit} where no profile limits it "
                f"(expected above {floor:g} {unit}: the EV asks for more)"
            )
        await t.sleep(0.2)
        value = measured(t, connector, unit)
    samples = []
    end = t.clock.time() + hold
    while t.clock.time() < end:
        samples.append(measured(t, connector, unit))
        await t.sleep(0.25)
    _record(t, connector, unit, None, samples)
    t.check(
        min(samples) > floor,
        f"connector {connector} fell to {min(samples):.1f} {unit} where no profile limits it",
    )


async def expect_window(
    t: Handle, connector: int, begin: float, end: float, limit: float | None, unit: str = "A"
) -> None:
    """Between simulated times ``begin`` and ``end`` the output follows ``limit`` (None: no
    limit). Allows ``SETTLE_S`` after ``begin`` and stops a second before ``end``."""
    if t.clock.time() < begin:
        await t.sleep(begin - t.clock.time())
    settle = max(0.0, begin + SETTLE_S - t.clock.time())
    hold = end - 1 - (t.clock.time() + settle)
    if hold < 2:
        raise ScenarioFailed(
            f"the window of {end - begin:.0f} s for {limit} {unit} passed before the output "
            "could be checked"
        )
    t.step(f"window of {end - begin:.0f} s: limit {limit} {unit}")
    if limit is None:
        await expect_unlimited(t, connector, unit, hold=hold, settle=settle + 1)
    else:
        await expect_output(t, connector, limit, unit, hold=hold, settle=settle + 1)


def _record(t: Handle, connector: int, unit: str, limit: float | None, samples: list[float]):
    t.details.setdefault("limits", []).append(
        {
            "connector": connector,
            "unit": unit,
            "limit": limit,
            "min": round(min(samples), 1),
            "max": round(max(samples), 1),
            "n": len(samples),
        }
    )
