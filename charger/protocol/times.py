"""OCPP date-times, parsed and written in one place.

OCPP-J carries date-times as ISO 8601 strings (RFC 3339); the ``ocpp`` package's
schemas do not check their format, so every reader goes through here.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_ocpp_time(value: str | datetime | None) -> datetime | None:
    """An aware datetime (a value without offset is UTC); None for None.

    Raises ValueError for a string that is not a date-time.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("an empty date-time")
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ocpp_time_or_none(value: object) -> datetime | None:
    """Like :func:`parse_ocpp_time`, but None for anything that is not a date-time."""
    if not isinstance(value, str | datetime):
        return None
    try:
        return parse_ocpp_time(value)
    except ValueError:
        return None


def format_ocpp_time(value: datetime) -> str:
    """UTC, milliseconds, ``Z``: how this charger writes every date-time."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
