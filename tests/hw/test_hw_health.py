"""A part that cannot be opened is named, with the fix, and picked up when it returns;
nothing raises out of ``open_hardware`` or ``power.start()``."""

import asyncio
import errno
import json
import time

import pytest

from bench.twins.can import CanBusServer, PowerStageTwin
from bench.twins.meter import MeterTwin
from bench.twins.pilot import WireEv
from charger.hw.can.driver import CanPowerStage
from charger.hw.config import CanConfig, HardwareConfig, MeterConfig, PilotConfig
from charger.hw.health import HealthBoard, diagnose, read_health
from charger.hw.interfaces import HardwareError, MeterError
from charger.hw.meter.driver import ModbusMeter
from charger.hw.pilot import driver as pilot_driver
from charger.hw.pilot.driver import LazyPilot


def test_diagnosis_names_the_fix_for_each_usual_failure():
    cases = [
        ("serial", OSError(errno.ENOENT, "No such file or directory"), "device missing", "rig"),
        ("serial", OSError(errno.EACCES, "Permission denied"), "permission", "dialout"),
        ("can", OSError(errno.EAFNOSUPPORT, "Address family"), "SocketCAN", "overlay"),
        ("can", OSError(errno.ENODEV, "No such device"), "no CAN interface can0", "mcp2515"),
        ("can", OSError(errno.ENETDOWN, "down"), "is down", "ip link set can0 up"),
        ("can", HardwareError("can0 runs at bitrate 125000"), "bitrate", "bitrate"),
        ("gpio", HardwareError("gpiozero pin factory 'x' cannot load"), "pin factory", "[pi]"),
        ("modbus", MeterError("no valid answer"), "no valid answer", "unit id"),
        (
            "gpio",
            HardwareError("pilot on GPIO12: Need to add 'dtoverlay=pwm-2chan' to /boot/config.txt"),
            "no hardware PWM",
            'pin_factory = "lgpio"',
        ),
    ]
    for kind, exc, problem, fix in cases:
        got_problem, got_fix = diagnose(kind, "socketcan:can0", exc)
        assert problem in got_problem and fix in got_fix, (kind, exc, got_problem, got_fix)


def test_board_writes_one_entry_per_part_and_only_changes(tmp_path):
    path = tmp_path / "health.json"
    board = HealthBoard(path)
    err = OSError(errno.ENOENT, "No such file or directory")
    board.failed("rfid", "/dev/ttyAMA0", "serial", err, error_code="ReaderFailure")
    first = path.stat().st_mtime_ns
    board.failed("rfid", "/dev/ttyAMA0", "serial", err, error_code="ReaderFailure")
    assert path.stat().st_mtime_ns == first  # a retry that fails the same way is no news
    board.ok("meter 1", "tcp:127.0.0.1:502#1", (1,))
    parts = {p.part: p for p in read_health(path)}
    assert not parts["rfid"].ok and parts["rfid"].error_code == "ReaderFailure"
    assert parts["meter 1"].ok and parts["meter 1"].connectors == (1,)
    assert json.loads(path.read_text())["parts"][0]["fix"]


def test_a_pilot_that_cannot_open_faults_its_connector_and_recovers(tmp_path, monkeypatch):
    monkeypatch.setattr(pilot_driver, "RETRY_S", 0.05)
    wire_path = tmp_path / "pilot.wire"
    wire_path.write_bytes(b"JUNK" * 64)  # not a wire file: the board cannot load
    cfg = PilotConfig(
        backend="sim", pwm_pin=12, cp_channel=0, pp_channel=1, wire_file=str(wire_path)
    )
    health = HealthBoard()
    pilot = LazyPilot(cfg, "CCS2", 1, health)
    pilot.open()
    status = health.get("pilot 1")
    assert not status.ok and "pin factory" in status.problem
    assert health.fault_of(1) == status and status.error_code == "InternalError"
    with pytest.raises(HardwareError, match="pilot 1"):
        pilot.cp()
    wire_path.unlink()
    ev = WireEv(wire_path)  # the board is back
    try:
        ev.set_ev(0, "unplugged", None)
        time.sleep(0.06)
        assert pilot.cp().state == "A"
        assert health.get("pilot 1").ok and health.fault_of(1) is None
    finally:
        pilot.close()
        ev.close()


