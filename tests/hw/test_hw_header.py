"""Wiring as code: the rig file checked against the Pi 4/5 header, its pin map and
its SVG diagram (``bench wiring``)."""

import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.rigfile import RigFile, RigFileError
from bench.wiring import pin_map, svg
from charger.hw.config import HardwareConfig
from charger.hw.header import HEADER, PHYSICAL, WiringError, boot_config, check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "wiring" / "rig.example.toml"


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text())["hardware"]


def load(hardware: dict) -> HardwareConfig:
    return HardwareConfig.from_dict(hardware)


def test_header_is_the_pi_4_and_5_pinout():
    assert len(HEADER) == 40 and len(PHYSICAL) == 28
    assert PHYSICAL[12] == 32 and PHYSICAL[25] == 22 and PHYSICAL[14] == 8 and PHYSICAL[8] == 24


def test_the_example_rig_is_wireable_and_its_map_says_where_everything_goes():
    cfg = load(example())
    text = pin_map(cfg)
    assert " 32  GPIO12  CP PWM      pilot 1" in text
    assert " 22  GPIO25  CAN INT     MCP2515 CAN HAT" in text
    assert " 24  GPIO8   SPI0 CE0    MCP2515 CAN HAT" in text
    assert " 26  GPIO7   SPI0 CE1    pilot ADC on SPI0 CE1" in text
    assert "RS-485 line /dev/ttyUSB0: connector 1: acrel-djsf1352-rn unit 1; connector 2" in text
    assert boot_config(cfg) == [
        "dtparam=spi=on",
        "dtoverlay=mcp2515-can0,oscillator=16000000,interrupt=25",
        "dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4",
        "enable_uart=1",
        "dtoverlay=disable-bt  # Pi 4: the PL011 UART on GPIO14/15",
    ]


def test_the_diagram_is_svg_with_every_pin_and_part():
    doc = svg(load(example()), "rig.example.toml")
    root = ET.fromstring(doc)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}circle")) == 40
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    for part in ("pilot 1", "pilot 2", "MCP2515 CAN HAT", "pilot ADC on SPI0 CE1", "rfid"):
        assert part in texts
    assert "CP PWM · 33 GPIO13" in texts and "dtparam=spi=on" in texts


def test_a_pin_used_twice_is_refused_with_the_pin_named():
    hw = example()
    hw["connectors"][1]["pilot"]["pwm_pin"] = 12
    with pytest.raises(
        WiringError, match=r"GPIO12 \(pin 32\) is used twice: CP PWM of pilot 1 and CP PWM"
    ):
        load(hw)


def test_the_can_hat_and_the_pilot_adc_cannot_share_a_chip_select():
    hw = example()
    for c in hw["connectors"]:
        c["pilot"]["spi_device"] = 0
    with pytest.raises(WiringError, match=r"GPIO8 \(pin 24\) is used twice: SPI0 CE0"):
        load(hw)


def test_the_can_interrupt_pin_is_reserved():
    hw = example()
    hw["can"]["interrupt_pin"] = 13
    with pytest.raises(WiringError, match=r"GPIO13 \(pin 33\) is used twice"):
        load(hw)


def test_the_uart_has_one_user():
    hw = example()
    hw["connectors"][0]["meter"]["device"] = "/dev/ttyAMA0"
    hw["connectors"][1]["meter"]["device"] = "/dev/ttyAMA0"
    with pytest.raises(WiringError, match=r"GPIO14 \(pin 8\) is used twice: UART TXD of rfid"):
        load(hw)
    hw["rfid"]["device"] = "/dev/ttyUSB1"  # the reader on USB: the RS-485 line has the UART
    assert " 8  GPIO14  UART TXD    RS-485 line rtu:/dev/ttyAMA0" in pin_map(load(hw))


def test_the_cp_needs_a_hardware_pwm_pin_and_its_own_channel():
    hw = example()
    hw["connectors"][0]["pilot"]["pwm_pin"] = 17
    with pytest.raises(WiringError, match=r"GPIO17 \(pin 11\) has no hardware PWM"):
        load(hw)
    hw["connectors"][0]["pilot"]["pwm_pin"] = 19
    with pytest.raises(WiringError, match="share PWM channel 1 on a Pi 4"):
        load(hw)


def test_spi_pins_are_reserved_for_the_bus():
    hw = example()
    hw["connectors"][0]["pilot"]["pwm_pin"] = 18
    hw["connectors"][1]["pilot"]["spi_port"] = 1
    hw["connectors"][1]["pilot"]["spi_device"] = 0  # SPI1 CE0 is GPIO18
    with pytest.raises(WiringError, match=r"GPIO18 \(pin 12\) is used twice"):
        load(hw)


def test_hat_id_pins_are_refused():
    hw = example()
    hw["can"]["interrupt_pin"] = 0
    with pytest.raises(WiringError, match="HAT ID EEPROM"):
        load(hw)


def test_a_rig_file_written_before_these_keys_still_loads(tmp_path):
    old = EXAMPLE.read_text()
    for line in ("oscillator_hz", "interrupt_pin", "pin_factory", "energy_wh_per_count"):
        old = "\n".join(x for x in old.splitlines() if not x.startswith(line))
    old = old.replace("spi_device = 1", "spi_device = 0")  # no HAT declared: CE0 is free
    path = tmp_path / "old.toml"
    path.write_text(old)
    rig = RigFile.load(path)
    assert rig.hardware.can.oscillator_hz is None
    assert [u.part for u in check(rig.hardware) if u.function == "CAN INT"] == []


def test_rig_file_with_a_pin_twice_is_one_clear_error(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(EXAMPLE.read_text().replace("pwm_pin = 13", "pwm_pin = 12"))
    with pytest.raises(RigFileError, match=r"GPIO12 \(pin 32\) is used twice"):
        RigFile.load(path)


@pytest.mark.e2e
def test_cli_prints_the_map_and_writes_the_diagram(tmp_path, bench):
    out = bench("wiring", "--rig", str(EXAMPLE), "--svg", "rig.svg", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "GPIO12  CP PWM      pilot 1" in out.stdout
    assert ET.parse(tmp_path / "rig.svg").getroot().tag.endswith("svg")


@pytest.mark.e2e
def test_cli_refuses_a_pin_used_twice_in_one_line(tmp_path, bench):
    path = tmp_path / "twice.toml"
    path.write_text(EXAMPLE.read_text().replace("pwm_pin = 13", "pwm_pin = 12"))
    out = bench("wiring", "--rig", str(path), cwd=tmp_path)
    assert out.returncode == 78
    assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert "GPIO12 (pin 32) is used twice: CP PWM of pilot 1 and CP PWM of pilot 2" in out.stderr
    assert not (tmp_path / "twice.svg").exists()
