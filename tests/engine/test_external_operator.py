"""The operator of an external charge point: steps in order, failures reach the case."""

from __future__ import annotations

import asyncio

import pytest

from bench.scenarios.external_cs import Operator, OperatorFailed, interactive_operator
from bench.scenarios.operator_prompt import OperatorPrompts


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


def test_an_interactive_operator_asks_for_each_step_and_cannot_measure():
    prompts = OperatorPrompts()
    hook = interactive_operator(prompts, 60)

    async def main() -> None:
        step = asyncio.ensure_future(hook("plug", {"cp_id": "CP-1", "connector": 2}))
        while not prompts.pending():
            await asyncio.sleep(0.01)
        [asked] = prompts.pending()
        assert (asked["cp_id"], asked["text"]) == ("CP-1", "plug an EV into connector 2")
        assert (asked["action"], asked["params"]) == ("plug", {"connector": 2})
        prompts.answer(asked["id"], True, "console")
        assert await step is None
        with pytest.raises(OperatorFailed, match="cannot measure"):
            await hook("measure", {"cp_id": "CP-1", "connector": 1})
        assert prompts.pending() == []

    asyncio.run(main())
