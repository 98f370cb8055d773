"""The panel's rig view learns which parts the agent cannot open, with the fix."""

import time

from charger.hw.health import PartStatus


def test_snapshot_names_each_failed_part_with_its_fix(system, bench_api):
    system.hardware_health = lambda: [
        PartStatus("meter 1", "acrel-djsf1352-rn rtu:/dev/ttyUSB0#1", True, connectors=(1,)),
        PartStatus(
            "rfid",
            "/dev/ttyAMA0",
            False,
            "device missing",
            "plug the adapter in or fix `device` in the rig file",
            "ReaderFailure",
        ),
    ]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not bench_api.snapshot().get("parts"):
        time.sleep(0.02)
    snap = bench_api.snapshot()
    assert [p["part"] for p in snap["parts"]] == ["meter 1", "rfid"]
    assert snap["parts"][1]["ok"] is False and snap["parts"][1]["error_code"] == "ReaderFailure"
    assert snap["rig_error"] == (
        "rfid (/dev/ttyAMA0): device missing -> plug the adapter in or fix `device` in the rig file"
    )


def test_no_parts_reported_no_error(system, bench_api):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "parts" not in bench_api.snapshot():
        time.sleep(0.02)
    snap = bench_api.snapshot()
    assert snap["parts"] == [] and snap["rig_error"] is None
