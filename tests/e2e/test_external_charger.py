"""Any charger against the _CS catalogue: ``bench run --role cs --dut external``.

The charge point under test is one the running ``bench run`` did not start: our
firmware (``python -m charger SETTINGS``) run by a separate ``bench up --csms`` on its
own simulated rig, pointed at the bench's link proxy. The physical steps go through an
operator hook that presses the buttons of that rig's panel (``bench.rig.panel_hook``),
or, with ``--interactive``, a script that answers the steps in the run's own panel.
The same cases run against the misbehaving charger double (``bench up --double``) fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.ports import SPAN
from bench.rig.panel_hook import Panel, perform
from tests.e2e.test_charger_elsewhere import OPERATOR
from tests.ports import free_block

pytestmark = pytest.mark.e2e
BENCH = [sys.executable, "-m", "bench.cli"]
CP_ID = "MAKER-DC-1"
PASSWORD = "under-test-pass-42"
#: Core cases that need every kind of hands: cards, plugs, a power cut, a pulled cable
#: (through the proxy), and readings of the output.
#: (TC_002_CS for the power cut: its timing checks are lower bounds. TC_001_CS's Heartbeat
#: interval would be decided by this machine's load on the charger sharing the host.)
CASES = ["TC_003_CS", "TC_010_CS", "TC_012_CS", "TC_036_CS", "TC_002_CS"]
#: The double reports SuspendedEV when it charges: each case that waits for Charging
#: fails on it after its real-time wait (the catalogue's in-process doubles prove the rest).
DOUBLE_CASES = ["TC_003_CS", "TC_036_CS"]


def _read_until(proc: subprocess.Popen, marker: str, within: float) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"no {marker!r} within {within} s:\n" + "".join(lines))


def _add_operator(state: Path) -> None:
    subprocess.run(
        [*BENCH, "user", "add", OPERATOR[0], "--role", "operator"]
        + ["--state-dir", str(state), "--password-stdin"],
        input=OPERATOR[1] + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


class PanelOperator:
    """The tiny script a lab could write instead of a hook: it watches the operator steps
    in the run's panel, does each on the charger's rig (through that rig's panel) and
    answers "Done" in the run's panel."""

    def __init__(self, run_panel: str, rig_panel: str) -> None:
        self.run_panel, self.rig_panel = run_panel, rig_panel
        self.stopping = threading.Event()
        self.answered: list[str] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        try:
            run = Panel(self.run_panel).login(*OPERATOR)
            rig: Panel | None = None
            while not self.stopping.is_set():
                for step in run.get("/api/operator/steps")["steps"]:
                    rig = rig or Panel(self.rig_panel).login(*OPERATOR)
                    perform(rig, step["action"], step["params"])
                    run.post(f"/api/operator/steps/{step['id']}", {"done": True})
                    self.answered.append(step["action"])
                self.stopping.wait(0.2)  # a poll's pace, not a synchronisation
        except BaseException as exc:  # noqa: BLE001 - shown by the test
            self.error = exc


def _run_against_our_charger(
    tmp_path: Path, cases: list[str], double: dict | None, by_panel: bool = False
) -> dict:
    """``by_panel``: ``--interactive``, the steps answered in the run's panel by
    :class:`PanelOperator`; else the operator hook."""
    run_base, up_base = free_block(SPAN), free_block(SPAN)
    while abs(run_base - up_base) < 40:
        up_base = free_block(SPAN)
    up_state, lab_state = tmp_path / "charger", tmp_path / "lab"
    _add_operator(up_state)
    rig_panel = f"http://127.0.0.1:{up_base + 4}"
    if by_panel:
        _add_operator(lab_state)
        operator = ["--interactive", "--operator-timeout", "300"]
    else:
        hook = f"{sys.executable} -m bench.rig.panel_hook --panel {rig_panel} --user {OPERATOR[0]}"
        operator = ["--operator-hook", hook]
    results = tmp_path / "results.json"
    password_file = tmp_path / "dut-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    env = {**os.environ, "BENCH_PANEL_PASSWORD": OPERATOR[1]}
    env.pop("BENCH_DUT_PASSWORD", None)
    run = subprocess.Popen(
        [*BENCH, "run", *cases, "--dut", "external", "--dut-cp-id", CP_ID]
        + ["--dut-password-file", str(password_file), *operator, "--dut-wait", "90"]
        + ["--port-base", str(run_base), "--state-dir", str(lab_state)]
        + ["--json", str(results)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    up = None
    answerer = None
    try:
        banner = _read_until(run, "server CA:", 60)
        if by_panel:
            run_panel = f"http://127.0.0.1:{run_base + 4}/"
            assert f"operator panel: {run_panel}" in banner, banner
            answerer = PanelOperator(run_panel, rig_panel)
            answerer.thread.start()
        proxy_url = next(x.split()[-1] for x in banner.splitlines() if "/ocpp/" in x)
        assert proxy_url == f"wss://127.0.0.1:{run_base + 6}/ocpp/{CP_ID}", banner
        ca = banner.rsplit("server CA:", 1)[1].strip()
        extra = []
        if double is not None:
            quirks = tmp_path / "quirks.json"
            quirks.write_text(json.dumps(double))
            extra = ["--double", str(quirks)]
        up = subprocess.Popen(
            [*BENCH, "up", "--csms", proxy_url.rsplit("/", 1)[0], "--cp-id", CP_ID]
            + ["--ca", ca, "--port-base", str(up_base)]
            + ["--state-dir", str(up_state), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "BENCH_CP_PASSWORD": PASSWORD},  # not in its argv
        )
        out, _ = run.communicate(timeout=900)
    finally:
        if answerer is not None:
            answerer.stopping.set()
            answerer.thread.join(60)
        if run.poll() is None:
            run.kill()
            run.wait()
        if up is not None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
    document = json.loads(results.read_text())
    document["console"] = banner + out
    # given by file to one end and by the environment to the other, shown nowhere
    assert PASSWORD not in document["console"] and PASSWORD not in results.read_text()
    assert f"Basic auth:   user {CP_ID}, the password given" in banner, banner
    if answerer is not None:
        document["answered"] = answerer.answered
        # the run's panel closes with the run, maybe under a poll: shown if a case failed
        document["console"] += f"\nthe panel operator's last error: {answerer.error!r}"
    return document


def test_core_cases_pass_against_a_charge_point_the_bench_did_not_start(tmp_path):
    document = _run_against_our_charger(tmp_path, CASES, None)
    verdicts = {c["id"]: (c["verdict"], c["details"].get("message")) for c in document["cases"]}
    assert verdicts == {case: ("pass", None) for case in CASES}, document["console"]
    assert "connected through the link proxy" in document["console"]
    assert document["run"]["dut"]["kind"] == "external"
    steps = [s["text"] for c in document["cases"] for s in c["steps"]]
    assert any("cut the link" in s for s in steps)  # the bench cut its own proxy
    assert any("power loss" in s for s in steps)  # the operator cut the power


def test_the_same_cases_fail_against_a_misbehaving_charge_point(tmp_path):
    double = {"status_override": {"Charging": "SuspendedEV"}}
    document = _run_against_our_charger(tmp_path, DOUBLE_CASES, double)
    for case in document["cases"]:
        assert case["verdict"] == "fail", (case["id"], document["console"])
        assert "Charging" in case["details"]["message"], case["details"]["message"]


def test_an_interactive_run_is_answered_in_its_panel(tmp_path):
    document = _run_against_our_charger(tmp_path, ["TC_012_CS"], None, by_panel=True)
    [case] = document["cases"]
    assert (case["verdict"], case["details"].get("message")) == ("pass", None), document["console"]
    assert document["answered"][:1] == ["plug"] and "unplug" in document["answered"]
    assert "done (olga in the panel)" in document["console"]
