"""Self-test of a rig's parts, one check per part, through the agent's own drivers.

Run before anything else (``bench selftest``, or a fleet's first step): every meter
answers a Modbus read with plausible values, the power stage sends its status on CAN
within a few cycles, the RFID port opens and what arrives decodes, every control pilot
reads state A at +12 V with PWM off and follows a duty change (the low level goes to
-12 V), and every proximity pilot reads "no cable". Each result says what was seen, so
a failure names the part, the problem and the fix in one line. Needs the EVs unplugged
and no agent running on the same parts.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import serial

from charger.hw.can.driver import CanPowerStage
from charger.hw.config import ConnectorConfig, HardwareConfig
from charger.hw.health import HealthBoard, Kind, diagnose
from charger.hw.interfaces import HardwareError
from charger.hw.meter.driver import ModbusMeter
from charger.hw.meter.line import ModbusLine
from charger.hw.pilot import circuit
from charger.hw.pilot.driver import GpioPilot, open_pilot, pilot_where
from charger.hw.rfid.rdm6300 import FrameDecoder

RFID_LISTEN_S = 0.6
CAN_CYCLES = 5  # status frames are cyclic; a few cycles of silence is a failure
CAN_MIN_WAIT_S = 2.0  # generous: a verdict must not depend on a busy machine
TEST_DUTY = 0.05  # the duty CCS uses (digital communication)


@dataclass(frozen=True)
class CheckResult:
    part: str
    where: str
    ok: bool
    saw: str  # what the part answered, or the problem
    fix: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        fix = f" -> {self.fix}" if self.fix and not self.ok else ""
        return f"{verdict} {self.part} ({self.where}): {self.saw}{fix}"


def _failure(part: str, where: str, kind: Kind, exc: BaseException) -> CheckResult:
    problem, fix = diagnose(kind, where, exc)
    return CheckResult(part, where, False, problem, fix)


async def check_meter(c: ConnectorConfig, line: ModbusLine) -> CheckResult:
    meter = ModbusMeter(c.meter, line=line, connector=c.id)
    where = f"{c.meter.model} {line.key}#{c.meter.unit}"
    try:
        r = await meter.read()
    except HardwareError as exc:
        return _failure(f"meter {c.id}", where, "modbus", exc)
    saw = (
        f"{r.voltage_v:.1f} V {r.current_a:.1f} A {r.power_w:.0f} W, "
        f"import {r.energy_import_wh:.0f} Wh export {r.energy_export_wh:.0f} Wh"
    )
    if r.phase_voltage_v:
        saw += ", phases " + " / ".join(f"{v:.0f} V" for v in r.phase_voltage_v)
    return CheckResult(f"meter {c.id}", where, True, saw)


async def check_power(cfg: HardwareConfig) -> CheckResult:
    ids = [c.id for c in cfg.connectors]
    health = HealthBoard(quiet=True)
    stage = CanPowerStage(cfg.can, connectors=ids, health=health)
    where = stage.where
    wait_s = max(CAN_MIN_WAIT_S, CAN_CYCLES * stage.cycle_s)
    began = time.monotonic()
    await stage.start()
    try:
        while time.monotonic() - began < wait_s:
            if all(stage.age_s(cid) < wait_s for cid in ids):
                break
            await asyncio.sleep(0.02)
        took = time.monotonic() - began
        silent = [cid for cid in ids if stage.age_s(cid) == float("inf")]
        down = health.get("power stage")
        if not stage.bus_open and down is not None and not down.ok:
            return CheckResult("power stage", where, False, down.problem or "", down.fix)
        if silent:
            return CheckResult(
                "power stage",
                where,
                False,
                f"no status frame for connector(s) {silent} within {wait_s:.1f} s "
                f"({stage.stats['rx']} frames received)",
                "check the power stage's supply, CAN H/L, the 120 Ohm terminations and "
                "that the bitrate matches (ip -details link show can0)",
            )
        parts = []
        for cid in ids:
            s = stage.status(cid)
            parts.append(
                f"{cid}: contactors {'closed' if s.contactors_closed else 'open'}, "
                f"module {'on' if s.module_enabled else 'off'}"
                + (", E-STOP pressed" if s.emergency_stop else "")
            )
        return CheckResult(
            "power stage", where, True, f"status within {took * 1000:.0f} ms; " + "; ".join(parts)
        )
    finally:
        await stage.close()


def check_rfid(cfg: HardwareConfig, expect_card: str | None = None) -> CheckResult:
    r = cfg.rfid
    where = f"{r.model} {r.device}"
    if r.model == "pn532":
        from charger.hw.rfid.pn532_driver import probe

        try:
            saw = probe(r.device, r.baudrate or 115200)
        except (HardwareError, serial.SerialException, OSError) as exc:
            return _failure("rfid", where, "serial", exc)
        if expect_card is not None and f"card {expect_card}" not in saw:
            return CheckResult("rfid", where, False, f"{saw}; card {expect_card} not read")
        return CheckResult("rfid", where, True, saw)
    decoder = FrameDecoder()
    try:
        with serial.Serial(r.device, r.baudrate or 9600, timeout=0.05) as port:
            deadline = time.monotonic() + RFID_LISTEN_S
            uids: list[str] = []
            while time.monotonic() < deadline:
                uids += decoder.feed(port.read(64))
    except (serial.SerialException, OSError) as exc:
        return _failure("rfid", where, "serial", exc)
    noise = decoder.rejected + decoder.garbage_bytes
    if noise and not uids:
        return CheckResult(
            "rfid",
            where,
            False,
            f"bytes that do not decode ({decoder.rejected} bad frames, "
            f"{decoder.garbage_bytes} stray bytes): {decoder.last_error or 'no frame start'}",
            f"check the baud rate ({r.baudrate}) and that the reader is an {r.model}",
        )
    if expect_card is not None and expect_card not in uids:
        return CheckResult(
            "rfid", where, False, f"card {expect_card} held to it, not read", "check TX->RX"
        )
    seen = (
        f"card {uids[0]} decoded ({len(uids)} frames)"
        if uids
        else "no card in the field (an RDM6300 is silent without one: --card UID proves it)"
    )
    return CheckResult("rfid", where, True, f"port open at {r.baudrate} baud; {seen}")


def check_pilot(c: ConnectorConfig) -> list[CheckResult]:
    where = pilot_where(c.pilot)
    cp_part, pp_part = f"CP {c.id}", f"PP {c.id}"
    try:
        pilot: GpioPilot = open_pilot(c.pilot, c.standard)
    except HardwareError as exc:
        failed = _failure(cp_part, where, "gpio", exc)
        return [failed, CheckResult(pp_part, where, False, failed.saw, failed.fix)]
    try:
        pilot.set_duty(None)
        idle = pilot.cp()
        lo, hi = circuit.CP_WINDOWS["A"]
        if idle.state != "A":
            cp = CheckResult(
                cp_part,
                where,
                False,
                f"state {idle.state} at {idle.high_v:+.1f} V with PWM off, expected A "
                f"({lo:+.1f}..{hi:+.1f} V)",
                "unplug the EV; check the +/-12 V supply of the CP oscillator and the ADC channel",
            )
        else:
            pilot.set_duty(TEST_DUTY)
            pwm = pilot.cp()
            pilot.set_duty(None)
            low_lo, low_hi = circuit.CP_LOW_WINDOW
            if low_lo <= pwm.low_v <= low_hi and pwm.state == "A":
                cp = CheckResult(
                    cp_part,
                    where,
                    True,
                    f"A at {idle.high_v:+.1f} V with PWM off; PWM {TEST_DUTY:.0%}: "
                    f"{pwm.high_v:+.1f} / {pwm.low_v:+.1f} V",
                )
            else:
                cp = CheckResult(
                    cp_part,
                    where,
                    False,
                    f"PWM {TEST_DUTY:.0%} did not show: high {pwm.high_v:+.1f} V, low "
                    f"{pwm.low_v:+.1f} V (expected {low_lo:+.0f}..{low_hi:+.0f} V)",
                    f"check that GPIO{c.pilot.pwm_pin} drives the CP oscillator "
                    "(dtoverlay=pwm-2chan for hardware PWM)",
                )
        pp = pilot.pp()
        if pp.plugged:
            pp_result = CheckResult(
                pp_part,
                where,
                False,
                f"reads a cable ({pp.volts:.2f} V)",
                "unplug the EV; check the PP pull-up and the ADC channel",
            )
        else:
            pp_result = CheckResult(pp_part, where, True, f"no cable ({pp.volts:.2f} V)")
        return [cp, pp_result]
    finally:
        pilot.set_duty(None)
        pilot.close()


async def _timed(check: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
    began = time.monotonic()
    result = await check()
    return CheckResult(**{**asdict(result), "seconds": round(time.monotonic() - began, 3)})


async def run_selftest(cfg: HardwareConfig, expect_card: str | None = None) -> list[CheckResult]:
    """Every check of ``cfg``'s parts, in the order a wiring fault is easiest to find."""
    results: list[CheckResult] = []
    lines: dict[str, ModbusLine] = {}
    try:
        for c in cfg.connectors:
            line = lines.setdefault(c.meter.line(), ModbusLine(c.meter))
            results.append(await _timed(functools.partial(check_meter, c, line)))
    finally:
        for line in lines.values():
            await line.close()
    results.append(await _timed(lambda: check_power(cfg)))

    async def rfid() -> CheckResult:
        return await asyncio.to_thread(check_rfid, cfg, expect_card)

    results.append(await _timed(rfid))
    for c in cfg.connectors:
        began = time.monotonic()
        pair = await asyncio.to_thread(check_pilot, c)
        took = round((time.monotonic() - began) / 2, 3)
        results += [CheckResult(**{**asdict(r), "seconds": took}) for r in pair]
    return results


def format_table(results: list[CheckResult]) -> str:
    """A table: part, verdict, where, what it saw (:meth:`CheckResult.line` adds the fix)."""
    width = max(len(r.part) for r in results) if results else 4
    where_w = min(48, max((len(r.where) for r in results), default=5))
    out = [f"{'part':{width}}  verdict  {'where':{where_w}}  saw"]
    for r in results:
        verdict = "PASS" if r.ok else "FAIL"
        out.append(f"{r.part:{width}}  {verdict:7}  {r.where:{where_w}}  {r.saw}")
    return "\n".join(out)
