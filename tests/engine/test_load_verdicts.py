"""A verdict must not depend on load: lag is measured, a lagged failure is run again slower."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.loadtest import run_catalogue
from bench.scenarios import runner
from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import CaseResult, RunOptions, run_case
from charger.lag import LagMonitor, read_lag


def test_the_lag_monitor_sees_a_blocked_loop_and_writes_it_down(tmp_path):
    async def main():
        monitor = LagMonitor(tmp_path, period_s=0.01).start()
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # the host did not schedule us: the loop wakes 0.3 s late
        await asyncio.sleep(0.05)
        return await monitor.stop()

    lag = asyncio.run(main())
    assert lag.max_s >= 0.25 and lag.wakeups >= 2  # (more on a host busy elsewhere)
    assert read_lag(tmp_path).max_s == pytest.approx(lag.max_s, abs=1e-3)


def scripted(monkeypatch, outcomes):
    """Attempts give ``outcomes`` in turn: (verdict, worst lag in wall seconds)."""
    speeds = []

    async def attempt(case, options, speed, slot=0):
        verdict, lag_s = outcomes[len(speeds)]
        speeds.append(speed)
        result = CaseResult(case.id, verdict, 1.0, speed=speed)
        result.details = {
            "message": "no Authorize within 10 s",
            "timing": True,
            "lag": {"agent": {"max_s": lag_s}},
        }
        return result

    monkeypatch.setattr(runner, "_attempt", attempt)
    case = all_scenarios()["local-rfid-session"]
    return asyncio.run(run_case(case, RunOptions(speed=4))), speeds


def test_a_failure_on_a_calm_host_stays_a_failure(monkeypatch):
    result, speeds = scripted(monkeypatch, [("fail", 0.3)])  # 1.2 simulated s at speed 4
    assert (result.verdict, speeds) == ("fail", [4])
    assert "attempts" not in result.details


def test_a_failure_while_the_host_lagged_is_run_again_slower(monkeypatch):
    result, speeds = scripted(monkeypatch, [("fail", 0.6), ("pass", 0.6)])
    assert (result.verdict, speeds, result.speed) == ("pass", [4, 2], 2)
    assert result.details["attempts"] == [
        {"speed": 4, "message": "no Authorize within 10 s", "worst_lag_ms": 600}
    ]


def test_a_host_that_never_keeps_up_gives_inconclusive_never_fail(monkeypatch):
    result, speeds = scripted(monkeypatch, [("fail", 2.5)] * 3)
    assert speeds == [4, 2, 1]
    assert result.verdict == "inconclusive"
    message = result.details["message"]
    assert message.startswith("inconclusive: the host could not keep up")
    assert "2500 ms late" in message and "no Authorize within 10 s" in message


def test_a_wrong_value_is_a_failure_however_busy_the_host(monkeypatch):
    async def attempt(case, options, speed, slot=0):
        result = CaseResult(case.id, "fail", 1.0, speed=speed)
        result.details = {"message": "answered Occupied", "lag": {"agent": {"max_s": 9.0}}}
        return result

    monkeypatch.setattr(runner, "_attempt", attempt)
    result = asyncio.run(run_case(all_scenarios()["local-rfid-session"], RunOptions(speed=4)))
    assert result.verdict == "fail" and "attempts" not in result.details


@pytest.mark.e2e
def test_the_core_cases_under_cpu_hogs_on_one_core_give_no_false_failure():
    """CI's short load run: both cores busy and the bench pinned to one of them."""
    run = run_catalogue(
        "ci", ["TC_003_CS", "TC_004_1_CS", "TC_039_CS"], speed=4, parallel=2, hogs=2, pin_cpu=0
    )
    print(run.line())
    assert run.false_failures == []
    assert sum(run.verdicts.values()) == 3 and run.worst_lag_ms > 0
