import math
import struct
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from gpiozero import Device

from bench.twins.pilot import WireEv
from bench.twins.wire import SIZE, Wire
from charger.hw.config import PilotConfig
from charger.hw.interfaces import HardwareError
from charger.hw.pilot import circuit
from charger.hw.pilot.circuit import classify_cp, classify_pp, cp_levels, cp_reading, pp_volts
from charger.hw.pilot.driver import GpioPilot, open_pilot

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "ev,high",
    [("unplugged", 12.0), ("B", 8.98), ("C", 5.99), ("D", 2.93), ("E", 0.0), ("diode_fault", 8.79)],
)
def test_cp_levels_under_pwm(ev, high):
    hi, lo = cp_levels(0.05, ev)
    assert hi == pytest.approx(high, abs=0.01)
    expected_low = {"E": 0.0, "diode_fault": -8.79}.get(ev, -12.0)
    assert lo == pytest.approx(expected_low, abs=0.01)


def test_cp_levels_without_pwm():
    assert cp_levels(None, "B") == pytest.approx((8.98, 8.98), abs=0.01)  # steady +12 V
    assert cp_levels(0.0, "C") == (-12.0, -12.0)  # steady -12 V: diode blocks, state F
    assert cp_levels(1.0, "unplugged") == (12.0, 12.0)


@pytest.mark.parametrize(
    "volts,state",
    [
        (12.6, "A"), (11.4, "A"), (12.61, "E"), (11.39, "E"),
        (9.56, "B"), (8.36, "B"), (9.57, "E"), (8.35, "E"),
        (6.49, "C"), (5.48, "C"), (6.5, "E"), (5.47, "E"),
        (3.25, "D"), (2.62, "D"), (3.26, "E"), (2.61, "E"),
        (0.0, "E"), (-10.0, "F"), (-13.0, "F"), (-12.0, "F"), (-9.99, "E"), (-13.01, "E"),
    ],
)  # fmt: skip
def test_cp_window_edges(volts, state):
    assert classify_cp(volts) == state


def test_diode_fault_needs_pwm_and_a_high_low_level():
    assert cp_reading(8.79, -8.79, 0.05).diode_fault
    assert cp_reading(8.98, -10.0, 0.05).diode_fault is False  # edge of the low window
    assert cp_reading(8.98, -9.9, 0.05).diode_fault
    assert not cp_reading(8.98, -12.0, 0.05).diode_fault
    assert not cp_reading(8.79, 8.79, None).diode_fault  # no PWM, no low phase to judge
    assert not cp_reading(12.0, -8.0, 0.05).diode_fault  # state A: nothing connected


def test_pp_front_end():
    assert pp_volts(None) == pytest.approx(4.455, abs=0.001)
    assert pp_volts(math.inf) == pp_volts(None)
    assert pp_volts(0.0) == 0.0
    assert circuit.pp_ohms_from_volts(pp_volts(680.0)) == pytest.approx(680.0)
    assert circuit.pp_to_adc(5.0) < circuit.ADC_VREF  # never over the ADC's range
    assert circuit.cp_to_adc(-13.0) > 0 and circuit.cp_to_adc(12.6) < circuit.ADC_VREF


@pytest.mark.parametrize(
    "ohms,plugged,pressed",
    [(150.0, True, False), (480.0, True, True), (None, False, False), (0.0, False, False)],
)
def test_ccs1_pp(ohms, plugged, pressed):
    r = classify_pp(pp_volts(ohms), "CCS1")
    assert (r.plugged, r.latch_pressed) == (plugged, pressed)


def test_ccs1_pp_window_edges():
    assert classify_pp(0.80, "CCS1").plugged and classify_pp(1.72, "CCS1").plugged
    assert not classify_pp(0.79, "CCS1").plugged and not classify_pp(1.73, "CCS1").plugged
    assert classify_pp(2.51, "CCS1").latch_pressed and classify_pp(3.01, "CCS1").latch_pressed
    assert not classify_pp(3.02, "CCS1").plugged


@pytest.mark.parametrize(
    "ohms,plugged",
    [(circuit.CCS2_DC_GUN_PP_OHMS, True), (680.0, True), (220.0, True), (100.0, True),
     (56.0, False), (None, False), (10_000.0, False)],
)  # fmt: skip
def test_ccs2_pp(ohms, plugged):
    r = classify_pp(pp_volts(ohms), "CCS2")
    assert r.plugged is plugged and not r.latch_pressed


def sim_cfg(wire_file, slot=0, **kw):
    return PilotConfig(
        backend="sim",
        pwm_pin=18,
        cp_channel=0,
        pp_channel=1,
        wire_file=str(wire_file),
        slot=slot,
        **kw,
    )


@pytest.fixture
def sim(tmp_path):
    ev = WireEv(tmp_path / "wire")
    pilot = open_pilot(sim_cfg(ev.path, slot=1), "CCS1")
    yield ev, pilot
    pilot.close()
    ev.close()


