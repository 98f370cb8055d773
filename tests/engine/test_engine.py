"""The engine itself: selection, PICS, and failing a charger that misbehaves on purpose."""

from __future__ import annotations

import asyncio

import pytest

from bench.pics import load_pics
from bench.scenarios.handle import matches
from bench.scenarios.registry import Scenario, all_scenarios, select
from bench.scenarios.runner import RunOptions, run_case


def test_selection_by_role_profile_and_id():
    known = all_scenarios()
    assert {"local-rfid-session", "power-loss"} <= set(known)
    assert all(c.role == "cs" and c.profile == "core" for c in select(None, ["cs"], ["core"]))
    assert [c.id for c in select(["power-loss", "remote-session"])] == [
        "power-loss",
        "remote-session",
    ]
    with pytest.raises(KeyError):
        select(["TC_999_CS"])


def test_subset_matching():
    payload = {"connectorId": 1, "status": "Charging", "idTagInfo": {"status": "Accepted"}}
    assert matches(payload, {"connectorId": 1, "idTagInfo": {"status": "Accepted"}})
    assert not matches(payload, {"status": "Available"})
    assert matches(payload, {"connectorId": lambda v: v in (1, 2)})


def test_a_case_whose_pics_item_is_missing_is_not_applicable_never_pass():
    async def never_runs(t):
        raise AssertionError("an n/a case must not run")

    case = Scenario("TC_X_CS", "needs a cache", never_runs, requires=("C-04",))
    seed = load_pics("seed-charger")
    assert case.missing(seed) == ["C-04"]
    result = asyncio.run(run_case(case, RunOptions(pics="seed-charger")))
    assert result.verdict == "n/a" and "C-04" in result.details["message"]


def run_with_quirks(case_id: str, **quirks):
    case = all_scenarios()[case_id]
    return asyncio.run(run_case(case, RunOptions(speed=4, agent_quirks=quirks)))


@pytest.mark.e2e
def test_a_wrong_status_fails_the_case_and_says_so():
    result = run_with_quirks("local-rfid-session", status_override={"Charging": "SuspendedEV"})
    assert result.verdict == "fail"
    assert "Charging" in result.details["message"]
    assert "SuspendedEV" in result.details["message"]  # what the charger did instead


@pytest.mark.e2e
def test_a_late_reply_fails_the_case_and_says_so():
    result = run_with_quirks("remote-session", reply_delay_s=12)
    assert result.verdict == "fail"
    assert "RemoteStartTransaction" in result.details["message"]
    assert "no response" in result.details["message"]


@pytest.mark.e2e
def test_a_missing_stop_transaction_fails_the_case_and_says_so():
    result = run_with_quirks("local-rfid-session", drop_stop_transaction=True)
    assert result.verdict == "fail"
    assert "no StopTransaction" in result.details["message"]
    assert result.trace and result.steps  # the evidence is kept for the report


@pytest.mark.e2e
def test_the_same_charger_without_quirks_passes():
    result = run_with_quirks("local-rfid-session")
    assert result.verdict == "pass", result.details
    assert result.samples["1"] and max(s["power_w"] for s in result.samples["1"]) > 0
