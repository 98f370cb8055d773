"""OCPP 1.6 smart charging as pure functions over ChargingProfile dicts (wire form).

A profile is the ``csChargingProfiles`` object of SetChargingProfile.req (camelCase);
an *installed* profile is ``{"connectorId": n, "chargingProfile": {...}}`` plus,
optionally, ``"installedAt"`` (when the charge point accepted it: the start of an
Absolute schedule without ``startSchedule``). Nothing here does I/O or reads a clock:
every function takes the times it needs, as aware datetimes or OCPP date-time strings.

Semantics (OCPP 1.6 edition 2, 3.13 and 7.7-7.13):

* a profile is valid in ``[validFrom, validTo)``;
* Absolute schedules start at ``startSchedule``; Relative ones at the start of the
  transaction, or - with no transaction - at the start of the requested composite
  (the moment the charge point is asked); Recurring ones at the last occurrence of
  ``startSchedule`` (every day, or every week) at or before the instant;
* a schedule lasts ``duration`` seconds if given (for Recurring at most one cycle);
  a period lasts until the next one's ``startPeriod``;
* within one purpose the valid profile with the highest ``stackLevel`` whose schedule
  is active at an instant prevails (equal levels: the connector's own profile wins
  over connector 0's);
* for a connector the limit is the minimum of the prevailing ChargePointMaxProfile
  (connector 0) and, with a transaction, the prevailing TxProfile (of that
  transaction) or else TxDefaultProfile; without one, TxDefaultProfile. Connector 0's
  composite is the ChargePointMaxProfile alone (or connector 0's TxDefaultProfile
  when there is none);
* A and W convert with ``W = A x voltage x phases`` (``phases`` = the period's
  ``numberPhases`` when given, else the caller's default, 3 as the spec says).

The composite of a window is a ChargingSchedule dict: ``startSchedule``,
``duration``, ``chargingRateUnit`` and ``chargingSchedulePeriod`` (limits rounded to
0.1 as the schema wants). Where no profile limits the connector the limit is
``default_limit`` - the charge point's own maximum - or, if that is None, the gap
ends the schedule early (``duration`` shrinks to the last limited instant).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from charger.protocol.times import format_ocpp_time, parse_ocpp_time

Profile = dict[str, Any]
Installed = dict[str, Any]

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCY = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}
UNITS = ("A", "W")
DEFAULT_VOLTAGE = 230.0
DEFAULT_PHASES = 3


parse_time = parse_ocpp_time
format_time = format_ocpp_time


@dataclass(frozen=True)
class Limit:
    """One profile's limit at an instant, in the profile's unit."""

    value: float
    unit: str
    number_phases: int | None
    profile_id: int | None = None

    def to_unit(self, unit: str, voltage: float, phases: int) -> float:
        return convert(self.value, self.unit, unit, voltage, self.number_phases or phases)


def convert(value: float, from_unit: str, to_unit: str, voltage: float, phases: int) -> float:
    """A limit in ``to_unit``: W = A x voltage x phases."""
    if from_unit == to_unit:
        return value
    factor = voltage * max(1, phases)
    return value * factor if from_unit == "A" else value / factor


# -- one profile ---------------------------------------------------------------------------


def is_valid_at(profile: Profile, at: datetime) -> bool:
    """``validFrom <= at < validTo`` (a missing bound does not limit)."""
    valid_from = parse_time(profile.get("validFrom"))
    valid_to = parse_time(profile.get("validTo"))
    return (valid_from is None or valid_from <= at) and (valid_to is None or at < valid_to)


def schedule_start(
    profile: Profile,
    at: datetime,
    *,
    transaction_start: datetime | None = None,
    origin: datetime | None = None,
    installed_at: datetime | None = None,
) -> datetime | None:
    """When the schedule cycle in force at ``at`` began (None if it has not begun)."""
    schedule = profile.get("chargingSchedule", {})
    kind = profile.get("chargingProfileKind", "Absolute")
    anchor = parse_time(schedule.get("startSchedule"))
    if kind == "Relative":
        base = transaction_start or origin
    elif kind == "Recurring":
        period = RECURRENCY.get(profile.get("recurrencyKind", "Daily"), RECURRENCY["Daily"])
        anchor = anchor or parse_time(profile.get("validFrom")) or installed_at or origin
        if anchor is None:
            return None
        cycles = math.floor((at - anchor) / period)
        base = anchor + cycles * period
    else:
        base = anchor or parse_time(profile.get("validFrom")) or installed_at or origin
    if base is None or at < base:
        return None
    return base


def schedule_duration(profile: Profile) -> float | None:
    """How long a cycle lasts, in seconds (None: open ended)."""
    duration = profile.get("chargingSchedule", {}).get("duration")
    if profile.get("chargingProfileKind") == "Recurring":
        period = RECURRENCY.get(profile.get("recurrencyKind", "Daily"), RECURRENCY["Daily"])
        cycle = period.total_seconds()
        return cycle if duration is None else min(float(duration), cycle)
    return None if duration is None else float(duration)


def limit_at(
    profile: Profile,
    at: datetime,
    *,
    transaction_start: datetime | None = None,
    origin: datetime | None = None,
    installed_at: datetime | None = None,
) -> Limit | None:
    """The profile's limit at ``at``, or None where it says nothing."""
    if not is_valid_at(profile, at):
        return None
    base = schedule_start(
        profile, at, transaction_start=transaction_start, origin=origin, installed_at=installed_at
    )
    if base is None:
        return None
    offset = (at - base).total_seconds()
    duration = schedule_duration(profile)
    if duration is not None and offset >= duration:
        return None
    schedule = profile.get("chargingSchedule", {})
    current = None
    for period in sorted(schedule.get("chargingSchedulePeriod", []), key=_start_period):
        if period["startPeriod"] <= offset:
            current = period
        else:
            break
    if current is None:
        return None
    return Limit(
        float(current["limit"]),
        schedule.get("chargingRateUnit", "A"),
        current.get("numberPhases"),
        profile.get("chargingProfileId"),
    )


