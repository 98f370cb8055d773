"""The panel in a real headless Chromium against a real bench (CSMS, agent process, rig).

One BenchSystem at clock speed 4 serves every test of this module, with the panel
started by ``web.serve.start_panel`` exactly as ``bench up`` does. Screenshots go to
``$PANEL_SCREENSHOTS_DIR`` (the README's are made with ``docs/screenshots``), else to
a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bench.scenarios.sessions import FAST
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock
from web.serve import start_panel
from web.users import add_user

CHROMIUM = Path("/usr/bin/chromium")
SPEED = 4.0
TAG = "0A00B1C2D3"
LONG = "both-connectors"  # 17 s at speed 1
USERS = {"olga": ("operator", "operator-pass-1"), "victor": ("viewer", "viewer-pass-1")}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real bench on its own loop thread, and the panel beside it: yields the URL."""
    root = tmp_path_factory.mktemp("panel-bench")
    for name, (role, password) in USERS.items():
        add_user(root, name, password, role)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench loop", daemon=True)
    thread.start()
    system = BenchSystem(StateDir(root), clock=Clock.start(SPEED), agent_config=FAST)
    asyncio.run_coroutine_threadsafe(system.start(), loop).result(60)
    url, stop = start_panel(system, loop, root, port=0)
    deadline = time.monotonic() + 60
    while not any(f["action"] == "BootNotification" for f in list(system.trace)):
        assert time.monotonic() < deadline, "the agent never booted"
        time.sleep(0.2)
    try:
        yield url
    finally:
        stop()
        asyncio.run_coroutine_threadsafe(system.stop(), loop).result(60)

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(drain(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def playwright():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh Chromium profile per test: opens pages, closes at the end."""
    contexts = []

    def launch():  # type: ignore[no-untyped-def]
        context = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="panel-chromium-", dir=tmp_path),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1360, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context

    yield launch
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    target = os.environ.get("PANEL_SCREENSHOTS_DIR")
    path = Path(target) if target else Path(tempfile.mkdtemp(prefix="panel-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_in(context, url: str, name: str, ready: str = "#connectors .connector"):  # type: ignore[no-untyped-def]
    """A logged-in page of ``name``, once ``ready`` shows (the bench panel's connectors)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.goto(url)
    assert "/login" in page.url
    page.fill("#username", name)
    page.fill("#password", USERS[name][1])
    page.click("#login-submit")
    page.wait_for_selector(ready)
    return page


def number(page, selector: str) -> float:  # type: ignore[no-untyped-def]
    text = page.inner_text(selector).strip()
    return float(text) if re.fullmatch(r"-?[0-9.]+", text) else float("nan")


def wait_number(page, selector: str, predicate, timeout: float = 60.0) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = number(page, selector)
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"{selector} stayed at {value}"
        page.wait_for_timeout(250)


def test_operator_starts_a_scenario_and_watches_it_reach_its_verdict(bench, browser, shots):
    from playwright.sync_api import expect

    context = browser()
    page = log_in(context, bench, "olga")
    page.click("header >> text=Scenarios")
    page.select_option("#f-profile", "bench")
    row = page.locator('#cases-table tr[data-case="local-rfid-session"]')
    expect(row).to_be_visible()
    row.locator("button.run-one").click()
    active = page.locator("#active-run")
    expect(active.locator("#run-label")).to_have_text("local-rfid-session")
    case = active.locator('tr[data-case="local-rfid-session"]')
    # live progress: the case runs and its step log grows before the verdict
    expect(case.locator(".badge")).to_have_text("running")
    # the case's own agent boots first (seconds on a busy machine): wait as long as it takes
    expect(page.locator("#step-log")).to_contain_text("plug EV into connector 1", timeout=60_000)
    expect(case.locator(".badge")).to_have_text("PASS", timeout=120_000)
    expect(page.locator("#run-heading")).to_have_text("Last run")
    expect(active.locator(".report-link")).to_be_visible()
    expect(page.locator("#runs-table tbody tr").first).to_contain_text("local-rfid-session")
    page.screenshot(path=str(shots / "scenarios.png"))
    with context.expect_page() as opened:
        active.locator(".report-link").click()
    report = opened.value
    report.wait_for_load_state()
    expect(report.locator("body")).to_contain_text("local-rfid-session")
    assert "OCPP 1.6 test report" in report.title()
    report.screenshot(path=str(shots / "report.png"))
    assert page.js_errors == []


def test_connector_values_change_live_during_a_charging_session(bench, browser, shots):
    from playwright.sync_api import expect

    context = browser()
    page = log_in(context, bench, "olga")
    expect(page.locator("#c1-status")).to_have_text("Available", timeout=30_000)
    page.click("#c1-plug")
    expect(page.locator("#c1-plugged")).to_have_text("yes")
    expect(page.locator("#c1-status")).to_have_text("Preparing")
    page.fill("#c1-tag-input", TAG)
    page.click("#c1-tag")
    expect(page.locator("#c1-status")).to_have_text("Charging", timeout=60_000)
    expect(page.locator("#c1-transaction")).to_contain_text(TAG)
    power = wait_number(page, "#c1-power_kw", lambda v: v > 1)
    meter = number(page, "#c1-meter_wh")
    soc = number(page, "#c1-soc")
    # the page is never reloaded: the same elements change under the WebSocket feed
    wait_number(page, "#c1-meter_wh", lambda v: v > meter + 5)
    wait_number(page, "#c1-soc", lambda v: v > soc)
    assert number(page, "#c1-current_a") > 0 and number(page, "#c1-voltage_v") > 200
    assert page.inner_text("#c1-contactors") == "closed"
    assert power > 1
    expect(page.locator("#c1-session-note")).to_have_text("(running)")
    page.wait_for_timeout(3000)  # a few more chart points
    page.locator("#connector-1").screenshot(path=str(shots / "rig-connector.png"))
    page.screenshot(path=str(shots / "rig-view.png"), full_page=True)
    # the trace shows the session, both directions, filtered and downloadable
    trace = context.new_page()
    trace.goto(bench + "trace")
    trace.wait_for_selector("#trace-table tbody tr")
    trace.select_option("#t-action", "StartTransaction")
    rows = trace.locator("#trace-table tbody tr")
    expect(rows.nth(1)).to_be_visible()
    # this session's pair is the newest (a session of another test may precede it)
    count = rows.count()
    assert count % 2 == 0, count
    expect(rows.nth(count - 2)).to_contain_text("CP → CSMS")
    expect(rows.nth(count - 1)).to_contain_text("CSMS → CP")
    expect(rows.nth(count - 2)).to_contain_text(TAG)
    with trace.expect_download() as download:
        trace.click("#t-download")
    lines = Path(download.value.path()).read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["StartTransaction"] * count
    # end the session: same tag stops, then unplug
    page.bring_to_front()
    page.click("#c1-tag")
    expect(page.locator("#c1-status")).to_have_text("Finishing", timeout=60_000)
    page.click("#c1-unplug")
    expect(page.locator("#c1-status")).to_have_text("Available", timeout=60_000)
    expect(page.locator("#c1-session-note")).to_have_text("(last session)")
    assert page.js_errors == []


def test_a_viewer_watches_but_is_refused_and_so_is_a_request_without_the_token(bench, browser):
    from playwright.sync_api import expect

    viewer = log_in(browser(), bench, "victor")
    expect(viewer.locator("#whoami")).to_contain_text("viewer")
    expect(viewer.locator("#c2-status")).not_to_have_text("unknown")  # watching works
    expect(viewer.locator("#c2-plug")).to_be_hidden()
    viewer.goto(bench + "control")
    expect(viewer.locator("#viewer-notice")).to_be_visible()
    expect(viewer.locator("button[data-rig=plug]")).to_be_disabled()
    expect(viewer.locator("#op-send")).to_be_disabled()
    refused = viewer.evaluate(
        """async () => {
            const headers = {'X-CSRF-Token': Panel.csrf(), 'Content-Type': 'application/json'};
            const r = await fetch('/api/rig/2/plug', {method: 'POST', headers, body: '{}'});
            return [r.status, (await r.json()).error];
        }"""
    )
    assert refused[0] == 403 and "operators only" in refused[1]
    ack = viewer.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws?topics=snapshot`);
            const plug = {cmd: 'plug', connector: 2, id: 7, csrf: Panel.csrf()};
            ws.onopen = () => ws.send(JSON.stringify(plug));
            ws.onmessage = (e) => {
                const m = JSON.parse(e.data);
                if (m.type === 'ack') { ws.close(); resolve(m); }
            };
        })"""
    )
    assert ack["ok"] is False and ack["status"] == 403
    operator = log_in(browser(), bench, "olga")
    statuses = operator.evaluate(
        """async () => {
            const post = (headers) => fetch('/api/rig/2/plug', {method: 'POST',
                headers: Object.assign({'Content-Type': 'application/json'}, headers), body: '{}'});
            return [(await post({})).status, (await post({'X-CSRF-Token': 'forged'})).status];
        }"""
    )
    assert statuses == [400, 403]
    snapshot = operator.evaluate("() => fetch('/api/snapshot').then((r) => r.json())")
    assert snapshot["connectors"]["2"]["plugged"] is False
    activity = " ".join(a["text"] for a in snapshot["activity"])
    assert "connector 2" not in activity


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descends_from_us(pid: int) -> bool:
    """Started by this test process: other pytest workers run the same cases meanwhile."""
    while pid > 1:
        pid = _parent(pid)
        if pid == os.getpid():
            return True
    return False


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes() if text.startswith("bench-") else b""
        except OSError:
            continue
        if (text.encode() in cmdline or text.encode() in environ) and _descends_from_us(
            int(proc.name)
        ):
            found.append(int(proc.name))
    return found


def test_an_operator_stops_a_long_run_and_its_rig_goes_away(bench, browser):
    from playwright.sync_api import expect

    page = log_in(browser(), bench, "olga")
    page.click("header >> text=Scenarios")
    page.select_option("#f-profile", "bench")
    page.fill("#run-speed", "1")  # real time: the case is still going on when it is stopped
    page.locator(f'#cases-table tr[data-case="{LONG}"] button.run-one').click()
    case = page.locator(f'#active-run tr[data-case="{LONG}"]')
    expect(case.locator(".badge")).to_have_text("running")
    expect(page.locator("#active-run")).to_contain_text("speed ×1")
    expect(page.locator("#step-log")).to_contain_text("present RFID", timeout=60_000)
    assert _processes_mentioning(f"bench-{LONG}-"), "the case's own agent should be running"
    page.click("#stop-run")
    expect(case.locator(".badge")).to_have_text("stopped", timeout=60_000)
    expect(page.locator("#active-run .badge").first).to_have_text("stopped")
    expect(page.locator("#active-run")).to_contain_text("stopped by olga")
    expect(page.locator("#active-run .report-link")).to_be_visible()
    deadline = time.monotonic() + 30
    while _processes_mentioning(f"bench-{LONG}-"):
        assert time.monotonic() < deadline, "the stopped case's agent process is still running"
        time.sleep(0.5)
    # the live rig was never the run's: it still answers
    snapshot = page.evaluate("() => fetch('/api/snapshot').then((r) => r.json())")
    assert snapshot["cp_connected"] and snapshot["connectors"]["1"]["plugged"] is False
    assert page.js_errors == []


RUN_WHILE_CHARGING = ["local-rfid-session", "remote-session", "both-connectors"]


def test_a_scenario_run_never_disturbs_the_live_session(bench, browser, shots):
    """A run builds benches of its own (keys, databases, agents): the live rig's meters
    keep answering meanwhile, so the live transaction goes on charging through it."""
    from playwright.sync_api import expect

    context = browser()
    rig = log_in(context, bench, "olga")
    expect(rig.locator("#c1-status")).to_have_text("Available", timeout=30_000)
    rig.click("#c1-plug")
    expect(rig.locator("#c1-status")).to_have_text("Preparing")
    rig.fill("#c1-tag-input", TAG)
    rig.click("#c1-tag")
    expect(rig.locator("#c1-status")).to_have_text("Charging", timeout=60_000)
    tx_text = rig.inner_text("#c1-transaction")
    wait_number(rig, "#c1-power_kw", lambda v: v > 1)
    since = rig.evaluate("() => fetch('/api/snapshot').then((r) => r.json())")
    mark = rig.evaluate("() => fetch('/api/trace?limit=1').then((r) => r.json())")["next"]

    scenarios = context.new_page()
    scenarios.js_errors = []
    scenarios.on("pageerror", lambda exc: scenarios.js_errors.append(str(exc)))
    scenarios.goto(bench + "scenarios")
    scenarios.select_option("#f-profile", "bench")
    for case in RUN_WHILE_CHARGING:
        scenarios.locator(f'#cases-table tr[data-case="{case}"] input.pick').check()
    scenarios.click("#run-selected")
    expect(scenarios.locator("#run-label")).to_have_text("3 cases")
    expect(scenarios.locator("#run-heading")).to_have_text("Last run", timeout=240_000)
    for case in RUN_WHILE_CHARGING:  # the run did run its cases on benches of their own
        badge = scenarios.locator(f'#active-run tr[data-case="{case}"] .badge')
        expect(badge).to_have_text("PASS")
    scenarios.screenshot(path=str(shots / "run-while-charging.png"), full_page=True)

    rig.bring_to_front()
    expect(rig.locator("#c1-status")).to_have_text("Charging")
    assert rig.inner_text("#c1-transaction") == tx_text  # the same transaction, still on
    after = rig.evaluate("() => fetch('/api/snapshot').then((r) => r.json())")
    live = after["connectors"]["1"]
    assert live["transaction"]["active"] and live["meter_wh"] > since["connectors"]["1"]["meter_wh"]
    trace = f"() => fetch('/api/trace?since={mark}').then((r) => r.json())"
    frames = rig.evaluate(trace)["frames"]
    statuses = [f["payload"].get("status") for f in frames if f["action"] == "StatusNotification"]
    assert "Faulted" not in statuses, statuses
    assert not [f for f in frames if f["action"] == "StopTransaction"]
    rig.screenshot(path=str(shots / "rig-after-run.png"), full_page=True)
    # end the live session so the rig is left as found
    rig.click("#c1-tag")
    expect(rig.locator("#c1-status")).to_have_text("Finishing", timeout=60_000)
    rig.click("#c1-unplug")
    expect(rig.locator("#c1-status")).to_have_text("Available", timeout=60_000)
    assert rig.js_errors == [] and scenarios.js_errors == []


def test_get_configuration_answers_as_a_table_of_keys_values_and_access(bench, browser, shots):
    from playwright.sync_api import expect

    page = log_in(browser(), bench, "olga")
    page.goto(bench + "control")
    page.select_option("#op-action", "GetConfiguration")
    page.wait_for_timeout(300)  # the form is rebuilt from the schema
    page.fill("#op-json", "{}")
    page.click("#op-from-json")
    page.click("#op-send")
    table = page.locator("#config-table")
    expect(table).to_be_visible(timeout=30_000)
    row = table.locator('tr[data-key="HeartbeatInterval"]')
    expect(row).to_contain_text("read-write")
    assert row.locator("td.value").inner_text().strip().isdigit()
    expect(table.locator('tr[data-key="GetConfigurationMaxKeys"]')).to_contain_text("read-only")
    assert table.locator("tbody tr").count() > 20
    expect(page.locator("#op-result-raw")).not_to_have_attribute("open", "")
    page.screenshot(path=str(shots / "configuration.png"), full_page=True)
    assert page.js_errors == []


def test_the_report_folds_its_cases_and_loads_a_case_when_opened(bench, browser, shots):
    """The run of the first test has a report: summary first, cases folded."""
    from playwright.sync_api import expect

    context = browser()
    page = log_in(context, bench, "olga")
    runs = page.evaluate("() => fetch('/api/runs').then((r) => r.json())")
    done = next(r for r in runs if r["report"] and r["total"] >= 3)
    report = context.new_page()
    report.goto(f"{bench}runs/{done['id']}/report/")
    cases = report.locator("details.case")
    assert cases.count() == done["total"]
    assert all(not cases.nth(i).get_attribute("open") for i in range(cases.count()))
    frame = report.frame_locator("details.case >> nth=0 >> iframe.case-detail")
    cases.nth(0).locator("summary").click()
    expect(frame.locator("svg.timeline")).to_be_visible(timeout=15_000)
    expect(frame.locator("table.trace")).to_be_visible()
    expect(cases.nth(0).locator("ol.steps li.pass").first).to_be_visible()
    report.screenshot(path=str(shots / "report-folded.png"), full_page=True)
    printed = context.new_page()
    printed.goto(f"{bench}runs/{done['id']}/report/print.html")
    assert printed.locator("table.trace").count() == done["total"]
    assert printed.locator("svg.timeline").count() == done["total"]
    # the panel shows the same sequence chart for a finished case
    page.goto(f"{bench}runs/{done['id']}")
    page.locator("#run-cases tr.case-row").first.click()
    page.locator("#timeline summary").click()
    image = page.locator("#timeline img")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 100
    expect(page.locator("#step-log .step.pass").first).to_be_visible()
    expect(page.locator("#run-cases td.energy").first).not_to_be_empty()
    page.screenshot(path=str(shots / "run-timeline.png"), full_page=True)


def test_no_page_is_wider_than_a_phone(bench, browser, shots):
    context = browser()
    page = log_in(context, bench, "olga")
    page.set_viewport_size({"width": 390, "height": 844})
    runs = page.evaluate("() => fetch('/api/runs').then((r) => r.json())")
    finished = next(r["id"] for r in runs if r["report"])
    for path in ("", "scenarios", "control", "trace", f"runs/{finished}"):
        page.goto(bench + path)
        page.wait_for_timeout(800)
        if path.startswith("runs/"):  # a case's step log and its sequence chart open
            page.locator("#run-cases tr.case-row").first.click()
            page.locator("#timeline summary").click()
            page.wait_for_timeout(300)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"/{path} is {width} px wide at 390 px"
        name = (path or "rig").split("/")[0]
        page.screenshot(path=str(shots / f"phone-{name}.png"), full_page=True)


def test_the_trace_keeps_its_column_names_in_view_while_it_scrolls(bench, browser):
    page = log_in(browser(), bench, "olga")
    page.goto(bench + "trace")
    page.uncheck("#t-follow")
    wait = "() => document.querySelectorAll('#trace-table tbody tr').length > 60"
    page.wait_for_function(wait, timeout=30_000)
    scrolled = page.evaluate(
        """() => {
            const wrap = document.getElementById('t-wrap');
            wrap.scrollTop = wrap.scrollHeight;
            const th = document.querySelector('#trace-table thead th');
            const offset = th.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
            return [wrap.scrollTop, offset];
        }"""
    )
    assert scrolled[0] > 0, "the trace should be long enough to scroll"
    assert abs(scrolled[1]) < 2, scrolled  # the header row sits at the top of the frames
    assert page.js_errors == []
