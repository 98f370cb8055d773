"""Smart charging for OCPP 1.6: profile bookkeeping and the composite schedule.

Pure functions over ChargingProfile dicts as on the wire, shared by the Central
System (to predict what a charge point should report for GetCompositeSchedule) and
the charger agent (to compute it). See :mod:`charger.charging_profiles.schedule`.
"""

from charger.charging_profiles.schedule import (
    DEFAULT_PHASES,
    DEFAULT_VOLTAGE,
    KINDS,
    PURPOSES,
    UNITS,
    Limit,
    Transaction,
    breakpoints,
    check_profile,
    clear,
    clear_matches,
    compare_schedules,
    composite_response,
    composite_schedule,
    convert,
    end_transaction,
    format_time,
    install,
    is_valid_at,
    limit_at,
    limit_for_connector,
    parse_time,
    schedule_start,
)

__all__ = [
    "DEFAULT_PHASES",
    "DEFAULT_VOLTAGE",
    "KINDS",
    "PURPOSES",
    "UNITS",
    "Limit",
    "Transaction",
    "breakpoints",
    "check_profile",
    "clear",
    "clear_matches",
    "compare_schedules",
    "composite_response",
    "composite_schedule",
    "convert",
    "end_transaction",
    "format_time",
    "install",
    "is_valid_at",
    "limit_at",
    "limit_for_connector",
    "parse_time",
    "schedule_start",
]