def breakpoints(
    profile: Profile,
    start: datetime,
    end: datetime,
    *,
    transaction_start: datetime | None = None,
    origin: datetime | None = None,
    installed_at: datetime | None = None,
) -> set[datetime]:
    """Every instant in ``[start, end)`` at which this profile's limit may change."""
    points: set[datetime] = set()
    for key in ("validFrom", "validTo"):
        moment = parse_time(profile.get(key))
        if moment is not None:
            points.add(moment)
    schedule = profile.get("chargingSchedule", {})
    offsets = [float(p["startPeriod"]) for p in schedule.get("chargingSchedulePeriod", [])]
    duration = schedule_duration(profile)
    if duration is not None:
        offsets.append(duration)
    kwargs = {
        "transaction_start": transaction_start,
        "origin": origin,
        "installed_at": installed_at,
    }
    bases: list[datetime] = []
    if profile.get("chargingProfileKind") == "Recurring":
        period = RECURRENCY.get(profile.get("recurrencyKind", "Daily"), RECURRENCY["Daily"])
        moment = schedule_start(profile, start, **kwargs)  # the cycle in force at start
        while moment is not None and moment < end:
            bases.append(moment)
            moment += period
    else:
        base = schedule_start(profile, max(end - timedelta(microseconds=1), start), **kwargs)
        if base is not None:
            bases.append(base)
    for base in bases:
        points.add(base)
        points.update(base + timedelta(seconds=o) for o in offsets)
    return {p for p in points if start <= p < end}


def _start_period(period: dict[str, Any]) -> float:
    return float(period["startPeriod"])


# -- installed profiles --------------------------------------------------------------------


def install(installed: Sequence[Installed], connector_id: int, profile: Profile, at=None):
    """The installed list after SetChargingProfile(connector_id, profile) was Accepted.

    The new profile replaces one with the same chargingProfileId, and one with the same
    stackLevel and purpose on the same connector (OCPP 1.6 3.13.2).
    """
    kept = [
        item
        for item in installed
        if item["chargingProfile"].get("chargingProfileId") != profile.get("chargingProfileId")
        and not (
            item["connectorId"] == connector_id
            and item["chargingProfile"].get("stackLevel") == profile.get("stackLevel")
            and item["chargingProfile"].get("chargingProfilePurpose")
            == profile.get("chargingProfilePurpose")
        )
    ]
    entry: Installed = {"connectorId": connector_id, "chargingProfile": profile}
    if at is not None:
        entry["installedAt"] = at if isinstance(at, str) else format_time(at)
    return [*kept, entry]


def clear_matches(
    item: Installed,
    id: int | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
) -> bool:
    """Whether ClearChargingProfile.req with these fields removes ``item``.

    An ``id`` matches that profile whatever the rest says; otherwise every given
    criterion must match; no field at all clears everything (OCPP 1.6 5.5).
    """
    profile = item["chargingProfile"]
    if id is not None:
        return profile.get("chargingProfileId") == id
    return (
        (connector_id is None or item["connectorId"] == connector_id)
        and (purpose is None or profile.get("chargingProfilePurpose") == purpose)
        and (stack_level is None or profile.get("stackLevel") == stack_level)
    )


