import asyncio
import json
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import can
import pytest

from bench.twins.can import CanBusServer, PowerStageTwin
from charger.hw.can import frames
from charger.hw.can.driver import CanPowerStage
from charger.hw.can.frames import (
    ContactorCommand,
    ContactorStatus,
    FrameError,
    ModuleSetpoint,
    ModuleStatus,
    UnknownFrameId,
)
from charger.hw.config import CanConfig
from charger.hw.interfaces import EvseCommand, EvseStatus, EvStatus, HlcStage

ROOT = Path(__file__).resolve().parents[2]

PAYLOADS = [
    ContactorCommand(True, False),
    ModuleSetpoint(920.5, 0.0, False),
    EvseCommand(EvseStatus.EMERGENCY_SHUTDOWN, True, False, True, 500.0, 1000.0, 350_000.0),
    ContactorStatus(True, True, frames.FAULT_DC_MINUS_WELDED),
    ModuleStatus(0.0, 6553.5, False, True, -40),
    ModuleStatus(500.0, 1.0, True, False, 30, isolation_fault=True),
    EvStatus(HlcStage.ERROR, 100.0, 0.0, 3.2, False, True, True, False),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("connector", [1, 2, 15])
def test_round_trip(payload, connector):
    fid, data = frames.encode(payload, connector)
    assert fid & 0xF == connector
    assert frames.decode(fid, data) == (connector, payload)


def test_the_isolation_fault_is_bit2_of_the_module_flags():
    _fid, data = frames.encode(ModuleStatus(500.0, 1.0, True, False, 30, True), 1)
    assert data[4] == 0b101


def test_ids_and_big_endian_layout():
    assert frames.encode(ModuleSetpoint(400.0, 125.0, True), 1) == (
        0x121,
        bytes.fromhex("0FA004E201"),
    )
    assert frames.encode(EvStatus(HlcStage.CURRENT_DEMAND, 57, 400, 125, True), 2) == (
        0x1B2,
        bytes.fromhex("07390FA004E201"),
    )
    fid, data = frames.encode(
        EvseCommand(EvseStatus.READY, True, True, False, 200, 500, 100_000), 1
    )
    assert (fid, data.hex()) == (0x131, "010307d0138803e8")


@pytest.mark.parametrize(
    "fid,data,error",
    [
        (0x7FF, b"", UnknownFrameId),
        (0x110, b"\x01", UnknownFrameId),  # connector 0
        (0x140 + 1, b"\x01", UnknownFrameId),
        (0x191, b"\x03", FrameError),  # DLC 1, expected 2
        (0x1B1, bytes.fromhex("0C390FA004E201"), FrameError),  # HlcStage 12 does not exist
        (0x1B1, bytes.fromhex("07FF0FA004E201"), FrameError),  # SoC 255 %
        (0x131, bytes.fromhex("090307d0138803e8"), FrameError),  # EvseStatus 9
    ],
)
def test_bad_frames_raise_frame_error(fid, data, error):
    with pytest.raises(error):
        frames.decode(fid, data)


def test_encode_refuses_out_of_range():
    with pytest.raises(ValueError):
        frames.encode(ModuleSetpoint(-1.0, 0.0, False), 1)
    with pytest.raises(ValueError):
        frames.encode(ContactorCommand(), 16)


def test_driver_counts_and_ignores_bad_frames(caplog):
    ps = CanPowerStage(bus=can.Bus(interface="virtual", channel=uuid.uuid4().hex))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            ps.handle(can.Message(arbitration_id=0x7FF, data=b"\x00", is_extended_id=False))
        ps.handle(can.Message(arbitration_id=0x191, data=b"\x03", is_extended_id=False))
        ps.handle(can.Message(arbitration_id=0x18FF50E5, data=b"", is_extended_id=True))
        ps.handle(can.Message(arbitration_id=0x191, data=b"\x03\x00", is_extended_id=False))
    assert ps.stats["unknown_id"] == 3
    assert ps.stats["bad_frame"] == 1
    assert ps.stats["ignored"] == 1
    assert ps.status(1).contactors_closed
    assert caplog.text.count("dropped frame 0x7ff") == 1  # warned once per id, then quiet
    asyncio.run(ps.close())


@pytest.fixture
def bus_pair():
    channel = f"test-{uuid.uuid4().hex}"
    twin = PowerStageTwin(can.Bus(interface="virtual", channel=channel), cycle_s=0.05).start()
    ps = CanPowerStage(bus=can.Bus(interface="virtual", channel=channel), cycle_s=0.05)
    asyncio.run(ps.start())
    yield twin, ps
    asyncio.run(ps.close())
    twin.close()


def test_driver_against_twin_in_process(bus_pair, until):
    twin, ps = bus_pair

    async def commands():
        await ps.set_contactors(1, True)
        await ps.set_output(1, 450.0, 80.0)
        await ps.set_evse(1, EvseCommand(EvseStatus.READY, authorized=True, max_power_w=50_000))

    asyncio.run(commands())
    until(lambda: ps.status(1).contactors_closed)
    assert not ps.status(2).contactors_closed
    assert twin.contactor_command(1).closed and twin.contactors_closed(1)
    assert twin.module_setpoint(1) == ModuleSetpoint(450.0, 80.0, True)
    until(lambda: twin.evse_command(1).authorized)
    assert twin.evse_command(1).max_power_w == 50_000
    until(lambda: ps.status(1).module_enabled)

    twin.set_output_measured(1, 449.9, 79.8)
    twin.set_ev_status(1, EvStatus(HlcStage.CURRENT_DEMAND, 61, 450.0, 80.0, ev_ready=True))
    until(lambda: ps.status(1).output_current_a == pytest.approx(79.8))
    until(lambda: ps.ev(1).stage == HlcStage.CURRENT_DEMAND)
    assert ps.ev(1).soc_percent == 61
    until(lambda: ps.age_s(1) < 0.5 and ps.age_s(2) < 0.5)  # cyclic status for both connectors

    asyncio.run(ps.set_output(1, 450.0, 0.0))  # current 0 disables the module
    until(lambda: not ps.status(1).module_enabled)


def test_welded_contactor_and_module_fault(bus_pair, until):
    twin, ps = bus_pair
    asyncio.run(ps.set_contactors(2, True))
    until(lambda: ps.status(2).contactors_closed)
    twin.weld_contactor(2, True)
    asyncio.run(ps.set_contactors(2, False))
    until(lambda: ps.status(2).contactor_fault)
    assert ps.status(2).contactors_closed  # feedback stays closed
    assert not twin.contactor_command(2).closed
    twin.weld_contactor(2, False)
    until(lambda: not ps.status(2).contactors_closed)
    assert not ps.status(2).contactor_fault
    twin.set_module_fault(2)
    until(lambda: ps.status(2).module_fault)


def test_contactor_feedback_lags_the_command(until):
    channel = f"test-{uuid.uuid4().hex}"
    twin = PowerStageTwin(can.Bus(interface="virtual", channel=channel), contactor_delay_s=0.15)
    twin.start()
    ps = CanPowerStage(bus=can.Bus(interface="virtual", channel=channel))
    try:
        asyncio.run(ps.start())
        asyncio.run(ps.set_contactors(1, True))
        until(lambda: twin.contactor_command(1).closed)
        t0 = time.monotonic()
        assert not twin.contactors_closed(1)
        until(lambda: ps.status(1).contactors_closed)
        assert time.monotonic() - t0 >= 0.1
    finally:
        asyncio.run(ps.close())
        twin.close()


def test_twin_watchdog_opens_on_controller_silence(until):
    channel = f"test-{uuid.uuid4().hex}"
    twin = PowerStageTwin(can.Bus(interface="virtual", channel=channel), command_timeout_s=0.3)
    twin.start()
    bus = can.Bus(interface="virtual", channel=channel)
    try:
        fid, data = frames.encode(ContactorCommand(True, True), 1)
        bus.send(can.Message(arbitration_id=fid, data=data, is_extended_id=False))  # once only
        until(lambda: twin.contactors_closed(1))
        until(lambda: not twin.contactors_closed(1), timeout=2)
        assert twin.stats["command_timeout"] == 1
    finally:
        bus.shutdown()
        twin.close()


def test_remote_server_in_process(until):
    server = CanBusServer().start()
    twin = PowerStageTwin(server.open_bus(), connectors=(1,)).start()
    ps = CanPowerStage(CanConfig(interface="remote", channel=server.url), connectors=(1,))
    try:
        asyncio.run(ps.start())
        asyncio.run(ps.set_contactors(1, True))
        until(lambda: ps.status(1).contactors_closed)
    finally:
        asyncio.run(ps.close())
        twin.close()
        server.close()


def test_driver_reopens_when_the_bench_restarts(until):
    server = CanBusServer().start()
    port = server.port
    twin = PowerStageTwin(server.open_bus(), connectors=(1,)).start()
    ps = CanPowerStage(CanConfig(interface="remote", channel=server.url), connectors=(1,))
    try:
        asyncio.run(ps.start())
        until(lambda: ps.age_s(1) < 0.5)
        twin.close()
        server.close()  # bench process gone
        until(lambda: ps.age_s(1) > 0.3)
        server = CanBusServer(port=port).start()  # bench back on the same port
        twin = PowerStageTwin(server.open_bus(), connectors=(1,)).start()
        until(lambda: ps.age_s(1) < 0.2, timeout=4)
        assert ps.stats["reopened"] >= 1
        asyncio.run(ps.set_contactors(1, True))
        until(lambda: ps.status(1).contactors_closed)
    finally:
        asyncio.run(ps.close())
        twin.close()
        server.close()


def test_two_rigs_do_not_mix():
    a, b = CanBusServer(), CanBusServer()
    assert a.channel != b.channel and a.port != b.port
    a.close()
    b.close()


AGENT = textwrap.dedent(
    """
    import asyncio, dataclasses, json, sys, time
    from charger.hw.can.driver import CanPowerStage
    from charger.hw.config import CanConfig
    from charger.hw.interfaces import EvseCommand, EvseStatus

    async def main(url):
        ps = CanPowerStage(CanConfig(interface="remote", channel=url))
        await ps.start()
        await ps.set_contactors(1, True)
        await ps.set_output(1, 400.0, 50.0)
        await ps.set_evse(1, EvseCommand(EvseStatus.READY, authorized=True, max_current_a=200.0))
        deadline = time.monotonic() + 10
        def done():
            s = ps.status(1)
            return (s.contactors_closed and s.output_current_a > 0 and ps.ev(1).soc_percent == 42
                    and ps.stats["unknown_id"] and ps.stats["bad_frame"])
        while time.monotonic() < deadline and not done():
            await asyncio.sleep(0.01)
        print(json.dumps({
            "status": dataclasses.asdict(ps.status(1)),
            "ev": dataclasses.asdict(ps.ev(1)),
            "age": ps.age_s(1),
            "stats": dict(ps.stats),
        }))
        await ps.close()

    asyncio.run(main(sys.argv[1]))
    """
)


def test_driver_in_another_process_over_python_can_remote():
    server = CanBusServer().start()
    twin = PowerStageTwin(server.open_bus()).start()

    def on_command(connector, payload):
        if isinstance(payload, ModuleSetpoint) and payload.enable:
            twin.set_output_measured(connector, payload.voltage_v - 0.5, payload.current_a)

    twin.on_command = on_command
    twin.set_ev_status(1, EvStatus(HlcStage.PRE_CHARGE, 42, 400.0, 2.0, ev_ready=True))
    proc = subprocess.Popen(
        [sys.executable, "-c", AGENT, server.url],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while proc.poll() is None:  # noise the agent must shrug off
            twin.send_raw(0x7FF, b"\xde\xad")
            twin.send_raw(0x1A1, b"\x00")
            time.sleep(0.05)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        result = json.loads(out)
        assert result["status"]["contactors_closed"] is True
        assert result["status"]["module_enabled"] is True
        assert result["status"]["output_voltage_v"] == pytest.approx(399.5)
        assert result["ev"]["stage"] == HlcStage.PRE_CHARGE
        assert result["ev"]["soc_percent"] == 42
        assert result["age"] < 1.0
        assert result["stats"]["unknown_id"] >= 1 and result["stats"]["bad_frame"] >= 1
        assert twin.contactor_command(1).closed
        assert twin.evse_command(1).authorized and twin.evse_command(1).max_current_a == 200.0
    finally:
        if proc.poll() is None:
            proc.kill()
        twin.close()
        server.close()


@pytest.mark.rig
def test_socketcan_can0_opens():
    # start() never raises (a bus that cannot open is reported and retried): ask the bus.
    ps = CanPowerStage(CanConfig(interface="socketcan", channel="can0"))
    try:
        asyncio.run(ps.start())
        assert ps.bus_open, [p.line() for p in ps.health.parts()]
    finally:
        asyncio.run(ps.close())
