"""``bench selftest``: every part of the simulated rig passes; a stopped twin, a wrong
device path or a plugged EV fails the part it concerns, named in one line."""

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from bench.rig.sim import SimRig
from charger.clock import Clock
from charger.hw.selftest import run_selftest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ["meter 1", "meter 2", "power stage", "rfid", "CP 1", "PP 1", "CP 2", "PP 2"]


def selftest_on_sim(tmp_path, spoil=None, card=None):
    """Start the twins, let ``spoil(rig, cfg)`` break something, run the self-test."""

    async def main():
        rig = SimRig(tmp_path / "rig", Clock.start())
        cfg = await rig.start()
        try:
            if card:
                rig.rfid.present(card)
            if spoil is not None:
                cfg = await spoil(rig, cfg) or cfg
            return await run_selftest(cfg, expect_card=card)
        finally:
            if hasattr(rig, "noise_task"):
                rig.noise_task.cancel()
            await rig.stop()

    return {r.part: r for r in asyncio.run(asyncio.wait_for(main(), 60))}


def failed(results):
    return sorted(p for p, r in results.items() if not r.ok)


def test_every_part_of_the_simulated_rig_passes(tmp_path):
    results = selftest_on_sim(tmp_path, card="0A00B1C2D3")
    assert list(results) == PARTS
    assert failed(results) == []
    assert "import 0 Wh" in results["meter 1"].saw
    assert "contactors open" in results["power stage"].saw
    assert "card 0A00B1C2D3 decoded" in results["rfid"].saw
    assert results["CP 1"].saw.startswith("A at +12.0 V with PWM off; PWM 5%: +12.0 / -12.0 V")
    assert results["PP 2"].saw.startswith("no cable")


def test_a_stopped_meter_twin_fails_that_meter_only(tmp_path):
    async def spoil(rig, cfg):
        await rig.meters[1].close()

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["meter 1"]
    line = results["meter 1"].line()
    assert line.startswith("FAIL meter 1 (acrel-djsf1352-rn tcp:127.0.0.1:") and "\n" not in line
    assert "nobody listens there" in line and "->" in line


def test_a_stopped_power_stage_fails_the_power_stage_only(tmp_path):
    async def spoil(rig, cfg):
        rig.power.close()

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["power stage"]
    assert "no status frame for connector(s) [1, 2]" in results["power stage"].saw
    assert results["power stage"].fix


def test_a_wrong_rfid_device_path_fails_the_reader(tmp_path):
    async def spoil(rig, cfg):
        rfid = dataclasses.replace(cfg.rfid, device="/dev/ttyDOESNOTEXIST")
        return dataclasses.replace(cfg, rfid=rfid)

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["rfid"]
    assert (
        results["rfid"]
        .line()
        .startswith("FAIL rfid (rdm6300 /dev/ttyDOESNOTEXIST): device missing -> ")
    )


def test_noise_on_the_rfid_line_fails_the_reader(tmp_path):
    async def noise(rig):
        while True:  # the port is flushed when opened: keep the line noisy
            rig.rfid.inject(b"\x02garbage-at-the-wrong-baud-rate\x03")
            await asyncio.sleep(0.05)

    async def spoil(rig, cfg):
        rig.noise_task = asyncio.create_task(noise(rig))

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["rfid"]
    assert "do not decode" in results["rfid"].saw and "baud rate" in results["rfid"].fix


def test_a_plugged_ev_fails_cp_and_pp_of_its_connector(tmp_path):
    async def spoil(rig, cfg):
        rig.plug(2)
        await asyncio.sleep(0.3)  # the physics puts the EV on the wire

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["CP 2", "PP 2"]
    assert "state B" in results["CP 2"].saw and "unplug the EV" in results["CP 2"].fix
    assert "reads a cable" in results["PP 2"].saw


