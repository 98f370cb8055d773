"""Config keys: the Central System handles keys the charge point refuses."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import check_status, core_case, quiet_after
from bench.scenarios.csms_role import CsmsHandle

UNKNOWN_KEY = "BenchUnknownKey"
BAD_VALUE = ("MeterValueSampleInterval", "-1")


async def refused_change(t: CsmsHandle, key: str, value: str, answered: str) -> None:
    await t.booted()
    request, _ = await t.operated(
        t.operator.change_configuration(key, value),
        "ChangeConfiguration",
        {"key": key, "value": value},
    )
    since = t.mark()
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported ChangeConfiguration", outcome.get("status"), answered)
    await quiet_after(t, "ChangeConfiguration", since)


@core_case("TC_040_1_CSMS", "Configuration keys - NotSupported")
async def tc_040_1_not_supported(t: CsmsHandle) -> None:
    """ChangeConfiguration of a key the charge point lacks is answered NotSupported.

    The CSMS sends the key and value the operator entered, takes NotSupported and does
    not follow up with an unsolicited GetConfiguration.
    """
    await refused_change(t, UNKNOWN_KEY, "true", "NotSupported")


@core_case("TC_040_2_CSMS", "Configuration keys - Invalid value")
async def tc_040_2_invalid_value(t: CsmsHandle) -> None:
    """ChangeConfiguration with a value the charge point refuses is answered Rejected.

    The CSMS sends MeterValueSampleInterval = -1 as the operator entered it, takes
    Rejected and does not follow up with an unsolicited GetConfiguration.
    """
    await refused_change(t, *BAD_VALUE, "Rejected")