def clear(
    installed: Sequence[Installed],
    id: int | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
) -> tuple[list[Installed], list[Installed]]:
    """(kept, removed) after an Accepted ClearChargingProfile."""
    kept: list[Installed] = []
    removed: list[Installed] = []
    for item in installed:
        (removed if clear_matches(item, id, connector_id, purpose, stack_level) else kept).append(
            item
        )
    return kept, removed


def end_transaction(installed: Sequence[Installed], transaction_id: int | None, connector_id: int):
    """TxProfiles end with their transaction (OCPP 1.6 3.13.3)."""
    return [
        item
        for item in installed
        if not (
            item["chargingProfile"].get("chargingProfilePurpose") == "TxProfile"
            and (
                item["chargingProfile"].get("transactionId") in (None, transaction_id)
                and item["connectorId"] in (connector_id, 0)
            )
        )
    ]


def check_profile(profile: Profile, connector_id: int | None = None) -> list[str]:
    """What a charge point would reject in this profile (empty list: it looks valid)."""
    problems = []
    purpose = profile.get("chargingProfilePurpose")
    kind = profile.get("chargingProfileKind")
    schedule = profile.get("chargingSchedule") or {}
    if purpose not in PURPOSES:
        problems.append(f"chargingProfilePurpose {purpose!r} is not one of {PURPOSES}")
    if kind not in KINDS:
        problems.append(f"chargingProfileKind {kind!r} is not one of {KINDS}")
    if kind == "Recurring" and profile.get("recurrencyKind") not in RECURRENCY:
        problems.append("a Recurring profile needs recurrencyKind Daily or Weekly")
    if kind == "Recurring" and not schedule.get("startSchedule"):
        problems.append("a Recurring profile needs chargingSchedule.startSchedule")
    if kind != "Recurring" and profile.get("recurrencyKind"):
        problems.append(f"recurrencyKind is only for Recurring profiles, not {kind}")
    if kind == "Relative" and schedule.get("startSchedule"):
        problems.append("a Relative profile has no startSchedule")
    if schedule.get("chargingRateUnit") not in UNITS:
        problems.append(f"chargingRateUnit {schedule.get('chargingRateUnit')!r} is not A or W")
    periods = schedule.get("chargingSchedulePeriod") or []
    if not periods:
        problems.append("chargingSchedulePeriod is empty")
    elif periods[0].get("startPeriod") != 0:
        problems.append("the first chargingSchedulePeriod must start at 0")
    starts = [p.get("startPeriod") for p in periods]
    if starts != sorted(set(starts)):
        problems.append("startPeriod values must increase")
    if any(p.get("limit", 0) < 0 for p in periods):
        problems.append("a limit is negative")
    if profile.get("transactionId") is not None and purpose != "TxProfile":
        problems.append("only a TxProfile has a transactionId")
    if connector_id is not None:
        if purpose == "ChargePointMaxProfile" and connector_id != 0:
            problems.append("a ChargePointMaxProfile is set on connector 0")
        if purpose == "TxProfile" and connector_id == 0:
            problems.append("a TxProfile is set on a connector, not on connector 0")
    valid_from = parse_time(profile.get("validFrom"))
    valid_to = parse_time(profile.get("validTo"))
    if valid_from and valid_to and valid_to <= valid_from:
        problems.append("validTo is not after validFrom")
    return problems


# -- composite -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """The transaction on a connector, as the composite needs it."""

    start: datetime
    transaction_id: int | None = None


def _candidates(
    installed: Iterable[Installed],
    purpose: str,
    connector_id: int,
    transaction: Transaction | None,
) -> list[Installed]:
    found = []
    for item in installed:
        profile = item["chargingProfile"]
        if profile.get("chargingProfilePurpose") != purpose:
            continue
        if purpose == "ChargePointMaxProfile":
            if item["connectorId"] != 0:
                continue
        elif item["connectorId"] not in (connector_id, 0):
            continue
        if purpose == "TxProfile":
            if transaction is None or item["connectorId"] != connector_id:
                continue
            tx_id = profile.get("transactionId")
            if tx_id is not None and tx_id != transaction.transaction_id:
                continue
        found.append(item)
    # Highest stack level first; at equal levels the connector's own profile first.
    found.sort(
        key=lambda i: (i["chargingProfile"].get("stackLevel", 0), i["connectorId"] != 0),
        reverse=True,
    )
    return found


