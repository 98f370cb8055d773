"""An operator step asked of a person: the console and the panel answer the same step,
the first answer wins; "cannot do it" and the time limit fail it."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from bench.scenarios.operator_prompt import (
    ConsolePrompter,
    OperatorFailed,
    OperatorPrompts,
    StepGone,
)

DEADLINE_S = 30.0  # generous: only a broken prompt waits this long


async def _until_pending(prompts: OperatorPrompts, count: int = 1) -> list[dict]:
    deadline = time.monotonic() + DEADLINE_S
    while len(prompts.pending()) < count:
        assert time.monotonic() < deadline, "the step was never asked"
        await asyncio.sleep(0.01)
    return prompts.pending()


def _panel_answers(prompts: OperatorPrompts, step_id: int, done: bool) -> None:
    """As the panel does: from a request thread of its own."""
    thread = threading.Thread(target=prompts.answer, args=(step_id, done, "olga in the panel"))
    thread.start()
    thread.join(DEADLINE_S)


@pytest.fixture
def console():
    """A console the test types into: the prompter reads the read end of a pipe."""
    prompts = OperatorPrompts()
    said: list[str] = []
    read_fd, write_fd = os.pipe()
    ConsolePrompter(prompts, read_fd, said.append, "http://127.0.0.1:9004/").start()
    yield prompts, said, lambda text: os.write(write_fd, text.encode())
    os.close(write_fd)  # the reader sees the end of input and stops
    prompts.close()


def test_enter_on_the_console_completes_the_step(console):
    prompts, said, type_in = console

    async def main() -> tuple[bool, str]:
        step = asyncio.ensure_future(prompts.ask("CP-1", "plug an EV into connector 1", 60))
        await _until_pending(prompts)
        type_in("\n")
        return await asyncio.wait_for(step, DEADLINE_S)

    assert asyncio.run(main()) == (True, "console")
    assert said[0] == (
        "OPERATOR [CP-1] step 1: plug an EV into connector 1; then press Enter "
        "(type no and Enter if you cannot) or in the panel, http://127.0.0.1:9004/"
    )
    assert prompts.pending() == []


def test_the_panel_answers_first_and_the_late_console_line_goes_nowhere(console):
    prompts, said, type_in = console

    async def main() -> tuple[bool, str]:
        step = asyncio.ensure_future(prompts.ask("CP-1", "cut the charger's mains power", 60))
        [pending] = await _until_pending(prompts)
        _panel_answers(prompts, pending["id"], True)
        answer = await asyncio.wait_for(step, DEADLINE_S)
        type_in("\n")  # the operator also pressed Enter: nothing is waiting for it
        with pytest.raises(StepGone, match="answered already") as gone:
            prompts.answer(pending["id"], False, "console")
        assert gone.value.asked
        return answer

    assert asyncio.run(main()) == (True, "olga in the panel")
    assert any(line == "OPERATOR step 1: done (olga in the panel)" for line in said)


@pytest.mark.parametrize("front_end", ["console", "panel"])
def test_cannot_do_it_fails_the_step(console, front_end):
    prompts, said, type_in = console

    async def main() -> None:
        step = asyncio.ensure_future(prompts.ask("CP-1", "press the emergency stop", 60))
        [pending] = await _until_pending(prompts)
        if front_end == "console":
            type_in("no\n")
        else:
            _panel_answers(prompts, pending["id"], False)
        await asyncio.wait_for(step, DEADLINE_S)

    by = "console" if front_end == "console" else "olga in the panel"
    with pytest.raises(OperatorFailed, match=rf"the operator \({by}\) could not press the emerg"):
        asyncio.run(main())
    assert prompts.pending() == []


def test_nobody_answering_fails_the_step_at_its_time_limit(console):
    prompts, said, _type_in = console

    with pytest.raises(OperatorFailed, match="nobody confirmed 'unplug the EV' within 0.2 s"):
        asyncio.run(prompts.ask("CP-1", "unplug the EV", 0.2))
    assert prompts.pending() == []
    assert said[-1] == "OPERATOR step 1: nobody answered within 0.2 s"
    with pytest.raises(StepGone, match="answered already or timed out"):
        prompts.answer(1, True, "olga in the panel")  # too late
    with pytest.raises(StepGone, match="never asked") as never:
        prompts.answer(2, True, "olga in the panel")
    assert not never.value.asked


def test_a_cancelled_case_withdraws_its_step_and_the_end_of_the_run_fails_a_pending_one():
    prompts = OperatorPrompts()

    async def main() -> None:
        step = asyncio.ensure_future(prompts.ask("CP-1", "plug an EV into connector 1", 60))
        await _until_pending(prompts)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert prompts.pending() == []
        step = asyncio.ensure_future(prompts.ask("CP-1", "plug an EV into connector 2", 60))
        await _until_pending(prompts)
        await asyncio.to_thread(prompts.close)
        with pytest.raises(OperatorFailed, match="the run ended"):
            await asyncio.wait_for(step, DEADLINE_S)
        with pytest.raises(OperatorFailed, match="the run is over"):
            await prompts.ask("CP-1", "anything", 60)

    asyncio.run(main())
