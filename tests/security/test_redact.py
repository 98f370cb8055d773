"""Credentials never reach what the bench shows or stores: the panel's trace (and its
JSON-lines download), reports, the CSMS's operations log, the debug log of a handshake."""

import asyncio
import base64
import json
import logging

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from bench.cli.logs import setup
from bench.csms.trace import FrameTrace
from bench.security.redact import redact
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock

SECRET = "s3cr3t-FTP-pass"
LOCATION = f"ftp://bench-1a2b3c:{SECRET}@127.0.0.1:2121/firmware/fw.bin"


def test_redact_masks_url_passwords_and_the_authorization_key():
    payload = {
        "location": LOCATION,
        "log": {"remoteLocation": f"sftp://u:{SECRET}@host/logs/"},
        "key": "AuthorizationKey",
        "value": "0123456789abcdef0123",
    }
    shown = redact(payload)
    assert SECRET not in json.dumps(shown) and "0123456789abcdef0123" not in json.dumps(shown)
    assert shown["location"] == "ftp://bench-1a2b3c:***@127.0.0.1:2121/firmware/fw.bin"
    assert redact({"key": "HeartbeatInterval", "value": "60"})["value"] == "60"
    assert payload["location"] == LOCATION  # the wire copy is untouched


def test_the_bench_trace_the_panel_serves_has_no_ftp_password(tmp_path):
    system = BenchSystem(StateDir(tmp_path))
    frames = FrameTrace(Clock.start(), tmp_path / "csms")
    frames.add_listener(system.dut_trace.csms_entry)  # what start_csms wires up
    for action, payload in (
        ("UpdateFirmware", {"location": LOCATION, "retrieveDate": "2030-01-01T00:00:00Z"}),
        ("GetDiagnostics", {"location": LOCATION}),
        ("GetLog", {"logType": "SecurityLog", "requestId": 1, "log": {"remoteLocation": LOCATION}}),
        ("SignedUpdateFirmware", {"requestId": 2, "firmware": {"location": LOCATION}}),
        ("ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET + "-key"}),
    ):
        frames.record("CP", "out", action, 2, "uid", payload, 0.0)
    text = json.dumps(list(system.trace))
    assert SECRET not in text
    assert text.count(":***@") == 4
    assert frames.entries[0]["payload"]["location"] == LOCATION  # the CSMS itself keeps it
    system.trace.close()
    frames.close()
    files = [*(tmp_path / "csms").glob("trace*.jsonl"), *tmp_path.glob("logs/ocpp-trace*.jsonl")]
    on_disk = "".join(f.read_text() for f in files)
    assert len(files) == 2 and on_disk.count("UpdateFirmware") == 4  # both logs, on disk
    assert SECRET not in on_disk


def test_a_basic_auth_handshake_logged_at_debug_level_keeps_no_password(tmp_path):
    """``-vv``: websockets logs both ends' handshake headers; the Authorization value is
    masked in the log file and on the console."""
    password = "vaulted-cp-pass-7781"
    token = base64.b64encode(f"CP-1:{password}".encode()).decode()
    log_file = tmp_path / "bench.log"
    setup(2, log_file)

    async def handshake() -> None:
        async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            headers = {"Authorization": f"Basic {token}"}
            async with connect(f"ws://127.0.0.1:{port}/CP-1", additional_headers=headers):
                pass

    try:
        asyncio.run(handshake())
    finally:
        setup(0)  # the file handler closed, the console as a test run has it
        logging.getLogger().setLevel(logging.WARNING)
    text = log_file.read_text()
    assert "> Authorization: ***" in text and "< Authorization: ***" in text, text
    assert token not in text and password not in text
