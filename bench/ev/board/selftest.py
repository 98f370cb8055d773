"""``bench selftest`` for the vehicle-side boards: a loop-back through the cable.

Each board is checked against its connector's charger-side pilot, both opened with
their own drivers (the charger's ``GpioPilot``, the bench's ``GpioEvBoard``), with the
EV's inlet plugged into the charger's cable: the vehicle reads +12 V (A) with no PWM;
its B relay makes the charger read B; the charger's 5 % PWM is read back by the
vehicle's edge timer at about 1 kHz; the diode relay makes the charger see a diode
fault; a fitted PP resistor makes the charger see a plug. Each step names the relay or
input to check when it fails. Runs after the charger's own checks (they need A).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.ev.board.config import EvBoardConfig
from bench.ev.board.driver import GpioEvBoard, board_where, open_board
from charger.hw.config import ConnectorConfig
from charger.hw.health import diagnose
from charger.hw.interfaces import HardwareError
from charger.hw.pilot.driver import GpioPilot, open_pilot
from charger.hw.selftest import CheckResult

TEST_DUTY = 0.05
DUTY_TOLERANCE = 0.01
FREQ_RANGE_HZ = (950.0, 1050.0)  # IEC 61851-1: 1 kHz +/- 5 %
SETTLE_S = 0.03  # relays switch in < 10 ms


def loop_back(ev: GpioEvBoard, pilot: GpioPilot, cfg: EvBoardConfig) -> tuple[bool, str, str]:
    """(ok, what was seen, the fix) for one board; stops at the first failing step."""
    seen: list[str] = []

    def fail(problem: str, fix: str) -> tuple[bool, str, str]:
        return False, "; ".join([*seen, problem]), fix

    ev.set_cp("unplugged")
    ev.set_pp(None)
    pilot.set_duty(None)
    idle = ev.pilot()
    if idle.state != "A" or idle.duty is not None:
        return fail(
            f"the vehicle reads {idle.state} at {idle.high_v:+.1f} V with the charger idle "
            "(expected A, +12 V, no PWM)",
            f"check the CP wire to MCP3008 channel {cfg.cp_channel} through the level shifter",
        )
    seen.append(f"A at {idle.high_v:+.1f} V")
    ev.set_cp("B")
    time.sleep(SETTLE_S)
    cp = pilot.cp()
    if cp.state != "B":
        return fail(
            f"B relay on: the charger reads {cp.state} at {cp.high_v:+.1f} V",
            f"check the B relay on GPIO{cfg.b_pin}, its 2.74 kOhm and the diode "
            f"(relay_active_high = {str(cfg.relay_active_high).lower()}?)",
        )
    seen.append(f"B relay -> charger reads {cp.high_v:+.1f} V")
    pilot.set_duty(TEST_DUTY)
    time.sleep(SETTLE_S)
    pwm = ev.pilot()
    lo, hi = FREQ_RANGE_HZ
    if (
        pwm.duty is None
        or abs(pwm.duty - TEST_DUTY) > DUTY_TOLERANCE
        or pwm.frequency_hz is None
        or not lo <= pwm.frequency_hz <= hi
    ):
        duty = "no PWM" if pwm.duty is None else f"{pwm.duty:.1%} at {pwm.frequency_hz:.0f} Hz"
        return fail(
            f"charger's {TEST_DUTY:.0%} PWM read by the vehicle as {duty}",
            f"check the comparator's output on GPIO{cfg.pwm_in_pin} (CP > 0 V, 3.3 V logic)",
        )
    seen.append(f"PWM read as {pwm.duty:.1%} at {pwm.frequency_hz:.0f} Hz ({pwm.offer})")
    ev.set_cp("diode_fault")
    time.sleep(SETTLE_S)
    cp = pilot.cp()
    if not cp.diode_fault:
        return fail(
            f"diode relay on: the charger reads low {cp.low_v:+.1f} V, no diode fault",
            f"check the diode-short relay on GPIO{cfg.diode_short_pin}",
        )
    seen.append(f"diode relay -> low {cp.low_v:+.1f} V")
    ev.set_cp("unplugged")
    pilot.set_duty(None)
    plug = next((o for o in ev.pp_choices() if o >= 75.0), None)
    if plug is not None:
        ev.set_pp(plug)
        time.sleep(SETTLE_S)
        pp = pilot.pp()
        ev.set_pp(None)
        if not pp.plugged:
            return fail(
                f"PP {plug:g} Ohm relay on: the charger reads no plug ({pp.volts:.2f} V)",
                "check that PP relay and its resistor to PE",
            )
        seen.append(f"PP {plug:g} Ohm -> {pp.volts:.2f} V")
    return True, "; ".join(seen), ""


def check_board(cfg: EvBoardConfig, connector: ConnectorConfig) -> CheckResult:
    """One loop-back check of ``cfg`` against ``connector``'s charger-side pilot."""
    part, where = f"EV board {cfg.connector}", board_where(cfg)
    began = time.monotonic()
    opened: list[Callable[[], None]] = []
    try:
        try:
            ev = open_board(cfg)
            opened.append(ev.close)
            pilot = open_pilot(connector.pilot, connector.standard)
            opened.append(pilot.close)
        except HardwareError as exc:
            problem, fix = diagnose("gpio", where, exc)
            return CheckResult(part, where, False, problem, fix)
        try:
            ok, saw, fix = loop_back(ev, pilot, cfg)
        finally:
            ev.set_cp("unplugged")
            ev.set_pp(None)
            pilot.set_duty(None)
        return CheckResult(part, where, ok, saw, fix or None, round(time.monotonic() - began, 3))
    finally:
        for close in reversed(opened):
            close()
