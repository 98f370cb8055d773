"""The EV-side fault cases pass on the firmware and fail on a charger that reacts wrong.

The charger double is the firmware behind a link that breaks one thing
(``bench/doubles/charger.py``, quirk ``mutate``): the fault reported with another error
code, the stop with another reason, the Faulted status or the StopTransaction lost; or
the firmware rated above the rig's power stage (quirk ``limits``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.scenarios import ev_faults
from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import RunOptions, run_case

pytestmark = pytest.mark.e2e
SPEED = 2.0
CASES = (
    "ev-diode-fault",
    "ev-cp-pe-short",
    "ev-pp-out-of-range",
    "ev-latch-pressed",
    "ev-stops-answering",
    "ev-overdemand",
    "ev-isolation-fault",
)


def request(action: str, **rule: Any) -> dict[str, Any]:
    return {"action": action, **rule}


FAULTED = {"status": "Faulted"}
#: case: (quirks or mutations, words the failure must contain)
DOUBLES: dict[str, tuple[list[dict[str, Any]] | dict[str, Any], list[str]]] = {
    "ev-diode-fault": (
        [request("StatusNotification", where=FAULTED, set={"errorCode": "OtherError"})],
        ["Faulted with errorCode OtherError, not EVCommunicationError"],
    ),
    "ev-cp-pe-short": (
        [request("StopTransaction", set={"reason": "EVDisconnected"})],
        ["StopTransaction reason 'EVDisconnected', not 'Other'"],
    ),
    "ev-pp-out-of-range": (
        [request("StatusNotification", where=FAULTED, drop=True)],
        ["no StatusNotification matching {'connectorId': 1, 'status': 'Faulted'}"],
    ),
    "ev-latch-pressed": (
        [request("StopTransaction", drop=True)],
        ["no StopTransaction"],
    ),
    "ev-stops-answering": (
        [request("StatusNotification", where=FAULTED, set={"errorCode": "OtherError"})],
        ["Faulted with errorCode OtherError, not EVCommunicationError"],
    ),
    "ev-isolation-fault": (
        [request("StatusNotification", where=FAULTED, set={"errorCode": "OtherError"})],
        ["Faulted with errorCode OtherError, not GroundFailure"],
    ),
    "ev-overdemand": (
        {"limits": {"max_current_a": 400.0}},
        ["the charger set its module to", "above its 200 A rating"],
    ),
}


def run(case_id: str, double: list[dict[str, Any]] | dict[str, Any] | None = None):
    case = all_scenarios()[case_id]
    quirks = {"mutate": double} if isinstance(double, list) else double or {}
    return asyncio.run(run_case(case, RunOptions(speed=SPEED, agent_quirks=quirks)))


def test_every_case_has_a_double():
    registered = {c for c in all_scenarios() if c.startswith("ev-")}
    assert registered == set(CASES) == set(DOUBLES)
    assert ev_faults.PP_OUT_OF_RANGE_OHMS < 75


@pytest.mark.parametrize("case_id", CASES)
def test_the_firmware_reacts_as_the_case_expects(case_id):
    result = run(case_id)
    assert result.verdict == "pass", result.details.get("message")


@pytest.mark.parametrize("case_id", CASES)
def test_a_charger_that_reacts_wrong_fails_the_case(case_id):
    double, words = DOUBLES[case_id]
    result = run(case_id, double)
    message = result.details.get("message", "")
    # On a surprise, the charger's own account of it (its log's last lines) is shown.
    why = (message, result.details.get("agent_log_tail"))
    assert result.verdict == "fail", (result.verdict, why)
    for word in words:
        assert word in message, why