def _prevailing(
    candidates: list[Installed], at: datetime, transaction: Transaction | None, origin: datetime
) -> Limit | None:
    for item in candidates:
        limit = limit_at(
            item["chargingProfile"],
            at,
            transaction_start=transaction.start if transaction else None,
            origin=origin,
            installed_at=parse_time(item.get("installedAt")),
        )
        if limit is not None:
            return limit
    return None


def limit_for_connector(
    installed: Sequence[Installed],
    connector_id: int,
    at: datetime,
    unit: str,
    *,
    transaction: Transaction | None = None,
    origin: datetime | None = None,
    voltage: float = DEFAULT_VOLTAGE,
    phases: int = DEFAULT_PHASES,
) -> tuple[float, int | None] | None:
    """(limit in ``unit``, numberPhases) for the connector at ``at``; None: unlimited."""
    origin = origin or at
    max_candidates = _candidates(installed, "ChargePointMaxProfile", connector_id, transaction)
    if connector_id == 0:
        if not max_candidates:
            max_candidates = [
                i
                for i in _candidates(installed, "TxDefaultProfile", 0, None)
                if i["connectorId"] == 0
            ]
        found = _prevailing(max_candidates, at, None, origin)
        return _minimum([found] if found else [], unit, voltage, phases)
    limits = []
    if transaction is not None:
        tx_limit = _prevailing(
            _candidates(installed, "TxProfile", connector_id, transaction), at, transaction, origin
        )
        if tx_limit is not None:
            limits.append(tx_limit)
    if not limits:
        default = _prevailing(
            _candidates(installed, "TxDefaultProfile", connector_id, transaction),
            at,
            transaction,
            origin,
        )
        if default is not None:
            limits.append(default)
    max_limit = _prevailing(max_candidates, at, transaction, origin)
    if max_limit is not None:
        limits.append(max_limit)
    return _minimum(limits, unit, voltage, phases)


def _minimum(
    limits: list[Limit], unit: str, voltage: float, phases: int
) -> tuple[float, int | None] | None:
    if not limits:
        return None
    # Compare power: amps on one phase and on three are not comparable.
    best = min(limits, key=lambda lim: lim.to_unit("W", voltage, phases))
    return best.to_unit(unit, voltage, phases), best.number_phases


def composite_schedule(
    installed: Sequence[Installed],
    connector_id: int,
    start: datetime | str,
    duration: int,
    charging_rate_unit: str | None = None,
    *,
    transaction: Transaction | None = None,
    default_limit: float | None = None,
    voltage: float = DEFAULT_VOLTAGE,
    phases: int = DEFAULT_PHASES,
) -> dict[str, Any]:
    """The composite ChargingSchedule of ``connector_id`` over ``[start, start+duration)``.

    ``charging_rate_unit`` None: the unit of the connector's profiles (the first
    ChargePointMaxProfile's, else any), A if there are none.
    """
    begin = parse_time(start)
    assert begin is not None
    end = begin + timedelta(seconds=duration)
    unit = charging_rate_unit or _natural_unit(installed, connector_id)
    tx_start = transaction.start if transaction else None
    points = {begin}
    for item in installed:
        points |= breakpoints(
            item["chargingProfile"],
            begin,
            end,
            transaction_start=tx_start,
            origin=begin,
            installed_at=parse_time(item.get("installedAt")),
        )
    periods: list[dict[str, Any]] = []
    limited_until = end
    for moment in sorted(points):
        found = limit_for_connector(
            installed,
            connector_id,
            moment,
            unit,
            transaction=transaction,
            origin=begin,
            voltage=voltage,
            phases=phases,
        )
        if found is None:
            if default_limit is None:
                if periods:
                    limited_until = moment  # a gap ends the schedule
                    break
                continue
            found = (float(default_limit), None)
        value, number_phases = found
        period: dict[str, Any] = {
            "startPeriod": int(round((moment - begin).total_seconds())),
            "limit": _round(value),
        }
        if number_phases is not None:
            period["numberPhases"] = number_phases
        if periods and _same(periods[-1], period):
            continue
        if periods and periods[-1]["startPeriod"] == period["startPeriod"]:
            periods[-1] = period
            continue
        periods.append(period)
    schedule: dict[str, Any] = {
        "startSchedule": format_time(begin),
        "duration": int(round((limited_until - begin).total_seconds())) if periods else 0,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": periods,
    }
    if periods and periods[0]["startPeriod"] != 0:
        # The schedule starts where the first limit does.
        shift = periods[0]["startPeriod"]
        schedule["startSchedule"] = format_time(begin + timedelta(seconds=shift))
        schedule["duration"] -= shift
        for period in periods:
            period["startPeriod"] -= shift
    return schedule


