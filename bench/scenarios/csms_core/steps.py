"""What the Core ``_CSMS`` case modules share: the registration defaults and a few checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.scenarios.csms_role import CsmsHandle, parse_ocpp_time
from bench.scenarios.handle import ScenarioFailed
from bench.scenarios.registry import scenario

#: How far a CSMS's currentTime may be from the bench's (or the wall) clock.
CLOCK_TOLERANCE_S = 60.0
#: A heartbeat interval above a day is not a sane answer to a booting charge point.
MAX_HEARTBEAT_S = 86_400
#: After boot or a configuration change, how long the bench watches for unsolicited requests.
QUIET_S = 10.0


def core_case(id: str, title: str, timeout_s: float = 180.0) -> Callable:
    """Register a Core case of the ``csms`` role."""
    return scenario(
        id, title, role="csms", profile="core", requires=("profile.core",), timeout_s=timeout_s
    )


def check_current_time(t: CsmsHandle, message: str, response: dict[str, Any]) -> None:
    """``currentTime`` is a valid OCPP dateTime close to now (bench clock or wall clock)."""
    raw = response.get("currentTime")
    current = parse_ocpp_time(raw)
    t.check(current is not None, f"the CSMS's {message}.conf has no valid currentTime: {raw!r}")
    assert current is not None
    bench_now = t.clock.now()
    wall_now = datetime.now(UTC)
    off = min(abs((current - bench_now).total_seconds()), abs((current - wall_now).total_seconds()))
    t.check(
        off <= CLOCK_TOLERANCE_S,
        f"the CSMS's {message}.conf currentTime {raw} is {off:.0f} s off the bench's clock "
        f"({bench_now.isoformat()})",
    )
    t.details[f"{message}_current_time"] = raw


def check_status(t: CsmsHandle, what: str, have: Any, expected: str | tuple[str, ...]) -> None:
    wanted = (expected,) if isinstance(expected, str) else expected
    t.check(have in wanted, f"{what}: status {have}, expected {' or '.join(wanted)}")


async def quiet_after(t: CsmsHandle, what: str, since: int, during: float = QUIET_S) -> None:
    """No unsolicited GetConfiguration from the CSMS (the OCTT station does not expect one)."""
    try:
        await t.expect_none("GetConfiguration", during=during, since=since)
    except ScenarioFailed as exc:
        raise ScenarioFailed(
            f"the CSMS sent an unsolicited GetConfiguration after {what} "
            f"(the OCTT charge point does not expect one): {exc}"
        ) from None
    t.details[f"no_get_configuration_after_{what}"] = True