def test_a_missing_can_bus_is_reported_then_picked_up():
    async def main():
        server = CanBusServer().start()
        url = server.url
        server.close()  # nobody serves the bus yet
        health = HealthBoard()
        stage = CanPowerStage(CanConfig(interface="remote", channel=url), [1], health=health)
        await stage.start()  # does not raise
        try:
            status = health.get("power stage")
            assert status is not None and not status.ok
            assert status.connectors == (1,) and status.error_code == "InternalError"
            await stage.set_contactors(1, False)  # a known-down bus drops commands quietly
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            server = CanBusServer(port=port).start()
            twin = PowerStageTwin(server.open_bus(), [1]).start()
            try:
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if health.get("power stage").ok:
                        break
                assert health.get("power stage").ok
                assert stage.age_s(1) < 1.0
            finally:
                twin.close()
                server.close()
        finally:
            await stage.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_power_stage_that_stays_silent_is_reported():
    async def main():
        server = CanBusServer().start()
        health = HealthBoard()
        stage = CanPowerStage(
            CanConfig(interface="remote", channel=server.url), [1, 2], health=health
        )
        await stage.start()
        try:
            for _ in range(200):
                await asyncio.sleep(0.05)
                status = health.get("power stage")
                if status is not None and not status.ok:
                    break
            assert "no status frame" in status.problem and "bitrate" not in status.problem
        finally:
            await stage.close()
            server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_meter_that_goes_away_is_reported_after_two_failures(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "m.json")
        await twin.start()
        health = HealthBoard()
        cfg = MeterConfig(transport="tcp", port=twin.port, timeout_s=0.2)
        meter = ModbusMeter(cfg, health=health, connector=2)
        await meter.read()
        assert health.get("meter 2").ok
        twin.set_fault("timeout")
        with pytest.raises(MeterError):
            await meter.read()
        assert health.get("meter 2").ok  # one lost answer is not news
        with pytest.raises(MeterError):
            await meter.read()
        status = health.get("meter 2")
        assert not status.ok and status.error_code == "PowerMeterFailure"
        assert health.fault_of(2) == status
        twin.set_fault(None)
        await meter.read()
        assert health.get("meter 2").ok
        await meter.close()
        await twin.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_open_hardware_never_raises_for_missing_parts(tmp_path):
    from charger.hw.factory import close_hardware, open_hardware

    cfg = HardwareConfig.from_dict(
        {
            "connectors": [
                {
                    "id": 1,
                    "standard": "CCS2",
                    "meter": {"transport": "rtu", "device": str(tmp_path / "ttyUSB0")},
                    "pilot": {
                        "backend": "gpio",
                        "pwm_pin": 12,
                        "cp_channel": 0,
                        "pp_channel": 1,
                        "pin_factory": "no-such-factory",
                    },
                }
            ],
            "can": {"interface": "socketcan", "channel": "can9"},
            "rfid": {"device": str(tmp_path / "ttyAMA0")},
        }
    )
    health = HealthBoard()

    async def main():
        hw = open_hardware(cfg, health)
        await hw.power.start()
        hw.rfid.start(lambda e: None)
        with pytest.raises(MeterError):
            await hw.connectors[1].meter.read()
        await asyncio.sleep(0.3)
        await close_hardware(hw)

    asyncio.run(asyncio.wait_for(main(), 30))
    parts = {p.part: p for p in health.parts()}
    assert set(parts) == {"pilot 1", "power stage", "rfid", "meter 1"}
    assert not any(p.ok for p in parts.values())
    assert "no-such-factory" in parts["pilot 1"].problem
    assert parts["rfid"].problem == "device missing"
    assert parts["meter 1"].problem == "RS-485 adapter missing"
    assert parts["meter 1"].error_code == "PowerMeterFailure"
