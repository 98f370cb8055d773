"""SocketCAN checked before opening: missing, down, another bitrate, bus-off; and the
copper tests of the Pi's own parts (``--rig``)."""

import asyncio
import errno
import json
import os
import subprocess
from types import SimpleNamespace

import pytest

from charger.hw.can import driver
from charger.hw.can.driver import check_socketcan
from charger.hw.config import CanConfig
from charger.hw.health import HealthBoard
from charger.hw.interfaces import HardwareError


def ip_says(monkeypatch, returncode=0, flags=("UP",), bitrate=500000, state="ERROR-ACTIVE"):
    link = {
        "ifname": "can0",
        "flags": list(flags),
        "linkinfo": {"info_data": {"state": state, "bittiming": {"bitrate": bitrate}}},
    }
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return SimpleNamespace(returncode=returncode, stdout=json.dumps([link]), stderr="")

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_a_healthy_interface_passes(monkeypatch):
    calls = ip_says(monkeypatch)
    check_socketcan("can0", 500000)
    assert calls == [["ip", "-details", "-json", "link", "show", "can0"]]


def test_a_missing_interface_is_enodev(monkeypatch):
    ip_says(monkeypatch, returncode=1)
    with pytest.raises(OSError) as raised:
        check_socketcan("can0", 500000)
    assert raised.value.errno == errno.ENODEV


def test_a_down_interface_is_enetdown(monkeypatch):
    ip_says(monkeypatch, flags=("NOARP", "ECHO"))
    with pytest.raises(OSError) as raised:
        check_socketcan("can0", 500000)
    assert raised.value.errno == errno.ENETDOWN


def test_another_bitrate_is_named(monkeypatch):
    ip_says(monkeypatch, bitrate=125000)
    with pytest.raises(
        HardwareError, match="can0 runs at bitrate 125000, the rig file says 500000"
    ):
        check_socketcan("can0", 500000)


def test_bus_off_is_named(monkeypatch):
    ip_says(monkeypatch, state="BUS_OFF")
    with pytest.raises(HardwareError, match="bus-off"):
        check_socketcan("can0", 500000)


def test_the_power_stage_reports_a_wrong_bitrate_with_its_fix(monkeypatch):
    ip_says(monkeypatch, bitrate=125000)
    health = HealthBoard()

    async def main():
        stage = driver.CanPowerStage(
            CanConfig(interface="socketcan", channel="can0"), [1], health=health
        )
        await stage.start()  # reported, not raised
        await stage.close()

    asyncio.run(main())
    status = health.get("power stage")
    assert not status.ok and "bitrate 125000" in status.problem
    assert "bitrate" in status.fix and status.where == "socketcan:can0"


RIG_FILE = os.environ.get("BENCH_RIG_FILE", "/etc/ocpp-bench/rig.toml")


@pytest.mark.rig
def test_every_part_of_the_copper_rig_passes_its_selftest():
    from bench.rigfile import RigFile
    from charger.hw.selftest import run_selftest

    rig = RigFile.load(RIG_FILE)
    results = asyncio.run(run_selftest(rig.hardware))
    assert [r.line() for r in results if not r.ok] == []


@pytest.mark.rig
def test_the_pi_factory_gives_the_cp_pins_hardware_pwm():
    from gpiozero import PWMOutputDevice

    from charger.hw.pilot.pi import HardwarePwmPin, open_factory

    factory = open_factory()
    try:
        device = PWMOutputDevice(12, frequency=1000, initial_value=1.0, pin_factory=factory)
        assert isinstance(device.pin, HardwarePwmPin)
        device.value = 0.05
        assert device.value == pytest.approx(0.05)
        device.close()
    finally:
        factory.close()
