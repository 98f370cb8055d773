import asyncio
import dataclasses
import errno
import json
import socket

import pytest

from bench.twins.meter import MeterTwin
from charger.hw.config import MeterConfig
from charger.hw.interfaces import MeterError
from charger.hw.meter.driver import ModbusMeter
from charger.hw.meter.registers import ACREL_DJSF1352_RN, EASTRON_SDM630, decode, encode

VALUES = {
    "voltage_v": 401.3,
    "current_a": 123.45,
    "power_w": 401.3 * 123.45,
    "energy_import_wh": 12345.678,
    "energy_export_wh": 10.0,
}


def test_acrel_block_layout_and_scaling():
    regs = encode(ACREL_DJSF1352_RN, VALUES)
    assert len(regs) == 20
    assert regs[0:2] == [40130, 1]  # 401.3 V = 40130 x 10^(1-3): finest dp that fits
    assert regs[2:4] == [12345, 1]  # 123.45 A = 12345 x 10^(1-3)
    assert regs[9] == 1 and regs[8] == 4954  # 49.54 kW in 0.01 kW
    assert regs[12] << 16 | regs[13] == 1234  # 0.01 kWh counts, truncated
    assert regs[14] << 16 | regs[15] == 1
    out = decode(ACREL_DJSF1352_RN, regs)
    assert out["voltage_v"] == pytest.approx(401.3)
    assert out["current_a"] == pytest.approx(123.45)
    assert out["power_w"] == pytest.approx(49540)
    assert out["energy_import_wh"] == 12340.0


def test_acrel_high_word_first_for_large_energy():
    regs = encode(ACREL_DJSF1352_RN, {**VALUES, "energy_import_wh": 1_000_000_000.0})
    assert regs[12:14] == [0x05F5, 0xE100]  # 10^8 counts of 10 Wh, high word first
    assert decode(ACREL_DJSF1352_RN, regs)["energy_import_wh"] == 1e9


def test_sdm630_is_just_another_map():
    regs = encode(EASTRON_SDM630, VALUES)
    assert len(regs) == 0x4C
    out = decode(EASTRON_SDM630, regs)
    for key, value in VALUES.items():
        assert out[key] == pytest.approx(value, rel=1e-6)


def test_decode_refuses_short_block():
    with pytest.raises(ValueError):
        decode(ACREL_DJSF1352_RN, [0] * 10)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def meter_for(twin: MeterTwin, **kw) -> ModbusMeter:
    cfg = MeterConfig(transport="tcp", port=twin.port, timeout_s=kw.pop("timeout_s", 0.2))
    return ModbusMeter(cfg, **kw)


def test_twin_to_driver_over_modbus_tcp(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "meter.json")
        await twin.start()
        meter = meter_for(twin)
        try:
            r0 = await meter.read()
            assert r0.energy_import_wh == 0 and r0.voltage_v == 0
            for _ in range(10):  # 10 x 36 s at 500 V 100 A = 5 kWh
                twin.update(500.0, 100.0, 36.0)
            r = await meter.read()
            assert r.voltage_v == pytest.approx(500.0)
            assert r.current_a == pytest.approx(100.0)
            assert r.power_w == pytest.approx(50_000.0)
            assert r.energy_import_wh == pytest.approx(5000.0)
            assert twin.energy_import_wh == pytest.approx(5000.0)
            twin.update(500.0, 100.0, 0.01)  # 0.139 Wh: full precision inside...
            assert twin.energy_import_wh == pytest.approx(5000.1389, abs=1e-3)
            assert (await meter.read()).energy_import_wh == 5000.0  # ...10 Wh steps outside
            twin.update(400.0, -10.0, 36.0)
            r = await meter.read()
            assert r.energy_export_wh == pytest.approx(40.0)
            assert r.current_a == pytest.approx(-10.0)
        finally:
            await meter.close()
            await twin.close()

    run(main())


def test_energy_survives_a_new_twin(tmp_path):
    state = tmp_path / "meter.json"

    async def first():
        twin = MeterTwin(state)
        await twin.start()
        twin.update(800.0, 200.0, 3600.0 * 1.25)  # 200 kWh
        await twin.close()

    async def second():
        twin = MeterTwin(state)
        await twin.start()
        meter = meter_for(twin)
        try:
            assert twin.energy_import_wh == pytest.approx(200_000.0)
            assert (await meter.read()).energy_import_wh == pytest.approx(200_000.0)
        finally:
            await meter.close()
            await twin.close()

    run(first())
    assert json.loads(state.read_text())["energy_import_wh"] == pytest.approx(200_000.0)
    run(second())


