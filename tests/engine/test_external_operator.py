"""The operator of an external charge point: steps in order, failures reach the case."""

from __future__ import annotations

import asyncio

import pytest

from bench.scenarios.external_cs import Operator, OperatorFailed, console_operator


def test_steps_run_in_the_order_asked_and_a_background_failure_fails_the_next_wait():
    done: list[str] = []

    async def hook(action, params):
        await asyncio.sleep(0.05 if action == "plug" else 0)
        if action == "power_on":
            raise RuntimeError("relay stuck")
        done.append(f"{action} {params.get('connector', '')}".strip())

    async def main() -> None:
        operator = Operator("CP-1", hook)
        operator.start("plug", connector=1)  # slow: the next step must wait for it
        operator.start("unplug", connector=1)
        await operator.settle()
        assert done == ["plug 1", "unplug 1"]
        operator.check()  # nothing failed
        operator.start("power_on")
        await operator.settle()
        with pytest.raises(OperatorFailed, match="power_on failed: relay stuck"):
            operator.check()
        operator.check()  # reported once

    asyncio.run(main())


def test_the_console_operator_gives_up_when_nobody_answers(monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.readline", lambda: __import__("time").sleep(2) or "\n")
    hook = console_operator(0.2, asked.append)
    with pytest.raises(OperatorFailed, match="nobody confirmed 'plug an EV into connector 2'"):
        asyncio.run(hook("plug", {"cp_id": "CP-1", "connector": 2}))
    assert asked == ["OPERATOR [CP-1]: plug an EV into connector 2; then press Enter"]
    with pytest.raises(OperatorFailed, match="cannot measure"):
        asyncio.run(hook("measure", {"cp_id": "CP-1", "connector": 1}))
