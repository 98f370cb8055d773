"""`bench up --rig` on a machine without the parts: each missing part is one console line
with its fix within seconds, the connectors go Faulted, nothing crash-loops."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.ports import SPAN
from tests.ports import free_block, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "-m", "bench.cli"]


def test_missing_parts_are_named_on_the_console_and_fault_their_connectors(tmp_path):
    rig = tmp_path / "rig.toml"
    rig.write_text(
        (ROOT / "wiring" / "rig.example.toml")
        .read_text()
        .replace("/dev/ttyUSB0", str(tmp_path / "ttyUSB0"))
        .replace("/dev/ttyAMA0", str(tmp_path / "ttyAMA0"))
    )
    state = tmp_path / "state"
    port = free_block(SPAN)  # --port derives the other listeners from it
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
            str(free_port()),
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
        while time.monotonic() - began < 40 and {c for c, _ in faulted} != {0, 1, 2}:
            time.sleep(0.5)
            with sqlite3.connect(csms) as db:
                faulted = set(
                    db.execute(
                        "SELECT connector_id, error_code FROM status_notifications "
                        "WHERE status = 'Faulted'"
                    ).fetchall()
                )
        assert {c for c, _ in faulted} == {0, 1, 2}, faulted
        assert (0, "ReaderFailure") in faulted  # the station: its reader is missing
        assert {code for c, code in faulted if c} <= {"PowerMeterFailure", "InternalError"}
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
        proc.stdout.close()
    assert proc.returncode == 0, "".join(lines)


def run_with_twins(tmp_path, spoil):
    """Twins for every part, ``spoil(cfg)`` breaks one; the agent's statuses at the CSMS
    once one is Faulted, and the console lines the bench heard."""
    import asyncio

    from bench.rig.sim import SimRig
    from bench.statedir import StateDir
    from bench.system import BenchSystem
    from charger.clock import Clock

    async def main():
        clock = Clock.start()
        rig = SimRig(tmp_path / "twins", clock)
        cfg = spoil(await rig.start())
        system = BenchSystem(StateDir(tmp_path / "state"), clock=clock, hardware=cfg)
        heard = []
        system.health_listeners.append(heard.append)
        await system.start()
        try:
            for _ in range(200):
                await asyncio.sleep(0.1)
                history = system.csms.store.status_history(system.cp_id)
                if any(h["status"] == "Faulted" for h in history) and heard:
                    break
            assert system.agent_crashes == 0
        finally:
            await system.stop()
            await rig.stop()
        return history, heard

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_a_pilot_that_cannot_be_opened_faults_its_connector_and_nothing_else(tmp_path):
    import dataclasses

    def spoil(cfg):  # connector 1's pilot names a pin factory that is not there
        first = cfg.connectors[0]
        pilot = dataclasses.replace(first.pilot, pin_factory="no-such-factory")
        spoiled = dataclasses.replace(first, pilot=pilot)
        return dataclasses.replace(cfg, connectors=[spoiled, *cfg.connectors[1:]])

    history, heard = run_with_twins(tmp_path, spoil)
    faulted = [h for h in history if h["status"] == "Faulted"]
    assert [(h["connector_id"], h["error_code"]) for h in faulted] == [(1, "InternalError")]
    assert faulted[0]["info"].startswith("pilot 1: no gpiozero pin factory named 'no-such-fa")
    assert len(faulted[0]["info"]) <= 50
    assert not any(h["connector_id"] == 2 and h["status"] == "Faulted" for h in history)
    assert [p.part for p in heard] == ["pilot 1"]
    assert "no-such-factory" in heard[0].problem and heard[0].fix


def test_a_reader_that_cannot_be_opened_faults_the_station_with_reader_failure(tmp_path):
    import dataclasses

    def spoil(cfg):
        return dataclasses.replace(
            cfg, rfid=dataclasses.replace(cfg.rfid, device=str(tmp_path / "ttyNOPE"))
        )

    history, heard = run_with_twins(tmp_path, spoil)
    faulted = [h for h in history if h["status"] == "Faulted"]
    assert [(h["connector_id"], h["error_code"]) for h in faulted] == [(0, "ReaderFailure")]
    assert faulted[0]["info"] == "rfid: device missing"
    assert [p.part for p in heard] == ["rfid"] and heard[0].error_code == "ReaderFailure"
