"""The composite schedule: kinds, recurrency, stack levels, validity, units, purposes."""

from datetime import UTC, datetime, timedelta

import pytest

from charger.charging_profiles import (
    Transaction,
    check_profile,
    clear,
    compare_schedules,
    composite_response,
    composite_schedule,
    convert,
    end_transaction,
    install,
    limit_at,
)

T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def profile(pid, purpose="TxDefaultProfile", kind="Absolute", stack=0, periods=((0, 16),), **kw):
    schedule = {
        "chargingRateUnit": kw.pop("unit", "A"),
        "chargingSchedulePeriod": [
            {"startPeriod": s, "limit": float(lim), **({"numberPhases": p[0]} if p else {})}
            for s, lim, *p in periods
        ],
    }
    for key in ("startSchedule", "duration"):
        if key in kw:
            schedule[key] = kw.pop(key)
    return {
        "chargingProfileId": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
        **kw,
    }


def periods(schedule):
    return [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]]


def test_absolute_schedule_periods_and_duration():
    p = profile(1, startSchedule=iso(T0), duration=600, periods=((0, 16), (300, 10)))
    installed = [{"connectorId": 1, "chargingProfile": p}]
    schedule = composite_schedule(installed, 1, T0, 900, default_limit=32)
    assert periods(schedule) == [(0, 16.0), (300, 10.0), (600, 32.0)]
    assert schedule["duration"] == 900 and schedule["chargingRateUnit"] == "A"
    # Without a default limit the schedule ends where the profile does.
    schedule = composite_schedule(installed, 1, T0, 900)
    assert periods(schedule) == [(0, 16.0), (300, 10.0)] and schedule["duration"] == 600


def test_window_starting_inside_a_schedule_is_relative_to_the_window():
    p = profile(1, startSchedule=iso(at(-100)), periods=((0, 16), (300, 10)))
    schedule = composite_schedule([{"connectorId": 1, "chargingProfile": p}], 1, T0, 600)
    assert periods(schedule) == [(0, 16.0), (200, 10.0)]
    assert schedule["startSchedule"] == "2024-05-06T12:00:00.000Z"


def test_higher_stack_level_prevails_while_its_schedule_runs():
    low = profile(1, stack=0, startSchedule=iso(T0), periods=((0, 32),))
    high = profile(2, stack=1, startSchedule=iso(at(100)), duration=200, periods=((0, 8),))
    installed = [{"connectorId": 1, "chargingProfile": p} for p in (low, high)]
    schedule = composite_schedule(installed, 1, T0, 600)
    assert periods(schedule) == [(0, 32.0), (100, 8.0), (300, 32.0)]


def test_valid_from_and_valid_to_bound_a_profile():
    base = profile(1, stack=0, startSchedule=iso(T0), periods=((0, 20),))
    window = profile(
        2,
        stack=5,
        startSchedule=iso(T0),
        periods=((0, 6),),
        validFrom=iso(at(60)),
        validTo=iso(at(120)),
    )
    installed = [{"connectorId": 1, "chargingProfile": p} for p in (base, window)]
    assert periods(composite_schedule(installed, 1, T0, 300)) == [(0, 20.0), (60, 6.0), (120, 20.0)]


def test_recurring_daily_repeats_every_day():
    p = profile(
        1,
        kind="Recurring",
        recurrencyKind="Daily",
        startSchedule=iso(T0 - timedelta(days=3)),  # 12:00 every day
        periods=((0, 10), (3600, 20)),
        duration=7200,
    )
    installed = [{"connectorId": 1, "chargingProfile": p}]
    next_day = T0 + timedelta(days=1)
    assert limit_at(p, next_day + timedelta(minutes=30)).value == 10
    assert limit_at(p, next_day + timedelta(minutes=90)).value == 20
    assert limit_at(p, next_day + timedelta(hours=3)) is None
    schedule = composite_schedule(
        installed, 1, T0 + timedelta(hours=23), 3 * 3600, default_limit=32
    )
    assert periods(schedule) == [(0, 32.0), (3600, 10.0), (7200, 20.0)]


