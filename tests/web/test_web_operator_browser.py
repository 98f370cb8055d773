"""The operator steps page in a real headless Chromium: a step shows up live, "Done" and
"Cannot do it" answer it, a viewer only watches."""

from __future__ import annotations

import asyncio
import tempfile
import threading

import pytest

from bench.scenarios.operator_prompt import OperatorFailed, OperatorPrompts
from tests.web.test_web_browser import CHROMIUM, USERS, log_in
from web.serve import start_operator_panel
from web.users import add_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
DEADLINE_S = 30.0


@pytest.fixture
def run(tmp_path):  # type: ignore[no-untyped-def]
    """The run's side: its prompts on an event loop of its own, and its panel."""
    for name, (role, password) in USERS.items():
        add_user(tmp_path, name, password, role)
    prompts = OperatorPrompts()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url, stop = start_operator_panel(prompts, tmp_path, port=0)

    def ask(text: str):  # type: ignore[no-untyped-def]
        coroutine = prompts.ask("EXT-CP-1", text, 600, "plug", {"connector": 1})
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    yield url, prompts, ask
    stop()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(DEADLINE_S)
    loop.close()


@pytest.fixture
def chromium(tmp_path):  # type: ignore[no-untyped-def]
    """Opens a browser profile of its own per user (their cookies apart)."""
    from playwright.sync_api import sync_playwright

    contexts = []
    with sync_playwright() as p:

        def launch():  # type: ignore[no-untyped-def]
            context = p.chromium.launch_persistent_context(
                tempfile.mkdtemp(prefix="operator-chromium-", dir=tmp_path),
                executable_path=str(CHROMIUM),
                headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            )
            context.set_default_timeout(DEADLINE_S * 1000)
            contexts.append(context)
            return context

        yield launch
        for context in contexts:
            context.close()


def test_an_operator_answers_steps_on_the_page_and_a_viewer_watches(run, chromium):
    from playwright.sync_api import expect

    url, prompts, ask = run
    page = log_in(chromium(), url, "olga", ready="#op-idle")
    viewer = log_in(chromium(), url, "victor", ready="#op-idle")
    expect(page.locator("#op-idle")).to_be_visible()
    prompts.set_case("#1/2 TC_012_CS: Remote Stop Charging Session")
    first = ask("plug an EV into connector 1")
    step = page.locator("#step-1")
    expect(step).to_contain_text("plug an EV into connector 1")
    expect(page.locator("#op-case")).to_have_text(
        "case #1/2 TC_012_CS: Remote Stop Charging Session"
    )
    expect(viewer.locator("#step-1")).to_contain_text("plug an EV into connector 1")
    expect(viewer.locator('#step-1 button[data-answer="done"]')).to_be_disabled()
    step.locator('button[data-answer="done"]').click()
    assert first.result(DEADLINE_S) == (True, "olga in the panel")
    expect(page.locator("#step-1")).to_have_count(0)
    expect(viewer.locator("#step-1")).to_have_count(0)
    second = ask("unplug the EV from connector 1")
    page.locator('#step-2 button[data-answer="cannot"]').click()
    with pytest.raises(OperatorFailed, match=r"\(olga in the panel\) could not unplug"):
        second.result(DEADLINE_S)
    expect(page.locator("#op-idle")).to_be_visible()
    prompts.close()
    expect(page.locator("#op-closed")).to_be_visible()
    assert page.js_errors == [] and viewer.js_errors == []
