"""What a user types: `bench run`, `bench scenarios`, `bench up`, as real processes."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bench.ports import SPAN
from tests.ports import free_block, free_port

pytestmark = pytest.mark.e2e
BENCH = [sys.executable, "-m", "bench.cli"]
SESSIONS = ["local-rfid-session", "remote-session", "both-connectors", "power-loss"]


def test_the_four_sessions_pass_from_the_command_line(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [*BENCH, "run", *SESSIONS, "--json", str(out), "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = json.loads(out.read_text())["cases"]
    assert [c["id"] for c in cases] == SESSIONS
    for case in cases:
        assert set(case) >= {"id", "verdict", "duration_s", "details"}
        assert case["verdict"] == "pass", case
        energies = {k: v for k, v in case["details"].items() if k.startswith("energy_wh")}
        assert energies and all(v > 0 for v in energies.values())
        for key, energy in energies.items():
            assert energy == case["details"][key.replace("energy_wh", "meter_delta_wh")]
    assert cases[3]["details"]["stop_reason"] == "PowerLoss"
    # per scenario: transaction id, energy and meter delta on the console
    assert proc.stdout.count("meter delta") == 5, proc.stdout
    assert "4 passed, 0 failed" in proc.stdout
    # a case keeps its number from start to verdict; the finished count runs 1..4
    verdicts = [line for line in proc.stdout.splitlines() if ": PASS in " in line]
    for number, case in enumerate(SESSIONS, 1):
        assert f"#{number}/4 {case}: started" in proc.stdout
        assert any(line.startswith(f"#{number}/4 {case}: PASS") for line in verdicts)
    assert [int(line.split("[", 1)[1].split("/")[0]) for line in verdicts] == [1, 2, 3, 4]
    assert "left]" in verdicts[0] and "left]" not in verdicts[-1]  # an estimate until the end
    # no library noise (pymodbus, hex dumps): it is in the run's log file
    assert proc.stderr == "", proc.stderr
    log_line = next(line for line in proc.stdout.splitlines() if line.startswith("log: "))
    assert Path(log_line[5:]).is_file()


def test_unknown_scenario_is_refused_and_the_list_names_the_four():
    proc = subprocess.run([*BENCH, "run", "no-such-case"], capture_output=True, text=True)
    assert proc.returncode == 2 and "no-such-case" in proc.stderr
    listing = subprocess.run([*BENCH, "scenarios"], capture_output=True, text=True, check=True)
    for case in SESSIONS:
        assert case in listing.stdout


def test_bench_up_prints_where_things_run_refuses_a_wrong_password_and_stops_on_ctrl_c(
    tmp_path,
):
    port = free_block(SPAN)  # --port derives the other listeners from it
    state = tmp_path / "state"
    proc = subprocess.Popen(
        # a free panel port, not the default 8080: other tests run bench up at the same time
        [*BENCH, "up", "--state-dir", str(state), "--port", str(port)]
        + ["--panel-port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert f"wss://127.0.0.1:{port}/ocpp/BENCH-CP-001" in text, text
        assert str(state) in text
        creds = json.loads((state / "charge-point.json").read_text())
        assert oct((state / "charge-point.json").stat().st_mode & 0o777) == "0o600"
        # the CSMS keeps only a hash of the password
        assert creds["password"].encode() not in (state / "csms" / "csms.sqlite").read_bytes()

        context = ssl.create_default_context(cafile=str(state / "pki" / "ca.pem"))
        url = f"wss://127.0.0.1:{port}/ocpp/BENCH-CP-001"
        with pytest.raises(InvalidStatus) as refused:
            connect(
                url,
                ssl=context,
                subprotocols=["ocpp1.6"],
                additional_headers={"Authorization": "Basic QkVOQ0gtQ1AtMDAxOndyb25n"},
            )
        assert refused.value.response.status_code == 401

        # the agent connects and stays connected: its log says boot accepted
        agent_log = state / "agent" / "agent.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if agent_log.exists() and "boot accepted" in agent_log.read_text():
                break
            time.sleep(0.2)
        assert "boot accepted" in agent_log.read_text()

        # the panel answers; its access lines go to the log file, not the console
        panel = next(x for x in lines if x.startswith("panel")).split()[1]
        with urllib.request.urlopen(panel + "login", timeout=10, context=_trust(state)) as page:
            assert page.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, rest
    assert "stopping" in rest
    # the console shows what a person acts on; library records go to the log file
    assert "werkzeug" not in text + rest and "pymodbus" not in text + rest
    assert "GET /login" not in text + rest
    assert "GET /login" in (state / "logs" / "bench.log").read_text()
    pid = int(next(x for x in lines if x.startswith("agent pid")).split()[-1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the agent went down with the bench


def _trust(state: Path) -> ssl.SSLContext:
    """The panel serves HTTPS with the bench's CA when asked to; plain HTTP otherwise."""
    return ssl.create_default_context(cafile=str(state / "pki" / "ca.pem"))


def test_a_second_bench_up_reuses_the_generated_credentials(tmp_path):
    from bench.statedir import StateDir

    state = StateDir(Path(tmp_path))
    assert state.credentials() == state.credentials()