def test_recurring_weekly():
    p = profile(
        1,
        kind="Recurring",
        recurrencyKind="Weekly",
        startSchedule=iso(T0 - timedelta(weeks=2)),
        periods=((0, 7),),
        duration=3600,
    )
    assert limit_at(p, T0 + timedelta(weeks=1, minutes=5)).value == 7
    assert limit_at(p, T0 + timedelta(days=1, minutes=5)) is None


def test_relative_starts_with_the_transaction():
    p = profile(1, purpose="TxProfile", kind="Relative", periods=((0, 6), (600, 12)))
    installed = [{"connectorId": 1, "chargingProfile": p}]
    tx = Transaction(start=at(-300), transaction_id=7)
    schedule = composite_schedule(installed, 1, T0, 900, transaction=tx)
    assert periods(schedule) == [(0, 6.0), (300, 12.0)]
    # No transaction: a TxProfile does not apply at all.
    assert composite_schedule(installed, 1, T0, 900)["chargingSchedulePeriod"] == []
    # A TxProfile of another transaction does not apply either.
    p["transactionId"] = 8
    assert composite_schedule(installed, 1, T0, 900, transaction=tx)["chargingSchedulePeriod"] == []


def test_relative_default_without_transaction_starts_at_the_request():
    p = profile(1, kind="Relative", periods=((0, 6), (600, 12)))
    schedule = composite_schedule([{"connectorId": 0, "chargingProfile": p}], 1, T0, 900)
    assert periods(schedule) == [(0, 6.0), (600, 12.0)]


def test_charge_point_max_caps_tx_default_and_tx_profile_overrides_default():
    cp_max = profile(1, purpose="ChargePointMaxProfile", startSchedule=iso(T0), periods=((0, 20),))
    default = profile(2, startSchedule=iso(T0), periods=((0, 32), (300, 10)))
    tx = profile(3, purpose="TxProfile", startSchedule=iso(T0), periods=((0, 25), (600, 5)))
    installed = [
        {"connectorId": 0, "chargingProfile": cp_max},
        {"connectorId": 0, "chargingProfile": default},
    ]
    assert periods(composite_schedule(installed, 1, T0, 900)) == [(0, 20.0), (300, 10.0)]
    installed.append({"connectorId": 1, "chargingProfile": tx})
    transaction = Transaction(start=T0, transaction_id=1)
    schedule = composite_schedule(installed, 1, T0, 900, transaction=transaction)
    assert periods(schedule) == [(0, 20.0), (600, 5.0)]
    # Connector 0: the ChargePointMaxProfile.
    assert periods(composite_schedule(installed, 0, T0, 900)) == [(0, 20.0)]
    # Connector 2 has no transaction: TxDefault capped by the maximum.
    assert periods(composite_schedule(installed, 2, T0, 900)) == [(0, 20.0), (300, 10.0)]


def test_connector_default_beats_connector_zero_default_at_equal_level():
    zero = profile(1, startSchedule=iso(T0), periods=((0, 30),))
    own = profile(2, startSchedule=iso(T0), periods=((0, 12),))
    installed = [
        {"connectorId": 0, "chargingProfile": zero},
        {"connectorId": 1, "chargingProfile": own},
    ]
    assert periods(composite_schedule(installed, 1, T0, 60)) == [(0, 12.0)]
    assert periods(composite_schedule(installed, 2, T0, 60)) == [(0, 30.0)]


