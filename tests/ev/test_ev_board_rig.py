"""The EV board in the rig file: validated with the charger's pins, drawn with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.rigfile import RigFile, RigFileError
from bench.wiring import pin_map, svg

EXAMPLE = Path(__file__).parent.parent.parent / "wiring" / "rig.example.toml"


def _rig(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "rig.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_example_has_a_ccs1_board_on_connector_2():
    rig = RigFile.load(EXAMPLE)
    (board,) = rig.ev
    assert (board.connector, board.standard, board.latch_pin) == (2, "CCS1", 24)
    assert {board.ohms(k) for k in board.pp_resistors} == {150.0, 47.0}
    assert not board.relay_active_high


def test_the_pin_map_and_the_diagram_show_the_board():
    rig = RigFile.load(EXAMPLE)
    assert rig.hardware is not None
    table = pin_map(rig.hardware, rig.ev)
    assert " 29  GPIO5   EV B        EV board 2" in table
    assert " 37  GPIO26  EV PWM in   EV board 2" in table
    assert " 15  GPIO22  EV PP 150   EV board 2" in table
    drawing = svg(rig.hardware, "rig", rig.ev)
    assert ">EV board 2</text>" in drawing and "EV latch" in drawing


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "b_pin = 5 ",
            "b_pin = 25 ",
            "GPIO25 \\(pin 22\\) is used twice: CAN INT of MCP2515 CAN HAT and EV B of EV board 2",
        ),
        (
            "pwm_in_pin = 26",
            "pwm_in_pin = 14",
            "GPIO14 \\(pin 8\\) is used twice: UART TXD of rfid and EV PWM in of EV board 2",
        ),
        ("cp_channel = 4", "cp_channel = 2", "channel 2 is read twice: CP 2 and EV board 2 CP"),
        ("connector = 2 ", "connector = 3 ", "connector 3: no such connector"),
        ('"47" = 23', '"47" = 0', "GPIO0 .* HAT ID EEPROM"),
        ("latch_pin = 24 ", "latch_pn = 24 ", "unknown keys \\['latch_pn'\\]"),
    ],
)
def test_a_board_that_cannot_be_wired_is_refused_with_its_pin(tmp_path, old, new, message):
    with pytest.raises(RigFileError, match=message) as caught:
        RigFile.load(_rig(tmp_path, old, new))
    assert caught.value.kind == "invalid"


def test_ev_must_be_tables(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text('ev = "yes"\n' + EXAMPLE.read_text().split("[[ev]]")[0])
    with pytest.raises(RigFileError, match=r"\[\[ev\]\] tables"):
        RigFile.load(path)
