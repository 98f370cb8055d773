"""The whole simulated rig: twins here, the agent's hardware in another process."""

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from bench.twins.can import CanBusServer, PowerStageTwin
from bench.twins.meter import MeterTwin
from bench.twins.pilot import WireEv
from bench.twins.rfid import RfidTwin
from charger.hw.config import HardwareConfig
from charger.hw.factory import close_hardware, open_hardware
from charger.hw.interfaces import EvStatus, HlcStage

ROOT = Path(__file__).resolve().parents[2]

AGENT = textwrap.dedent(
    """
    import asyncio, dataclasses, json, sys, time
    from charger.hw.config import HardwareConfig
    from charger.hw.factory import close_hardware, open_hardware

    async def main(path):
        hw = open_hardware(HardwareConfig.load(path))
        events = []
        hw.rfid.start(lambda e: events.append([e.kind, e.uid]))
        await hw.power.start()
        for c in hw.connectors.values():
            c.pilot.set_duty(0.05)
        await hw.power.set_contactors(2, True)
        print("ready", flush=True)
        deadline = time.monotonic() + 10
        def done():
            return (events and hw.connectors[1].pilot.cp().state == "C"
                    and hw.power.status(2).contactors_closed and hw.power.ev(2).soc_percent == 80)
        while time.monotonic() < deadline and not done():
            await asyncio.sleep(0.01)
        out = {
            "events": events,
            "cp": {i: c.pilot.cp().state for i, c in hw.connectors.items()},
            "pp": {i: c.pilot.pp().plugged for i, c in hw.connectors.items()},
            "meter": {i: dataclasses.asdict(await c.meter.read())
                      for i, c in hw.connectors.items()},
            "power": dataclasses.asdict(hw.power.status(2)),
            "ev": dataclasses.asdict(hw.power.ev(2)),
        }
        print(json.dumps(out), flush=True)
        await close_hardware(hw)

    asyncio.run(main(sys.argv[1]))
    """
)


def rig_config(tmp_path, meters, rfid, can_server, wire) -> HardwareConfig:
    def connector(i, standard):
        return {
            "id": i,
            "standard": standard,
            "meter": {"transport": "tcp", "port": meters[i - 1].port, "timeout_s": 0.5},
            "pilot": {
                "backend": "sim",
                "pwm_pin": 18,
                "cp_channel": 0,
                "pp_channel": 1,
                "wire_file": str(wire.path),
                "slot": i - 1,
            },
        }

    return HardwareConfig.from_dict(
        {
            "connectors": [connector(1, "CCS1"), connector(2, "CCS2")],
            "can": {"interface": "remote", "channel": can_server.url},
            "rfid": {"device": rfid.device_path, "removal_silence_s": 0.3},
        }
    )


def test_simulated_rig_across_processes(tmp_path):
    async def main():
        meters = [MeterTwin(tmp_path / f"meter{i}.json") for i in (1, 2)]
        for m in meters:
            await m.start()
        rfid = RfidTwin()
        server = CanBusServer().start()
        power = PowerStageTwin(server.open_bus()).start()
        wire = WireEv(tmp_path / "wire")
        cfg_path = tmp_path / "hardware.json"
        cfg_path.write_text(json.dumps(rig_config(tmp_path, meters, rfid, server, wire).to_dict()))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            AGENT,
            str(cfg_path),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == b"ready"
            # The EV plugs into connector 1 and asks for power; the meter of 2 counts.
            wire.set_ev(0, "C", 150.0)
            wire.set_ev(1, "B", None)
            meters[1].update(400.0, 50.0, 90.0)  # 500 Wh
            power.set_ev_status(2, EvStatus(HlcStage.CURRENT_DEMAND, 80, 400.0, 50.0, True))
            rfid.present("04A1B2C3D4")
            out, err = await asyncio.wait_for(proc.communicate(), 15)
            assert proc.returncode == 0, err.decode()
            return json.loads(out.decode().strip().splitlines()[-1])
        finally:
            if proc.returncode is None:
                proc.kill()
            rfid.close()
            power.close()
            server.close()
            wire.close()
            for m in meters:
                await m.close()

    result = asyncio.run(main())
    assert result["events"][0] == ["present", "04A1B2C3D4"]
    assert result["cp"] == {"1": "C", "2": "B"}
    assert result["pp"] == {"1": True, "2": False}
    assert result["meter"]["2"]["energy_import_wh"] == pytest.approx(500.0)
    assert result["meter"]["2"]["voltage_v"] == pytest.approx(400.0)
    assert result["meter"]["1"]["energy_import_wh"] == 0.0
    assert result["power"]["contactors_closed"] is True
    assert result["ev"]["stage"] == HlcStage.CURRENT_DEMAND


def one_connector(tmp_path, meter: dict, rfid_device: str) -> HardwareConfig:
    """One CCS connector on the simulated board, nothing listening behind it."""
    return HardwareConfig.from_dict(
        {
            "connectors": [
                {
                    "id": 1,
                    "standard": "CCS2",
                    "meter": meter,
                    "pilot": {
                        "backend": "sim",
                        "pwm_pin": 18,
                        "cp_channel": 0,
                        "pp_channel": 1,
                        "wire_file": str(tmp_path / "w"),
                    },
                }
            ],
            "can": {"interface": "remote", "channel": "ws://127.0.0.1:1/"},
            "rfid": {"device": rfid_device},
        }
    )


def test_open_hardware_builds_without_touching_the_network(tmp_path):
    cfg = one_connector(tmp_path, {"transport": "tcp", "port": 1}, str(tmp_path / "tty"))
    hw = open_hardware(cfg)
    assert set(hw.connectors) == {1}
    assert hw.connectors[1].pilot.cp().state == "A"
    asyncio.run(close_hardware(hw))


def test_unknown_meter_model_is_refused(tmp_path):
    cfg = one_connector(tmp_path, {"transport": "tcp", "model": "acme-9000"}, "/dev/null")
    with pytest.raises(ValueError, match="acme-9000"):
        open_hardware(cfg)


@pytest.mark.rig
def test_rig_config_opens_on_the_pi():
    """On the Pi: BENCH_HW_CONFIG names the rig's hardware file."""
    path = os.environ.get("BENCH_HW_CONFIG", "/etc/bench/hardware.toml")
    hw = open_hardware(HardwareConfig.load(path))

    async def main():
        await hw.power.start()
        for c in hw.connectors.values():
            await c.meter.read()
            assert c.pilot.cp().state in ("A", "B", "C", "D")
        await close_hardware(hw)

    asyncio.run(main())
