from dataclasses import replace

import pytest

from bench.ev import CCS1, CCS2, standard_named
from bench.ev.standards import (
    CCS1_PP_VOLT_WINDOWS,
    CP_NETWORK_OHMS,
    CP_STATE,
    ccs1_pp_volts,
    cp_high_volts,
    is_digital_comm,
)


def test_cp_networks() -> None:
    assert CP_NETWORK_OHMS["unplugged"] is None
    assert CP_NETWORK_OHMS["B"] == 2740.0
    assert CP_NETWORK_OHMS["C"] == pytest.approx(882.0, abs=0.5)
    assert CP_NETWORK_OHMS["D"] == pytest.approx(246.0, abs=0.5)
    assert CP_STATE["unplugged"] == "A"


@pytest.mark.parametrize(
    ("network", "window"),
    [("unplugged", (11.4, 12.6)), ("B", (8.36, 9.56)), ("C", (5.48, 6.49)), ("D", (2.62, 3.25))],
)
def test_cp_levels_fall_in_the_practical_windows(network, window) -> None:
    assert window[0] <= cp_high_volts(network) <= window[1]


def test_digital_communication_duty() -> None:
    assert is_digital_comm(0.05) and is_digital_comm(0.03) and is_digital_comm(0.07)
    assert not is_digital_comm(None)
    assert not is_digital_comm(0.0)
    assert not is_digital_comm(0.10)


def test_ccs1_pp_coding() -> None:
    assert CCS1.pp_ohms(plugged=False) is None
    assert CCS1.pp_ohms(plugged=True) == 150.0
    assert CCS1.pp_ohms(plugged=True, latch_pressed=True) == 480.0
    assert CCS1.has_latch_switch
    assert CCS1.pp_state(None) == "unplugged"
    assert CCS1.pp_state(150.0) == "plugged"
    assert CCS1.pp_state(480.0) == "latch_pressed"
    assert CCS1.pp_state(1000.0) == "error"
    assert CCS1.pp_state(10.0) == "error"


@pytest.mark.parametrize(
    ("ohms", "state"), [(None, "unplugged"), (150.0, "plugged"), (480.0, "latch_pressed")]
)
def test_ccs1_vehicle_side_volts_match_the_facts(ohms, state) -> None:
    low, high = CCS1_PP_VOLT_WINDOWS[state]
    assert low <= ccs1_pp_volts(ohms) <= high


def test_ccs2_pp_coding() -> None:
    assert CCS2.pp_ohms(plugged=False) is None
    assert CCS2.pp_ohms(plugged=True) == CCS2.pp_ohms(plugged=True, latch_pressed=True)
    assert not CCS2.has_latch_switch
    assert CCS2.pp_state(CCS2.pp_plugged_ohms) == "plugged"
    assert CCS2.pp_state(50.0) == "error"  # below 75 Ohm
    assert CCS2.pp_state(10_000.0) == "unplugged"
    measured = replace(CCS2, pp_plugged_ohms=680.0)
    assert measured.pp_ohms(plugged=True) == 680.0


def test_lookup_by_name() -> None:
    assert standard_named("CCS1") is CCS1 and standard_named("CCS2") is CCS2
    with pytest.raises(ValueError):
        standard_named("CHAdeMO")
