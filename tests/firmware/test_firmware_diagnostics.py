"""GetDiagnostics: the log window, the summary, no secrets, the upload and its statuses."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from datetime import UTC, datetime

from charger.agent.features.diagnostics import (
    line_time,
    lines_in_window,
    log_formatter,
    redact,
)
from charger.clock import Clock

LOG = """\
2025-03-01T10:00:00.000Z INFO charger.agent: booting
2025-03-01T10:05:00.000Z INFO charger.agent: boot accepted; heartbeat every 60 s
2025-03-01T10:10:00.000Z ERROR charger.agent: CSMS session failed
Traceback (most recent call last):
  File "runtime.py", line 1, in <module>
ValueError: boom
2025-03-01T10:15:00.000Z INFO charger.agent: key is {auth_key}
2025-03-01T10:16:00.000Z INFO charger.agent: provisioned with {password}
2025-03-01T10:17:00.000Z INFO charger.agent.features.firmware: from ftp://charger:hunter2@127.0.0.1:21/fw
2025-03-01T10:18:00.000Z INFO charger.agent: header Authorization: Basic QkVOQ0g6c2VjcmV0cGFzcw==
2025-03-01T10:30:00.000Z INFO charger.agent: after the window
"""


async def eventually(predicate, timeout: float = 15.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)


def write_log(charger) -> None:
    from pathlib import Path

    text = LOG.format(
        auth_key=charger.config.values["AuthorizationKey"],
        password=charger.settings.initial_password,
    )
    (Path(charger.settings.state_dir) / "agent.log").write_text(text)


def test_upload_with_the_window_respected_and_no_secret(ftp, charger_factory):
    async def scenario():
        charger = charger_factory()
        write_log(charger)
        name = charger.diagnostics.get_diagnostics(
            ftp.url("diagnostics/"),
            retries=1,
            retry_interval=1,
            start_time="2025-03-01T10:05:00Z",
            stop_time="2025-03-01T10:20:00.000Z",
        )
        assert name.startswith("diagnostics-BENCH-CP-001-") and name.endswith(".zip")
        assert charger.diagnostics.status() == "Uploading"
        kind = "DiagnosticsStatusNotification"
        await eventually(lambda: "Uploaded" in charger.statuses(kind))
        assert charger.statuses(kind) == ["Uploading", "Uploaded"]
        assert charger.diagnostics.status() == "Idle"
        return name, charger

    name, charger = asyncio.run(scenario())
    uploaded = ftp.root / "diagnostics" / name
    assert uploaded.is_file()
    with zipfile.ZipFile(io.BytesIO(uploaded.read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["agent.log", "summary.json"]
        log_text = archive.read("agent.log").decode()
        summary = json.loads(archive.read("summary.json"))
        everything = log_text + json.dumps(summary)
    lines = log_text.splitlines()
    assert lines[0].startswith("2025-03-01T10:05:00")
    assert "booting" not in log_text and "after the window" not in log_text
    assert "ValueError: boom" in log_text  # the traceback goes with its line
    assert len(lines) == 9
    for secret in (
        charger.config.values["AuthorizationKey"],
        charger.settings.initial_password,
        "hunter2",
        "QkVOQ0g6c2VjcmV0cGFzcw==",
    ):
        assert secret not in everything
    assert "ftp://charger:***@127.0.0.1:21/fw" in log_text
    config = summary["configuration"]
    assert "AuthorizationKey" not in config and "_RebootReason" not in config
    assert config["HeartbeatInterval"] == "60"
    assert summary["chargePointId"] == "BENCH-CP-001"
    assert summary["firmwareVersion"] == "0.1.0"
    assert summary["window"] == {
        "startTime": "2025-03-01T10:05:00.000Z",
        "stopTime": "2025-03-01T10:20:00.000Z",
    }
    assert summary["logLines"] == 9


def test_no_window_takes_the_whole_log(ftp, charger_factory):
    async def scenario():
        charger = charger_factory()
        write_log(charger)
        name = charger.diagnostics.get_diagnostics(ftp.url("diagnostics/"))
        await eventually(lambda: "Uploaded" in charger.statuses("DiagnosticsStatusNotification"))
        return name

    name = asyncio.run(scenario())
    with zipfile.ZipFile(ftp.root / "diagnostics" / name) as archive:
        assert len(archive.read("agent.log").decode().splitlines()) == LOG.count("\n")


def test_upload_failed_when_the_server_refuses(ftp_readonly, charger_factory):
    async def scenario():
        charger = charger_factory()
        write_log(charger)
        charger.diagnostics.get_diagnostics(
            ftp_readonly.url("diagnostics/"), retries=2, retry_interval=2
        )
        kind = "DiagnosticsStatusNotification"
        await eventually(lambda: "UploadFailed" in charger.statuses(kind))
        assert charger.statuses(kind) == ["Uploading", "UploadFailed"]

    asyncio.run(scenario())
    assert ftp_readonly.count("STOR") == 3  # 1 + retries
    assert list((ftp_readonly.root / "diagnostics").iterdir()) == []


def test_upload_failed_when_nothing_listens(charger_factory):
    async def scenario():
        charger = charger_factory()
        charger.diagnostics.get_diagnostics(
            "ftp://u:p@127.0.0.1:1/diagnostics/", retries=0, retry_interval=1
        )
        kind = "DiagnosticsStatusNotification"
        await eventually(lambda: "UploadFailed" in charger.statuses(kind))
        assert charger.statuses(kind) == ["Uploading", "UploadFailed"]

    asyncio.run(scenario())


def test_log_lines_in_logging_default_format_are_local_time():
    stamp = datetime(2025, 3, 1, 10, 0, 0).astimezone()  # local, as asctime writes it
    line = stamp.strftime("%Y-%m-%d %H:%M:%S") + ",250 INFO charger.agent: hello\n"
    assert line_time(line) == stamp.timestamp() + 0.25
    assert line_time("  File 'x', line 1\n") is None
    start = stamp.timestamp()
    assert lines_in_window([line], start, start + 1) == [line]
    assert lines_in_window([line], start + 1, None) == []


def test_the_log_formatter_stamps_simulated_utc_time():
    clock = Clock(origin_wall=1000.0, origin_sim=1_740_823_200.0, speed=4.0)  # 2025-03-01 10:00
    record = logging.LogRecord("charger.agent", logging.INFO, "x", 1, "hello", None, None)
    record.created = 1015.0  # 15 wall seconds later: 60 simulated seconds
    text = log_formatter(clock).format(record)
    assert text == "2025-03-01T10:01:00.000Z INFO charger.agent: hello"
    assert line_time(text) == datetime(2025, 3, 1, 10, 1, tzinfo=UTC).timestamp()


def test_redact():
    assert redact("ftp://a:b@h/x and Basic QUJDREVGR0g=", []) == "ftp://a:***@h/x and Basic ***"
    assert redact("my key abcd1234", ["abcd1234"]) == "my key ***"
