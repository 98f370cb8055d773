"""The vehicle-side pilot board: the real driver on mock pins, the charger's pilot on the
other end of the simulated wire, each reading what the other really does."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ev.board.config import EvBoardConfig, sim_board
from bench.ev.board.driver import GpioEvBoard, open_board
from bench.ev.board.selftest import check_board, loop_back
from bench.ev.board.twin import EvWirePins
from charger.hw.config import ConnectorConfig, MeterConfig, PilotConfig
from charger.hw.pilot.driver import open_pilot


def charger_pilot(wire: Path, standard: str = "CCS1"):
    cfg = PilotConfig(backend="sim", pwm_pin=12, cp_channel=0, pp_channel=1, wire_file=str(wire))
    return open_pilot(cfg, standard)  # type: ignore[arg-type]


@pytest.fixture
def ends(tmp_path):
    """(charger pilot, EV board) of one CCS1 cable."""
    wire = tmp_path / "pilot.wire"
    pilot = charger_pilot(wire)
    board = open_board(sim_board(str(wire), 0, 1, "CCS1"))
    try:
        yield pilot, board
    finally:
        board.close()
        pilot.close()


def test_the_charger_reads_each_network_the_board_switches(ends):
    pilot, board = ends
    assert pilot.cp().state == "A"
    for state in ("B", "C", "D"):
        board.set_cp(state)
        assert pilot.cp().state == state
    board.set_cp("E")
    assert pilot.cp().state == "E"
    board.set_cp("unplugged")
    assert pilot.cp().state == "A"


def test_a_shorted_diode_shows_only_under_pwm(ends):
    pilot, board = ends
    board.set_cp("diode_fault")
    assert not pilot.cp().diode_fault  # steady +12 V: nothing to see on the low side
    pilot.set_duty(0.05)
    reading = pilot.cp()
    assert reading.diode_fault and reading.low_v > -10.0


def test_the_vehicle_reads_five_percent_as_digital_communication(ends):
    pilot, board = ends
    board.set_cp("B")
    seen = board.pilot()
    assert (seen.state, seen.duty, seen.offer) == ("B", None, "none")
    pilot.set_duty(0.05)
    seen = board.pilot()
    assert seen.offer == "digital"
    assert seen.duty == pytest.approx(0.05, abs=0.005)
    assert seen.frequency_hz == pytest.approx(1000, rel=0.05)
    assert seen.low_v == pytest.approx(-12.0, abs=0.3)


def test_the_vehicle_reads_an_ac_limit_and_state_f(ends):
    pilot, board = ends
    board.set_cp("B")
    pilot.set_duty(0.5)
    seen = board.pilot()
    assert seen.offer == "ac" and seen.ac_limit_a == pytest.approx(30.0, abs=0.5)
    pilot.set_duty(0.0)
    seen = board.pilot()
    assert (seen.state, seen.duty) == ("F", None)


def test_cp_shorted_to_pe_leaves_the_vehicle_no_edges(ends):
    pilot, board = ends
    pilot.set_duty(0.05)
    board.set_cp("E")
    seen = board.pilot()
    assert (seen.state, seen.duty) == ("E", None)


def test_ccs1_plug_latch_and_out_of_range(ends):
    pilot, board = ends
    assert not pilot.pp().plugged
    board.set_pp(150)
    pp = pilot.pp()
    assert pp.plugged and not pp.latch_pressed
    board.press_latch(True)
    assert pilot.pp().latch_pressed
    assert 2.51 <= (board.pp_volts() or 0.0) <= 3.01  # the vehicle's window for "pressed"
    board.press_latch(False)
    board.set_pp(47)
    assert not pilot.pp().plugged  # below every window: out of range


def test_ccs2_coding_resistor(tmp_path):
    wire = tmp_path / "pilot.wire"
    pilot = charger_pilot(wire, "CCS2")
    board = open_board(sim_board(str(wire), 0, 1, "CCS2"))
    try:
        board.set_pp(1500)
        assert pilot.pp().plugged
        board.set_pp(47)
        assert not pilot.pp().plugged
        with pytest.raises(ValueError, match="has no latch relay"):
            board.press_latch(True)
        with pytest.raises(ValueError, match="no 220 Ohm PP resistor .*fitted: 47, 1500"):
            board.set_pp(220)
    finally:
        board.close()
        pilot.close()


def test_relays_follow_the_active_level(tmp_path):
    wire = tmp_path / "pilot.wire"
    cfg = sim_board(str(wire), 0, 1, "CCS2", relay_active_high=False)
    factory = EvWirePins(cfg)
    board = GpioEvBoard(cfg, pin_factory=factory, owns_factory=True)
    try:
        assert factory.wire.ev(0)[0] == "unplugged"
        assert factory.pin(cfg.b_pin).state  # active low: off is high
        board.set_cp("C")
        assert factory.closed() == {"b", "c"}
        assert factory.wire.ev(0)[0] == "C"
    finally:
        board.close()


def _connector(wire: Path) -> ConnectorConfig:
    return ConnectorConfig(
        id=1,
        standard="CCS1",
        meter=MeterConfig(transport="tcp", port=1),
        pilot=PilotConfig(
            backend="sim", pwm_pin=12, cp_channel=0, pp_channel=1, wire_file=str(wire)
        ),
    )


def test_the_loop_back_self_test_passes_on_a_good_board(tmp_path):
    wire = tmp_path / "pilot.wire"
    result = check_board(sim_board(str(wire), 0, 1, "CCS1"), _connector(wire))
    assert result.ok, result.line()
    assert "PWM read as 5.0% at 1000 Hz (digital)" in result.saw


@pytest.mark.parametrize(
    ("miswired", "blamed"),
    [
        ({"b_pin": 19}, "check the B relay on GPIO5"),
        ({"pwm_in_pin": 19}, "comparator's output on GPIO26"),
        ({"diode_short_pin": 19}, "diode-short relay on GPIO20"),
    ],
)
def test_the_loop_back_self_test_names_a_miswired_pin(tmp_path, miswired, blamed):
    """The rig file says one GPIO, the relay board is on another: the step fails."""
    wire = tmp_path / "pilot.wire"
    said = sim_board(str(wire), 0, 1, "CCS1")
    actual = sim_board(str(wire), 0, 1, "CCS1", **miswired)
    board = GpioEvBoard(said, pin_factory=EvWirePins(actual), owns_factory=True)
    pilot = charger_pilot(wire)
    try:
        ok, saw, fix = loop_back(board, pilot, said)
    finally:
        board.close()
        pilot.close()
    assert not ok
    assert blamed in fix, (saw, fix)


def test_config_refuses_what_cannot_be_built():
    pins = {"b_pin": 5, "c_pin": 6, "d_pin": 16, "diode_short_pin": 20}
    pins |= {"cp_pe_short_pin": 21, "pwm_in_pin": 26}
    with pytest.raises(ValueError, match="no latch button"):
        EvBoardConfig(standard="CCS2", latch_pin=24, **pins)
    with pytest.raises(ValueError, match="resistor's Ohm value"):
        EvBoardConfig(pp_resistors={"big": 22}, **pins)
    with pytest.raises(ValueError, match="SPI0"):
        EvBoardConfig(spi_port=1, **pins)
    with pytest.raises(ValueError, match="unknown keys"):
        EvBoardConfig.from_dict({**pins, "b_pn": 4})
