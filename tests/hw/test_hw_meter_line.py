"""Eastron SDM630 with all three phases, the Acrel energy unit as a setting, and two
meters on one RS-485 line polled through one shared client."""

import asyncio

import pytest

from bench.twins.meter import MeterLineTwin, MeterTwin
from charger.hw.config import HardwareConfig, MeterConfig
from charger.hw.factory import close_hardware, open_hardware
from charger.hw.meter.driver import ModbusMeter
from charger.hw.meter.registers import (
    ACREL_DJSF1352_RN,
    EASTRON_SDM630,
    decode,
    encode,
    with_energy_unit,
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_sdm630_reads_every_phase_from_float_input_registers():
    values = {
        "power_w": 6900.0,
        "energy_import_wh": 1234.5,
        "phase_voltage_v": (229.5, 230.5, 231.0),
        "phase_current_a": (10.0, 11.0, 9.0),
        "phase_power_w": (2295.0, 2535.5, 2079.0),
    }
    regs = encode(EASTRON_SDM630, values)
    assert EASTRON_SDM630.function_code == 4
    # L2 voltage at 0x0002, L3 current at 0x000A, as IEEE-754 big-endian words
    assert regs[0x0002:0x0004] == [0x4366, 0x8000]  # 230.5
    assert regs[0x000A:0x000C] == [0x4110, 0x0000]  # 9.0
    out = decode(EASTRON_SDM630, regs)
    assert out["phase_voltage_v"] == pytest.approx(values["phase_voltage_v"])
    assert out["phase_current_a"] == pytest.approx(values["phase_current_a"])
    assert out["phase_power_w"] == pytest.approx(values["phase_power_w"])
    assert out["voltage_v"] == pytest.approx(229.5)  # L1
    assert out["energy_import_wh"] == pytest.approx(1234.5, abs=0.01)


def test_acrel_energy_unit_is_a_per_meter_setting():
    regs = encode(ACREL_DJSF1352_RN, {"energy_import_wh": 12345.0})
    assert regs[12] << 16 | regs[13] == 1234  # default: 0.01 kWh counts
    one_wh = with_energy_unit(ACREL_DJSF1352_RN, 1.0)
    assert decode(one_wh, regs)["energy_import_wh"] == 1234.0
    meter = ModbusMeter(MeterConfig(transport="tcp", port=1, energy_wh_per_count=1.0))
    assert meter.map.energy_import.scale == 1.0
    with pytest.raises(ValueError, match="does not apply"):
        with_energy_unit(EASTRON_SDM630, 1.0)


def test_sdm630_twin_to_driver(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "m.json", EASTRON_SDM630)
        await twin.start()
        meter = ModbusMeter(MeterConfig(model="eastron-sdm630", transport="tcp", port=twin.port))
        try:
            twin.update(230.0, 90.0, 3600.0)  # 20.7 kW for an hour, 30 A a phase
            r = await meter.read()
        finally:
            await meter.close()
            await twin.close()
        assert r.phase_voltage_v == pytest.approx((230.0, 230.0, 230.0))
        assert r.phase_current_a == pytest.approx((30.0, 30.0, 30.0))
        assert sum(r.phase_power_w) == pytest.approx(20_700.0)
        assert r.power_w == pytest.approx(20_700.0)
        assert r.energy_import_wh == pytest.approx(20_700.0, rel=1e-6)

    run(main())


def line_config(port: int, units=(1, 2), models=("acrel-djsf1352-rn", "eastron-sdm630")):
    def connector(cid, unit, model):
        return {
            "id": cid,
            "standard": "CCS2",
            "meter": {"model": model, "transport": "tcp", "port": port, "unit": unit},
            "pilot": {
                "backend": "sim",
                "pwm_pin": 11 + cid,
                "cp_channel": 2 * cid - 2,
                "pp_channel": 2 * cid - 1,
                "wire_file": "/nonexistent/wire",
                "slot": cid - 1,
            },
        }

    return {
        "connectors": [
            connector(i + 1, u, m) for i, (u, m) in enumerate(zip(units, models, strict=True))
        ],
        "can": {"interface": "remote", "channel": "ws://127.0.0.1:1"},
        "rfid": {"device": "/nonexistent/tty"},
    }


def test_two_meters_on_one_line_share_one_client_and_never_overlap(tmp_path):
    async def main():
        acrel = MeterTwin(tmp_path / "1.json", ACREL_DJSF1352_RN, unit=1)
        sdm = MeterTwin(tmp_path / "2.json", EASTRON_SDM630, unit=2)
        line = MeterLineTwin([acrel, sdm])
        await line.start()
        hw = open_hardware(HardwareConfig.from_dict(line_config(line.port)))
        try:
            m1, m2 = hw.connectors[1].meter, hw.connectors[2].meter
            assert m1.line is m2.line and len(hw.extras["lines"]) == 1
            acrel.update(500.0, 100.0, 36.0)
            sdm.update(400.0, 10.0, 360.0)
            for _ in range(5):  # both polled at once, as the agent's two poll tasks do
                r1, r2 = await asyncio.gather(m1.read(), m2.read())
            assert r1.energy_import_wh == pytest.approx(500.0)
            assert r2.energy_import_wh == pytest.approx(400.0, rel=1e-6)
            assert len(r2.phase_voltage_v) == 3 and r1.phase_voltage_v == ()
        finally:
            await close_hardware(hw)
            await line.close()
        assert line.connections == 1
        assert line.max_in_flight == 1
        assert m1.line.requests == 10  # one count: one client

    run(main())


def test_meters_on_one_line_need_distinct_unit_ids():
    with pytest.raises(ValueError, match="distinct unit ids"):
        HardwareConfig.from_dict(line_config(5020, units=(3, 3)))


def test_two_meters_on_one_rs485_pair_over_modbus_rtu(tmp_path):
    async def main():
        acrel = MeterTwin(tmp_path / "1.json", ACREL_DJSF1352_RN, unit=1)
        sdm = MeterTwin(tmp_path / "2.json", EASTRON_SDM630, unit=2)
        line = MeterLineTwin([acrel, sdm], transport="rtu", baudrate=19200)
        await line.start()
        hw = open_hardware(HardwareConfig.from_dict(rtu_config(line.device_path)))
        try:
            m1, m2 = hw.connectors[1].meter, hw.connectors[2].meter
            assert m1.line is m2.line and m1.line.key == f"rtu:{line.device_path}"
            acrel.update(500.0, 100.0, 36.0)
            sdm.update(230.0, 30.0, 3600.0)
            for _ in range(3):
                r1, r2 = await asyncio.gather(m1.read(), m2.read())
        finally:
            await close_hardware(hw)
            await line.close()
        assert r1.energy_import_wh == pytest.approx(500.0)
        assert r2.phase_current_a == pytest.approx((10.0, 10.0, 10.0))
        assert line.max_in_flight == 1 and line.line.bytes_carried > 0

    run(main())


def rtu_config(device: str) -> dict:
    cfg = line_config(0)
    for c in cfg["connectors"]:
        c["meter"] = {**c["meter"], "transport": "rtu", "device": device, "baudrate": 19200}
        c["meter"].pop("port")
        c["meter"]["timeout_s"] = 1.0
    return cfg