def test_persistence_is_rate_limited_and_atomic(tmp_path):
    state = tmp_path / "meter.json"
    twin = MeterTwin(state)
    twin.update(400.0, 10.0, 1.0)  # first update saves (nothing saved yet)
    first = json.loads(state.read_text())["energy_import_wh"]
    for _ in range(50):
        twin.update(400.0, 10.0, 1.0)
    assert json.loads(state.read_text())["energy_import_wh"] == first  # < 1 s later: not yet
    twin.save()
    assert json.loads(state.read_text())["energy_import_wh"] == pytest.approx(51 * 4000 / 3600)
    assert [p.name for p in tmp_path.iterdir()] == ["meter.json"]  # no temp files left


def test_corrupt_state_file_is_kept_aside(tmp_path):
    state = tmp_path / "meter.json"
    state.write_text("{not json")
    twin = MeterTwin(state)
    assert twin.energy_import_wh == 0
    assert (tmp_path / "meter.json.corrupt").exists()


def test_exception_and_timeout_become_meter_errors(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "meter.json")
        await twin.start()
        meter = meter_for(twin, timeout_s=0.2)
        try:
            twin.update(400.0, 10.0, 0.0)
            await meter.read()
            twin.set_fault("exception")
            with pytest.raises(MeterError, match="exception code 4"):
                await meter.read()
            twin.set_fault("timeout")
            with pytest.raises(MeterError):  # a silent meter is an error, never a hang
                await asyncio.wait_for(meter.read(), 10)
            twin.set_fault(None)
            assert (await meter.read()).voltage_v == pytest.approx(400.0)  # reconnected
        finally:
            await meter.close()
            await twin.close()

    run(main())


def test_wrong_function_code_and_implausible_values(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "meter.json")  # Acrel: holding registers
        await twin.start()
        fc4 = meter_for(twin, regmap=dataclasses.replace(ACREL_DJSF1352_RN, function_code=4))
        sdm = meter_for(twin, regmap=EASTRON_SDM630)  # 76 registers from a 20-register meter
        acrel = meter_for(twin)
        try:
            with pytest.raises(MeterError, match="exception code 1"):  # illegal function
                await fc4.read()
            with pytest.raises(MeterError, match="exception code 2"):  # illegal address
                await sdm.read()
            twin.update(2000.0, 1.0, 0.0)  # 2 kV on a DC charger meter: garbage
            with pytest.raises(MeterError, match="implausible"):
                await acrel.read()
        finally:
            await fc4.close()
            await sdm.close()
            await acrel.close()
            await twin.close()

    run(main())


def test_sdm630_twin_and_driver(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "sdm.json", EASTRON_SDM630)
        await twin.start()
        meter = meter_for(twin, regmap=EASTRON_SDM630)
        try:
            twin.update(230.1, 16.0, 3600.0)
            r = await meter.read()
            assert r.voltage_v == pytest.approx(230.1, rel=1e-6)
            assert r.energy_import_wh == pytest.approx(230.1 * 16.0, rel=1e-6)
        finally:
            await meter.close()
            await twin.close()

    run(main())


def test_nobody_listening_is_a_meter_error():
    async def main():
        meter = ModbusMeter(MeterConfig(transport="tcp", port=1, timeout_s=0.2))
        with pytest.raises(MeterError, match="connect"):
            await meter.read()
        await meter.close()

    run(main())


def test_energy_going_backwards_is_implausible(tmp_path):
    async def main():
        twin = MeterTwin(tmp_path / "a.json")
        twin.update(400.0, 100.0, 3600.0)
        await twin.start()
        meter = meter_for(twin)
        try:
            await meter.read()
            twin._import_wh = 0.0  # a meter swapped or a corrupted answer
            with pytest.raises(MeterError, match="backwards"):
                await meter.read()
        finally:
            await meter.close()
            await twin.close()

    run(main())


def test_a_taken_port_is_eaddrinuse_naming_the_port(tmp_path):
    """bench up checks its ports first; one taken in between is still said in one line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        twin = MeterTwin(tmp_path / "meter.json", port=port)
        with pytest.raises(OSError) as caught:
            asyncio.run(twin.start())
    assert caught.value.errno == errno.EADDRINUSE
    assert f"127.0.0.1:{port}" in caught.value.strerror