def test_units_convert_with_phases():
    assert convert(16, "A", "W", 230, 3) == pytest.approx(11040)
    assert convert(11040, "W", "A", 230, 3) == pytest.approx(16)
    cp_max = profile(
        1,
        purpose="ChargePointMaxProfile",
        startSchedule=iso(T0),
        unit="W",
        periods=((0, 7360),),
    )
    default = profile(2, startSchedule=iso(T0), periods=((0, 16, 1),))
    installed = [
        {"connectorId": 0, "chargingProfile": cp_max},
        {"connectorId": 1, "chargingProfile": default},
    ]
    schedule = composite_schedule(installed, 1, T0, 60, "A")
    # 7360 W / 230 V / 3 phases = 10.7 A < 16 A on one phase (= 3680 W).
    assert schedule["chargingRateUnit"] == "A"
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 1}
    ]
    schedule_w = composite_schedule(installed, 1, T0, 60, "W")
    assert periods(schedule_w) == [(0, 3680.0)]


def test_install_replaces_by_id_and_by_stack_level_and_purpose():
    a = profile(1, stack=0)
    b = profile(2, stack=1)
    installed = install(install([], 1, a), 1, b)
    installed = install(installed, 1, profile(3, stack=1))  # same level and purpose as b
    assert [i["chargingProfile"]["chargingProfileId"] for i in installed] == [1, 3]
    installed = install(installed, 2, profile(1, stack=4))  # same id as a, other connector
    assert [(i["connectorId"], i["chargingProfile"]["chargingProfileId"]) for i in installed] == [
        (1, 3),
        (2, 1),
    ]


def test_clear_by_id_by_criteria_and_all():
    installed = [
        {"connectorId": 0, "chargingProfile": profile(1, purpose="ChargePointMaxProfile")},
        {"connectorId": 1, "chargingProfile": profile(2, stack=2)},
        {"connectorId": 1, "chargingProfile": profile(3, purpose="TxProfile", stack=1)},
    ]
    kept, removed = clear(installed, id=2, connector_id=0)  # the id wins over the rest
    assert [i["chargingProfile"]["chargingProfileId"] for i in removed] == [2]
    kept, removed = clear(kept, connector_id=1, purpose="TxProfile", stack_level=1)
    assert [i["chargingProfile"]["chargingProfileId"] for i in removed] == [3]
    kept, removed = clear(kept)
    assert kept == [] and len(removed) == 1


def test_tx_profiles_end_with_their_transaction():
    installed = [
        {"connectorId": 1, "chargingProfile": profile(1, purpose="TxProfile", transactionId=5)},
        {"connectorId": 1, "chargingProfile": profile(2)},
    ]
    assert [
        i["chargingProfile"]["chargingProfileId"] for i in end_transaction(installed, 5, 1)
    ] == [2]


def test_check_profile_finds_what_a_charge_point_rejects():
    assert check_profile(profile(1, startSchedule=iso(T0)), 1) == []
    bad = profile(1, kind="Recurring", purpose="TxDefaultProfile", periods=((5, 10),))
    problems = check_profile(bad, 1)
    assert any("recurrencyKind" in p for p in problems)
    assert any("start at 0" in p for p in problems)
    assert check_profile(profile(1, purpose="ChargePointMaxProfile"), 1)
    assert check_profile(profile(1, purpose="TxProfile"), 0)


def test_compare_schedules_and_response():
    p = profile(1, startSchedule=iso(T0), periods=((0, 16), (300, 10)))
    installed = [{"connectorId": 1, "chargingProfile": p}]
    response = composite_response(installed, 1, T0, 600)
    assert response["status"] == "Accepted" and response["connectorId"] == 1
    expected = response["chargingSchedule"]
    assert compare_schedules(expected, expected) == []
    other = {
        "startSchedule": iso(T0),
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0},
            {"startPeriod": 200, "limit": 10.0},
        ],
    }
    problems = compare_schedules(expected, other)
    assert problems and "12:03:20" in problems[0]
    watts = {
        "startSchedule": iso(T0),
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16 * 230 * 3.0},
            {"startPeriod": 300, "limit": 10 * 230 * 3.0},
        ],
    }
    assert [p for p in compare_schedules(expected, watts) if "limit" in p] == []
    assert composite_response([], 1, T0, 600) == {"status": "Rejected"}
