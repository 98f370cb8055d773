"""`bench up --rig` on a machine without the parts: each missing part is one console line
with its fix within seconds, the connectors go Faulted, nothing crash-loops."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "-m", "bench.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_parts_are_named_on_the_console_and_fault_their_connectors(tmp_path):
    rig = tmp_path / "rig.toml"
    rig.write_text(
        (ROOT / "wiring" / "rig.example.toml")
        .read_text()
        .replace("/dev/ttyUSB0", str(tmp_path / "ttyUSB0"))
        .replace("/dev/ttyAMA0", str(tmp_path / "ttyAMA0"))
    )
    state = tmp_path / "state"
    port = _free_port()
    proc = subprocess.Popen(
        [
            *BENCH,
            "up",
            "--rig",
            str(rig),
            "--state-dir",
            str(state),
            "--port",
            str(port),
            "--panel-port",
            str(_free_port()),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        began = time.monotonic()
        wanted = ("pilot 1", "pilot 2", "power stage", "rfid", "meter 1", "meter 2")
        while time.monotonic() - began < 30:
            named = {
                w for w in wanted for line in lines if line.startswith(f"hardware        {w} (")
            }
            if len(named) == len(wanted):
                break
            time.sleep(0.1)
        text = "".join(lines)
        assert len(named) == len(wanted), text
        hardware = [line for line in lines if line.startswith("hardware")]
        rfid = next(line for line in hardware if " rfid (" in line)
        assert f"rfid ({tmp_path}/ttyAMA0): device missing -> plug" in rfid
        assert any("meter 1 (" in line and "RS-485 adapter missing" in line for line in hardware)
        assert any("pilot 1 (charger-pi: GPIO12 + SPI0.1): no GPIO pin factory" in line
                   for line in hardware)  # fmt: skip
        assert all(" -> " in line for line in hardware)  # each with its fix
        csms = state / "csms" / "csms.sqlite"
        faulted: set[tuple[int, str]] = set()
        while time.monotonic() - began < 40 and {c for c, _ in faulted} != {1, 2}:
            time.sleep(0.5)
            with sqlite3.connect(csms) as db:
                faulted = set(
                    db.execute(
                        "SELECT connector_id, error_code FROM status_notifications "
                        "WHERE status = 'Faulted'"
                    ).fetchall()
                )
        assert {c for c, _ in faulted} == {1, 2}, faulted
        assert {code for _, code in faulted} <= {"PowerMeterFailure", "InternalError"}
        time.sleep(2)  # long enough for a crash loop to show
        assert "exited by itself" not in "".join(lines)
        assert (
            not (state / "logs" / "bench.log").exists()
            or "exited by itself" not in (state / "logs" / "bench.log").read_text()
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
    assert proc.returncode == 0, "".join(lines)
