"""A short soak in every CI run; `bench run soak --param faults=200 --speed 8` is the long one."""

import asyncio

import pytest

from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import RunOptions, run_case

pytestmark = pytest.mark.e2e


def test_random_faults_lose_and_duplicate_nothing():
    case = all_scenarios()["soak"]
    options = RunOptions(speed=6, params={"faults": "15", "seed": "7"})
    result = asyncio.run(run_case(case, options))
    assert result.verdict == "pass", result.details.get("message")
    details = result.details
    assert details["faults"] == 15
    assert sum(details[f"faults_{k}"] for k in ("link", "csms", "power")) == 15
    assert details["transactions"] >= 2
    assert details["energy_wh_1"] + details["energy_wh_2"] > 0
