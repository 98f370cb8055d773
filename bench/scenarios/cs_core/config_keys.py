"""Configuration keys, non-happy flow: TC_040_1, TC_040_2."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import idle
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


@scenario("TC_040_1_CS", "Configuration key - NotSupported")
async def tc_040_1(t: Handle) -> None:
    """ChangeConfiguration of a key the charger does not know is answered NotSupported.
    OCPP 1.6 §5.3 ChangeConfiguration, §7.22 ConfigurationStatus NotSupported."""
    await idle(t)
    answer = await t.call(call.ChangeConfiguration(key="OcttUnknownKey", value="1"))
    t.check(
        answer.get("status") == "NotSupported",
        f"ChangeConfiguration of an unknown key answered {answer.get('status')}, not NotSupported",
    )


@scenario("TC_040_2_CS", "Configuration key - Invalid value")
async def tc_040_2(t: Handle) -> None:
    """ChangeConfiguration MeterValueSampleInterval=-1 (not a valid interval) is answered
    Rejected and the key keeps its value. OCPP 1.6 §5.3, §7.22 ConfigurationStatus
    Rejected, §9.1.19 MeterValueSampleInterval."""
    await idle(t)
    before = await t.config_value("MeterValueSampleInterval")
    answer = await t.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="-1"))
    t.check(
        answer.get("status") == "Rejected",
        f"ChangeConfiguration MeterValueSampleInterval=-1 answered {answer.get('status')}, "
        "not Rejected",
    )
    after = await t.config_value("MeterValueSampleInterval")
    t.check(after == before, f"MeterValueSampleInterval changed from {before} to {after}")