def _natural_unit(installed: Sequence[Installed], connector_id: int) -> str:
    units = [
        i["chargingProfile"].get("chargingSchedule", {}).get("chargingRateUnit")
        for i in installed
        if i["connectorId"] in (0, connector_id)
    ]
    units = [u for u in units if u in UNITS]
    return units[0] if units else "A"


def _round(value: float) -> float:
    return round(value + 0.0, 1)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["limit"] == b["limit"] and a.get("numberPhases") == b.get("numberPhases")


def composite_response(
    installed: Sequence[Installed],
    connector_id: int,
    start: datetime | str,
    duration: int,
    charging_rate_unit: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """GetCompositeSchedule.conf as a charge point with these profiles answers it."""
    schedule = composite_schedule(
        installed, connector_id, start, duration, charging_rate_unit, **kwargs
    )
    if not schedule["chargingSchedulePeriod"]:
        return {"status": "Rejected"}
    return {
        "status": "Accepted",
        "connectorId": connector_id,
        "scheduleStart": schedule["startSchedule"],
        "chargingSchedule": schedule,
    }


# -- comparing -----------------------------------------------------------------------------


def _steps(schedule: dict[str, Any], start: datetime | None) -> tuple[datetime, list, float | None]:
    begin = parse_time(schedule.get("startSchedule")) or start
    assert begin is not None, "a schedule without startSchedule needs scheduleStart"
    periods = sorted(schedule.get("chargingSchedulePeriod", []), key=_start_period)
    return begin, periods, schedule.get("duration")


def _value_at(periods: list, begin: datetime, duration, at: datetime) -> dict | None:
    offset = (at - begin).total_seconds()
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    current = None
    for period in periods:
        if period["startPeriod"] <= offset:
            current = period
        else:
            break
    return current


def compare_schedules(
    expected: dict[str, Any],
    reported: dict[str, Any],
    *,
    expected_start: datetime | str | None = None,
    reported_start: datetime | str | None = None,
    tolerance: float = 0.1,
    relative: float = 0.01,
    voltage: float = DEFAULT_VOLTAGE,
    phases: int = DEFAULT_PHASES,
) -> list[str]:
    """Where two ChargingSchedules disagree (empty: they agree), on the absolute timeline.

    Limits are compared in the expected unit; a difference up to ``max(tolerance,
    relative x expected)`` is equal. Only the stretch both schedules cover counts, and
    numberPhases only where both give it.
    """
    e_begin, e_periods, e_duration = _steps(expected, parse_time(expected_start))
    r_begin, r_periods, r_duration = _steps(reported, parse_time(reported_start))
    e_unit = expected.get("chargingRateUnit", "A")
    r_unit = reported.get("chargingRateUnit", "A")
    problems = []
    if e_unit != r_unit:
        problems.append(f"chargingRateUnit {r_unit}, expected {e_unit} (compared converted)")
    if not e_periods and r_periods:
        return [*problems, "a schedule was reported where none was expected"]
    if e_periods and not r_periods:
        return [*problems, "no schedule periods were reported"]
    starts = [e_begin + timedelta(seconds=p["startPeriod"]) for p in e_periods]
    starts += [r_begin + timedelta(seconds=p["startPeriod"]) for p in r_periods]
    lower = max(e_begin, r_begin)
    upper_candidates = [
        b + timedelta(seconds=d) for b, d in ((e_begin, e_duration), (r_begin, r_duration)) if d
    ]
    upper = min(upper_candidates) if upper_candidates else None
    moments = sorted({lower, *[s for s in starts if s >= lower]})
    for moment in moments:
        if upper is not None and moment >= upper:
            break
        want = _value_at(e_periods, e_begin, e_duration, moment)
        have = _value_at(r_periods, r_begin, r_duration, moment)
        if want is None or have is None:
            continue
        want_phases = want.get("numberPhases") or phases
        have_phases = have.get("numberPhases") or phases
        have_value = convert(float(have["limit"]), r_unit, e_unit, voltage, have_phases)
        want_value = float(want["limit"])
        if abs(have_value - want_value) > max(tolerance, relative * abs(want_value)):
            problems.append(
                f"at {format_time(moment)}: limit {have['limit']} {r_unit}, "
                f"expected {want_value:g} {e_unit}"
            )
        elif (
            want.get("numberPhases") is not None
            and have.get("numberPhases") is not None
            and want_phases != have_phases
        ):
            problems.append(
                f"at {format_time(moment)}: numberPhases {have_phases}, expected {want_phases}"
            )
    return problems
