"""Our charger at a Central System that is not the bench's: ``bench up --csms URL``.

The Central System here is written for the test with the stock ``ocpp`` package
(tests/e2e/minimal_csms.py), sharing nothing with ``bench/csms``. The rig is driven
the way a user drives it, through the panel (``bench.rig.panel_hook``'s client).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ocpp.v16 import call

from bench.ports import SPAN
from bench.rig.panel_hook import Panel, perform
from bench.security.pki import ensure_pki, server_ssl_context
from tests.e2e.minimal_csms import MinimalCsms
from tests.ports import free_block

pytestmark = pytest.mark.e2e
BENCH = [sys.executable, "-m", "bench.cli"]
CP_ID = "OUR-DC-7"
PASSWORD = "elsewhere-pass-0123"
TAG = "0A00B1C2D3"
OPERATOR = ("olga", "operator-pass-1")


def _listening_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state owned by process ``pid`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _start_bench_up(args: list[str], state: Path) -> tuple[subprocess.Popen, str]:
    subprocess.run(
        [
            *BENCH,
            "user",
            "add",
            OPERATOR[0],
            "--role",
            "operator",
            "--state-dir",
            str(state),
            "--password-stdin",
        ],
        input=OPERATOR[1] + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [*BENCH, "up", "--state-dir", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            return proc, "".join(lines)
    proc.kill()
    raise AssertionError("bench up did not come up:\n" + "".join(lines))


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    return rest


def test_bench_up_port_base_uses_only_its_range_and_lists_every_listener(tmp_path):
    base = free_block(SPAN)
    proc, text = _start_bench_up(["--port-base", str(base)], tmp_path / "state")
    try:
        listening = _listening_ports(proc.pid)
        assert listening, text
        assert all(base <= p < base + SPAN for p in listening), (sorted(listening), text)
        for port in listening:  # every listener is on the console
            assert f":{port}" in text, (port, text)
        # FTP runs from the start (control port printed, passive range given)
        assert f"ftp://127.0.0.1:{base + 5}/" in text and "passive" in text
    finally:
        _stop(proc)
    assert proc.returncode == 0


def test_bench_up_with_a_bad_csms_url_says_so_in_one_line(tmp_path):
    proc = subprocess.run(
        [*BENCH, "up", "--state-dir", str(tmp_path), "--csms", "https://x/ocpp", "--cp-id", "A"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "ws://" in proc.stderr, proc.stderr
    proc = subprocess.run(
        [*BENCH, "up", "--state-dir", str(tmp_path), "--csms", "wss://h:1/ocpp", "--cp-id", "A"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "--password" in proc.stderr, proc.stderr


def test_our_charger_boots_charges_and_answers_remote_operations_at_another_csms(tmp_path):
    pki = ensure_pki(tmp_path / "their-pki")  # their server certificate, their CA
    state = tmp_path / "state"
    password_file = tmp_path / "cp-password"  # as the fleet's Ansible role writes it
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)

    async def main() -> None:
        context = server_ssl_context(pki.server_cert, pki.server_key)
        async with MinimalCsms(CP_ID, PASSWORD, context) as csms:
            args = [
                "--csms", csms.url, "--cp-id", CP_ID, "--password-file", str(password_file),
                "--ca", str(pki.ca_cert), "--port-base", str(free_block(SPAN)),
            ]  # fmt: skip
            proc, text = await asyncio.to_thread(_start_bench_up, args, state)
            try:
                assert f"{csms.url}/{CP_ID}" in text and "security profile 2" in text, text
                panel_url = next(x for x in text.splitlines() if x.startswith("panel")).split()[1]
                await _drive(csms, panel_url)
            finally:
                rest = await asyncio.to_thread(_stop, proc)
            assert proc.returncode == 0, rest
            # the password went from the file to the wire only
            assert "warning" not in text and PASSWORD not in text + rest
            assert PASSWORD not in (state / "logs" / "bench.log").read_text()

    asyncio.run(main())


async def _drive(csms: MinimalCsms, panel_url: str) -> None:
    boot = await csms.wait_for("BootNotification", 60)
    assert boot["charge_point_model"]
    await csms.wait_for("StatusNotification", 30, connector_id=1, status="Available")
    panel = await asyncio.to_thread(Panel(panel_url).login, *OPERATOR)

    async def hands(action: str, **params: object) -> object:
        return await asyncio.to_thread(perform, panel, action, params)

    # a local session: plug in and present a card at the panel
    mark = len(csms.received)
    await hands("plug", connector=1)
    await csms.wait_for("StatusNotification", 30, mark, connector_id=1, status="Preparing")
    await hands("present_card", id_tag=TAG)
    await csms.wait_for("Authorize", 30, mark, id_tag=TAG)
    start = await csms.wait_for("StartTransaction", 30, mark, connector_id=1, id_tag=TAG)
    await csms.wait_for("StatusNotification", 60, mark, connector_id=1, status="Charging")
    await csms.wait_for("MeterValues", 60, mark, connector_id=1)
    reading = await hands("measure", connector=1)
    assert reading["power_w"] > 1000, reading  # energy flows on the rig

    # remote operations from their Central System
    station = csms.station
    assert station is not None
    config = await station.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert config.configuration_key[0]["key"] == "HeartbeatInterval"
    changed = await station.call(
        call.ChangeConfiguration(key="MeterValueSampleInterval", value="10")
    )
    assert changed.status == "Accepted"
    tx_id = start["given_id"]
    mark = len(csms.received)
    stopped = await station.call(call.RemoteStopTransaction(transaction_id=tx_id))
    assert stopped.status == "Accepted"
    stop = await csms.wait_for("StopTransaction", 30, mark, transaction_id=tx_id)
    assert stop["reason"] == "Remote" and stop["meter_stop"] > start["meter_start"]
    await hands("unplug", connector=1)
    await csms.wait_for("StatusNotification", 30, mark, connector_id=1, status="Available")

    # a remote start on connector 2, then a soft reset that ends it and reboots
    mark = len(csms.received)
    await hands("plug", connector=2)
    started = await station.call(call.RemoteStartTransaction(id_tag=TAG, connector_id=2))
    assert started.status == "Accepted"
    await csms.wait_for("StartTransaction", 30, mark, connector_id=2, id_tag=TAG)
    await csms.wait_for("StatusNotification", 60, mark, connector_id=2, status="Charging")
    mark = len(csms.received)
    reset = await station.call(call.Reset(type="Soft"))
    assert reset.status == "Accepted"
    stop = await csms.wait_for("StopTransaction", 30, mark)
    assert stop["reason"] == "SoftReset"
    await csms.wait_for("BootNotification", 60, mark)
    assert csms.connections >= 2