def test_pilot_over_the_wire_through_mock_mcp3008(sim):
    ev, pilot = sim
    assert ev.evse_duty(1) is None  # power-up: steady +12 V
    r = pilot.cp()
    assert r.state == "A" and r.high_v == pytest.approx(12.0, abs=0.05)
    assert not pilot.pp().plugged

    ev.set_ev(1, "B", 150.0)
    pp = pilot.pp()
    assert pp.plugged and not pp.latch_pressed and pp.volts == pytest.approx(1.505, abs=0.01)
    assert pilot.cp().state == "B"

    pilot.set_duty(0.05)
    assert ev.evse_duty(1) == pytest.approx(0.05)
    assert ev.cp_levels(1) == pytest.approx((8.98, -12.0), abs=0.01)
    r = pilot.cp()  # the 5 % pulse is caught by the burst
    assert r.state == "B" and not r.diode_fault
    assert r.high_v == pytest.approx(8.98, abs=0.05) and r.low_v == pytest.approx(-12.0, abs=0.05)

    for state, expected in [("C", "C"), ("D", "D"), ("E", "E"), ("unplugged", "A")]:
        ev.set_ev(1, state, 150.0)
        assert pilot.cp().state == expected

    ev.set_ev(1, "diode_fault", 480.0)
    r = pilot.cp()
    assert r.state == "B" and r.diode_fault
    assert pilot.pp().latch_pressed

    pilot.set_duty(0.0)
    assert ev.evse_duty(1) == 0.0
    ev.set_ev(1, "B", 150.0)
    assert pilot.cp().state == "F"
    pilot.set_duty(None)
    assert ev.evse_duty(1) is None and pilot.cp().state == "B"


def test_adc_is_read_over_mock_spi(sim):
    _, pilot = sim
    adc = pilot._factory.adc
    before = list(adc.conversions_by_channel)
    pilot.cp()
    pilot.pp()
    # no PWM: the steady level takes one conversion
    assert adc.conversions_by_channel[0] - before[0] == 1
    assert adc.conversions_by_channel[1] - before[1] == 1
    pilot.set_duty(0.05)
    before = list(adc.conversions_by_channel)
    pilot.cp()
    # PWM running: a burst spanning a period catches both levels
    assert adc.conversions_by_channel[0] - before[0] == pilot.samples


@pytest.mark.parametrize("duty", [0.03, 0.05, 0.5, 0.97])
def test_burst_sees_both_levels_at_any_duty(sim, duty):
    ev, pilot = sim
    ev.set_ev(1, "C", 150.0)
    pilot.set_duty(duty)
    for _ in range(3):
        r = pilot.cp()
        assert r.state == "C" and r.low_v < -11


def test_two_pilots_in_one_process_are_independent(tmp_path):
    ev = WireEv(tmp_path / "wire")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to a default (global) pin factory
        p0 = open_pilot(sim_cfg(ev.path, slot=0), "CCS2")
        p1 = open_pilot(sim_cfg(ev.path, slot=1), "CCS1")
    try:
        ev.set_ev(0, "C", circuit.CCS2_DC_GUN_PP_OHMS)
        p1.set_duty(0.05)
        assert p0.cp().state == "C" and p0.pp().plugged
        assert p1.cp().state == "A" and not p1.pp().plugged
        assert ev.evse_duty(0) is None and ev.evse_duty(1) == pytest.approx(0.05)
        assert Device.pin_factory is None  # nobody touched the global factory
    finally:
        p0.close()
        p1.close()
        ev.close()


def test_wire_file_layout(tmp_path):
    w = Wire(tmp_path / "wire")
    assert (tmp_path / "wire").stat().st_size == SIZE == 8 + 8 * 20
    assert w.ev(3) == ("unplugged", math.inf) and w.duty(3) == 1.0
    w.set_ev(3, "D", 220.0)
    w.set_duty(3, 0.25)
    raw = (tmp_path / "wire").read_bytes()
    assert raw[:8] == b"BWIR\x01\x00\x08\x00"
    slot3 = raw[8 + 3 * 20 : 8 + 4 * 20]
    assert struct.unpack("<B3xffII", slot3) == (3, 220.0, 0.25, 1, 1)  # D, ohms, duty, seqs
    assert Wire(tmp_path / "wire").ev(3) == ("D", 220.0)  # a second mapping sees it
    with pytest.raises(ValueError):
        w.set_ev(8, "B", None)
    with pytest.raises(ValueError):
        w.set_ev(0, "X", None)  # type: ignore[arg-type]
    w.close()


def test_foreign_file_is_refused(tmp_path):
    (tmp_path / "wire").write_bytes(b"NOPE" + bytes(SIZE))
    with pytest.raises(HardwareError):
        Wire(tmp_path / "wire")


AGENT = textwrap.dedent(
    """
    import json, sys, time
    from charger.hw.config import PilotConfig
    from charger.hw.pilot.driver import open_pilot
    cfg = PilotConfig(backend="sim", pwm_pin=18, cp_channel=0, pp_channel=1,
                      wire_file=sys.argv[1], slot=0)
    pilot = open_pilot(cfg, "CCS1")
    pilot.set_duty(0.05)
    print("ready", flush=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pilot.cp().state != "C":
        time.sleep(0.005)
    print(json.dumps({"cp": pilot.cp().state, "pp": pilot.pp().plugged}), flush=True)
    pilot.close()
    """
)


def test_wire_across_processes(tmp_path):
    ev = WireEv(tmp_path / "wire")
    proc = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(ev.path)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert ev.evse_duty(0) == pytest.approx(0.05)  # the agent's PWM pin, seen here
        ev.set_ev(0, "C", 150.0)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == '{"cp": "C", "pp": true}'
    finally:
        if proc.poll() is None:
            proc.kill()
        ev.close()


@pytest.mark.rig
def test_gpio_pilot_on_the_pi_shows_state_a_unplugged():
    pilot = GpioPilot(pwm_pin=18, cp_channel=0, pp_channel=1, standard="CCS2")
    try:
        assert pilot.cp().state == "A"
    finally:
        pilot.close()