@pytest.mark.e2e
def test_cli_json_on_the_simulated_rig(tmp_path, bench):
    out = bench("selftest", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    parts = [p["part"] for p in document["parts"]]
    assert document["ok"] is True and parts == [*PARTS, "EV board 1", "EV board 2"]


@pytest.mark.e2e
def test_cli_names_each_missing_part_in_one_line_and_fails(tmp_path, bench):
    rig = tmp_path / "rig.toml"
    rig.write_text(
        (ROOT / "wiring" / "rig.example.toml")
        .read_text()
        .replace("/dev/ttyAMA0", str(tmp_path / "ttyAMA0"))
    )
    out = bench("selftest", "--rig", str(rig), cwd=tmp_path)
    assert out.returncode == 1
    lines = [line for line in out.stdout.splitlines() if line.startswith("FAIL ")]
    assert [line.split(" (")[0] for line in lines] == [f"FAIL {p}" for p in PARTS + ["EV board 2"]]
    assert f"FAIL rfid (rdm6300 {tmp_path}/ttyAMA0): device missing -> plug" in out.stdout
    assert out.stdout.rstrip().endswith("selftest: 0 of 9 parts ok")
    assert "Traceback" not in out.stderr


def test_an_sdm630_connector_shows_its_three_phases(tmp_path):
    from bench.rig.sim import DEFAULT_CONNECTORS

    specs = (
        DEFAULT_CONNECTORS[0],
        dataclasses.replace(DEFAULT_CONNECTORS[1], meter_model="eastron-sdm630"),
    )

    async def main():
        rig = SimRig(tmp_path / "rig", Clock.start(), specs)
        cfg = await rig.start()
        try:
            assert cfg.connectors[1].meter.model == "eastron-sdm630"
            return {r.part: r for r in await run_selftest(cfg)}
        finally:
            await rig.stop()

    results = asyncio.run(asyncio.wait_for(main(), 60))
    assert failed(results) == []
    assert "phases 0 V / 0 V / 0 V" in results["meter 2"].saw
    assert results["meter 2"].where.startswith("eastron-sdm630 tcp:127.0.0.1:")


def test_a_meter_of_another_model_than_the_rig_file_says_fails(tmp_path):
    async def spoil(rig, cfg):
        c = cfg.connectors[0]
        meter = dataclasses.replace(c.meter, model="eastron-sdm630")
        return dataclasses.replace(
            cfg, connectors=[dataclasses.replace(c, meter=meter), *cfg.connectors[1:]]
        )

    results = selftest_on_sim(tmp_path, spoil)
    assert failed(results) == ["meter 1"]
    assert results["meter 1"].saw == (
        "unit 1 answers Modbus exception code 2 (illegal data address): "
        "not the registers of the configured model"
    )
    assert "set `model` in the rig file" in results["meter 1"].fix


def test_a_card_asked_for_and_not_read_fails_the_reader(tmp_path):
    async def main():
        rig = SimRig(tmp_path / "rig", Clock.start())
        cfg = await rig.start()
        try:
            return {r.part: r for r in await run_selftest(cfg, expect_card="0A00E4F5A6")}
        finally:
            await rig.stop()

    results = asyncio.run(asyncio.wait_for(main(), 60))
    assert failed(results) == ["rfid"]
    assert results["rfid"].saw == "card 0A00E4F5A6 held to it, not read"


def test_a_pn532_reader_answers_with_its_firmware_and_the_card(tmp_path):
    from bench.twins.pn532 import Pn532Twin

    twin = Pn532Twin()
    twin.present("04A1B2C3D4E5F6")

    async def spoil(rig, cfg):
        rfid = dataclasses.replace(
            cfg.rfid, model="pn532", device=twin.device_path, baudrate=115200
        )
        return dataclasses.replace(cfg, rfid=rfid)

    try:
        results = selftest_on_sim(tmp_path, spoil)
    finally:
        twin.close()
    assert failed(results) == []
    assert results["rfid"].saw == ("PN532 firmware 1.6 at 115200 baud; card 04A1B2C3D4E5F6")
