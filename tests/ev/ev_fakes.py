"""A tiny charger that plays the EVSE's part, and the tick loop that joins it to an EV.

Not the bench's agent: just enough of a DC charger (duty, authorization,
isolation, module setpoints, contactors) to walk an :class:`EvSession` through a
whole session, so the EV side can be tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench.ev import ChargerLimits, DcOutput, EvSession, ModuleSetpoint, dc_output
from charger.hw.interfaces import EvseCommand, EvseStatus, EvStatus, HlcStage


@dataclass
class FakeCharger:
    authorize_after_s: float = 3.0  # time spent in AUTHORIZATION before "authorized"
    isolation_after_s: float = 1.0  # time spent in CABLE_CHECK before isolation is valid
    isolation_ok: bool = True
    precharge_ok: bool = True  # False: the module never drives the precharge voltage
    duty: float | None = 0.05
    answering: bool = True
    stop_requested: bool = False
    status: EvseStatus = EvseStatus.READY
    max_current_a: float = 200.0
    max_power_w: float = 100_000.0
    max_voltage_v: float = 500.0
    _stage_at: dict[HlcStage, float] = field(default_factory=dict)

    @property
    def limits(self) -> ChargerLimits:
        return ChargerLimits(self.max_current_a, self.max_power_w)

    def tick(self, now: float, ev: EvStatus) -> tuple[EvseCommand | None, bool, ModuleSetpoint]:
        """(answer to the EV, contactors closed, module setpoint) for this tick."""
        stage = ev.stage
        since = self._stage_at.setdefault(stage, now)
        for other in list(self._stage_at):
            if other is not stage:
                del self._stage_at[other]
        in_stage = now - since
        authorized = stage >= HlcStage.AUTHORIZATION and (
            stage > HlcStage.AUTHORIZATION or in_stage >= self.authorize_after_s
        )
        isolation = self.isolation_ok and (
            stage in (HlcStage.PRE_CHARGE, HlcStage.CURRENT_DEMAND)
            or (stage is HlcStage.CABLE_CHECK and in_stage >= self.isolation_after_s)
        )
        contactors = stage in (
            HlcStage.CABLE_CHECK,
            HlcStage.PRE_CHARGE,
            HlcStage.CURRENT_DEMAND,
            HlcStage.POWER_DELIVERY_STOP,
        )
        module = ModuleSetpoint()
        if stage is HlcStage.CABLE_CHECK:
            module = ModuleSetpoint(ev.target_voltage_v, 2.0, True)
        elif stage is HlcStage.PRE_CHARGE and self.precharge_ok:
            module = ModuleSetpoint(ev.target_voltage_v, 2.0, True)
        elif stage is HlcStage.CURRENT_DEMAND:
            module = ModuleSetpoint(ev.target_voltage_v, ev.target_current_a, True)
        command = EvseCommand(
            status=self.status,
            authorized=authorized,
            isolation_valid=isolation,
            stop_requested=self.stop_requested,
            max_current_a=self.max_current_a,
            max_voltage_v=self.max_voltage_v,
            max_power_w=self.max_power_w,
        )
        return (command if self.answering else None), contactors, module


@dataclass
class Sample:
    now: float
    stage: HlcStage
    soc: float
    voltage_v: float
    current_a: float
    accept_a: float
    target_a: float
    cp: str
    ev_contactor: bool
    charger_contactors: bool
    module: ModuleSetpoint


@dataclass
class Loop:
    """The rig's physics loop in miniature: charger, dc_output, battery, EV, meter."""

    ev: EvSession
    charger: FakeCharger = field(default_factory=FakeCharger)
    dt: float = 0.1
    ticks: int = 0
    out: DcOutput = field(default_factory=DcOutput)
    meter_wh: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    @property
    def now(self) -> float:
        return self.ticks * self.dt

    def tick(self) -> None:
        now = self.now
        command, contactors, module = self.charger.tick(now, self.ev.ev_status)
        self.out = dc_output(
            dt=self.dt,
            contactors_closed=contactors,
            module=module,
            limits=self.charger.limits,
            ev=self.ev.electrical(),
            previous=self.out,
        )
        self.meter_wh += self.out.voltage_v * self.out.current_a * self.dt / 3600.0
        self.ev.charge(now, self.dt, self.out.voltage_v, self.out.current_a)
        self.ev.step(now, self.charger.duty, command, self.out.voltage_v, self.out.current_a)
        self.samples.append(
            Sample(
                now,
                self.ev.stage,
                self.ev.battery.soc_percent,
                self.out.voltage_v,
                self.out.current_a,
                self.ev.battery.accept_current_a(),
                self.ev.target_current_a,
                self.ev.cp_network,
                self.ev.ev_contactor_closed,
                contactors,
                module,
            )
        )
        self.ticks += 1

    def run(self, seconds: float, until: Callable[[EvSession], bool] | None = None) -> bool:
        """Tick for up to ``seconds``; True as soon as ``until(ev)`` holds."""
        for _ in range(round(seconds / self.dt)):
            self.tick()
            if until is not None and until(self.ev):
                return True
        return False

    def run_to(self, stage: HlcStage, seconds: float = 600.0) -> None:
        assert self.run(seconds, lambda ev: ev.stage is stage), (
            f"never reached {stage.name}: {self.ev!r}, log {self.ev.log}"
        )
