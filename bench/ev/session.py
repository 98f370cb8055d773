"""The EV side of one connector: a sans-I/O state machine for a CCS DC session.

It plays what a car's EVCC does over DIN SPEC 70121 / ISO 15118-2, reduced to
what the charger can observe: the CP resistor network, the PP coding, the
:class:`~charger.hw.interfaces.EvStatus` the SECC reports, and the EV's own
contactor. The rig feeds it events (plug, latch, stop) and ticks (``step``) with
``now`` in seconds; it never reads a clock, so any scenario runs at any speed.

Typical tick of the rig's loop, for one connector::

    out = dc_output(dt=dt, contactors_closed=..., module=..., limits=...,
                    ev=session.electrical(), previous=out)
    session.charge(now, dt, out.voltage_v, out.current_a)   # battery gets V*I*dt
    session.step(now, duty, evse_command, out.voltage_v, out.current_a)
    # publish session.ev_status / cp_network / pp_ohms to the charger's side
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.ev.battery import Battery
from bench.ev.physics import EvElectrical
from bench.ev.standards import CpNetwork, Standard, is_digital_comm, standard_named
from charger.hw.interfaces import EvseCommand, EvseStatus, EvStatus, HlcStage


@dataclass(frozen=True)
class HlcTimings:
    """Seconds. Defaults follow DIN SPEC 70121; scenarios shorten them with ``replace``.

    The ``*_s`` durations are how long the EV spends in a stage that only waits
    for messages to go round; the ``*_timeout_s`` / timer values are the
    standard's limits after which the EV gives up and sets ``EvSession.error``.
    """

    slac_s: float = 2.0
    session_setup_s: float = 0.5  # SDP .. ServicePaymentSelection
    charge_parameter_discovery_s: float = 0.2
    welding_detection_s: float = 0.5
    session_stop_s: float = 0.2
    msg_timeout_s: float = 2.0  # any request without an answer from the EVSE
    current_demand_timeout_s: float = 0.25  # CurrentDemand request without an answer
    communication_setup_s: float = 20.0  # 5 % seen .. SessionSetup done
    ready_to_charge_s: float = 150.0  # Authorization entered .. PowerDelivery(start)
    cable_check_s: float = 40.0
    pre_charge_s: float = 7.0
    cp_detection_s: float = 1.5  # 5 % PWM gone this long during a session: abort
    power_delivery_stop_s: float = 2.0  # current still flowing after PowerDelivery(stop)


_RUNNING = (
    HlcStage.SLAC,
    HlcStage.SESSION_SETUP,
    HlcStage.AUTHORIZATION,
    HlcStage.CHARGE_PARAMETER_DISCOVERY,
    HlcStage.CABLE_CHECK,
    HlcStage.PRE_CHARGE,
    HlcStage.CURRENT_DEMAND,
)
"""Stages that need the 5 % PWM to stay up."""

_ANSWERED = _RUNNING[1:]
"""Stages whose requests the EVSE must keep answering."""

_BEFORE_POWER = (
    HlcStage.AUTHORIZATION,
    HlcStage.CHARGE_PARAMETER_DISCOVERY,
    HlcStage.CABLE_CHECK,
    HlcStage.PRE_CHARGE,
)
"""Stages covered by the ReadyToCharge timer."""

_STOPPING = (HlcStage.POWER_DELIVERY_STOP, HlcStage.WELDING_DETECTION, HlcStage.SESSION_STOP)

_EV_READY = (
    HlcStage.CHARGE_PARAMETER_DISCOVERY,
    HlcStage.CABLE_CHECK,
    HlcStage.PRE_CHARGE,
    HlcStage.CURRENT_DEMAND,
)


class EvSession:
    """One EV on one connector, from plug to unplug, possibly over several sessions.

    A session starts when the EV is plugged and sees the 5 % PWM; after it ends
    (IDLE or ERROR) the next one starts only once the PWM has gone away and come
    back, as a real car does not restart on its own.
    """

    def __init__(
        self,
        battery: Battery,
        standard: Standard | str = "CCS2",
        *,
        timings: HlcTimings | None = None,
        target_soc_percent: float = 80.0,
        ventilation: bool = False,
        precharge_tolerance_v: float = 10.0,
        stop_current_a: float = 1.0,
    ) -> None:
        self.battery = battery
        self.standard = standard_named(standard) if isinstance(standard, str) else standard
        self.timings = timings if timings is not None else HlcTimings()
        self.ventilation = ventilation  # charge in D instead of C
        self.precharge_tolerance_v = precharge_tolerance_v
        self.stop_current_a = stop_current_a
        self.target_soc_percent = 80.0
        self.set_target_soc(target_soc_percent)

        self.log: list[tuple[float, HlcStage]] = []
        """(now, stage) at every stage change."""
        self.cp_log: list[tuple[float, CpNetwork]] = []
        """(now, network) at every CP resistor change."""
        self.error: str | None = None
        """Why the last session was aborted (a timeout, PWM lost); None if it was not."""
        self.delivered_wh = 0.0
        """Energy that reached the EV through its contactor since construction."""

        self._plugged = False
        self._latch_pressed = False
        self._stage = HlcStage.IDLE
        self._stage_at = 0.0
        self._cp: CpNetwork = "unplugged"
        self._contactor = False
        self._armed = False  # the PWM left 5 % since the last session: may start again
        self._session_at = -math.inf
        self._ready_timer_at = math.inf  # set when Authorization starts
        self._duty_lost_at: float | None = None
        self._evse = EvseCommand()
        self._evse_at = -math.inf
        self._stop_requested = False
        self._charging_complete = False

    def __repr__(self) -> str:
        return (
            f"EvSession({self.standard.name}, {self._stage.name}, cp={self._cp}, "
            f"soc={self.battery.soc_percent:.2f} %, error={self.error!r})"
        )

    # --- outputs -------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        return self._plugged

    @property
    def latch_pressed(self) -> bool:
        return self._latch_pressed

    @property
    def stage(self) -> HlcStage:
        return self._stage

    @property
    def cp_network(self) -> CpNetwork:
        """The EV's CP resistor network: "unplugged" (state A), "B", "C" or "D"."""
        return self._cp

    @property
    def pp_ohms(self) -> float | None:
        """PP-PE resistance of the plug as the EV sees it; None when unplugged."""
        return self.standard.pp_ohms(self._plugged, self._latch_pressed)

    @property
    def ev_contactor_closed(self) -> bool:
        """The EV's own DC contactor: closed from PreCharge done until the current has stopped."""
        return self._contactor

    @property
    def target_current_a(self) -> float:
        """Current the EV asks for: the battery's acceptance in CurrentDemand, else 0."""
        if self._stage is HlcStage.CURRENT_DEMAND:
            return self.battery.accept_current_a()
        return 0.0

    @property
    def target_voltage_v(self) -> float:
        """Voltage the EV asks for.

        PreCharge: the battery's voltage (so the contactor closes without a
        surge). ChargeParameterDiscovery, CableCheck, CurrentDemand: the EV's
        maximum voltage (EVMaximumVoltageLimit, which the charger also uses for
        the isolation test). Otherwise 0.
        """
        if self._stage is HlcStage.PRE_CHARGE:
            return self.battery.voltage_v
        if self._stage in _EV_READY:
            return self.battery.max_voltage_v
        return 0.0

    @property
    def wants_power(self) -> bool:
        """True while the EV is in the CurrentDemand loop asking for current."""
        return self._stage is HlcStage.CURRENT_DEMAND and self.target_current_a > 0

    @property
    def ev_status(self) -> EvStatus:
        """What the SECC reports to the charger; nothing but the SoC when unplugged."""
        if not self._plugged:
            return EvStatus(soc_percent=self.battery.soc_percent)
        return EvStatus(
            stage=self._stage,
            soc_percent=self.battery.soc_percent,
            target_voltage_v=self.target_voltage_v,
            target_current_a=self.target_current_a,
            ev_ready=self._stage in _EV_READY,
            charging_complete=self._charging_complete,
            ev_error=self._stage is HlcStage.ERROR,
            stop_requested=self._stop_requested,
        )

    def electrical(self) -> EvElectrical:
        """The EV as :func:`bench.ev.physics.dc_output` needs it."""
        return EvElectrical(
            contactor_closed=self._contactor,
            battery_voltage_v=self.battery.voltage_v,
            accept_current_a=self.battery.accept_current_a(),
            target_current_a=self.target_current_a,
        )

    # --- inputs --------------------------------------------------------------

    def set_target_soc(self, percent: float) -> None:
        """SoC at which the EV ends charging by itself (checked every ``step``)."""
        self.target_soc_percent = min(100.0, max(0.0, float(percent)))

    def plug(self, now: float) -> None:
        """The gun goes in: CP shows B at once, a session may start on the next ``step``."""
        if self._plugged:
            return
        self._plugged = True
        self._armed = True
        self._duty_lost_at = None
        self._set_cp(now, "B")

    def unplug(self, now: float) -> None:
        """The gun comes out, whatever the stage: CP back to A, contactor open, IDLE."""
        if not self._plugged:
            return
        self._plugged = False
        self._latch_pressed = False
        self._contactor = False
        self._stop_requested = False
        self._charging_complete = False
        self._set_cp(now, "unplugged")
        self._enter(now, HlcStage.IDLE)

    def press_latch(self, now: float) -> None:
        """The driver presses the plug's button; on CCS1 this stops a running session."""
        self._latch_pressed = True
        if self._plugged and self.standard.has_latch_switch and self._active:
            self._stop_requested = True
            self._begin_stop(now)

    def release_latch(self, now: float) -> None:
        """The button is released; charging does not resume by itself."""
        self._latch_pressed = False

    def request_stop(self, now: float) -> None:
        """The driver (or the EV) ends charging: the normal EV-initiated stop sequence."""
        if self._plugged and self._active:
            self._stop_requested = True
            self._begin_stop(now)

    def charge(self, now: float, dt: float, voltage_v: float, current_a: float) -> float:
        """Give the battery V*I*dt delivered over ``dt``, only through the closed contactor.

        Call it with the output :func:`dc_output` returned for this tick, before
        ``step`` (which may open the contactor). Returns the watt-hours stored.
        ``now`` is only for symmetry with the other inputs.
        """
        if not self._contactor or dt <= 0 or current_a <= 0 or voltage_v <= 0:
            return 0.0
        wh = voltage_v * current_a * dt / 3600.0
        self.delivered_wh += wh
        return self.battery.add_energy(wh)

    def step(
        self,
        now: float,
        evse_duty: float | None,
        evse: EvseCommand | None,
        present_voltage_v: float,
        present_current_a: float,
        *,
        evse_age_s: float = 0.0,
    ) -> None:
        """Advance to ``now`` with what the EV sees on the CP and hears from the SECC.

        ``evse_duty`` is the PWM duty as a fraction (0.05 = 5 %) or None when
        there is no PWM. ``evse`` is the charger's latest answer, ``evse_age_s``
        old; None means no answer this tick (the last one is kept and ages). The
        present voltage and current are what the EVSE reports (the connector's).
        """
        if not self._plugged:
            return
        if evse is not None:
            self._evse = evse
            self._evse_at = now - evse_age_s
        duty_ok = is_digital_comm(evse_duty)
        if duty_ok:
            self._duty_lost_at = None
        elif self._duty_lost_at is None:
            self._duty_lost_at = now

        if not self._active:
            if not duty_ok:
                self._armed = True
            elif self._armed and not self._start_blocked:
                self._start_session(now)
        for _ in range(len(HlcStage) + 2):  # zero-length stages may chain in one tick
            if not self._advance(now, present_voltage_v, present_current_a):
                break

    # --- the state machine ---------------------------------------------------

    @property
    def _active(self) -> bool:
        return self._stage not in (HlcStage.IDLE, HlcStage.ERROR)

    @property
    def _start_blocked(self) -> bool:
        return self._latch_pressed and self.standard.has_latch_switch

    @property
    def _answer(self) -> EvseCommand:
        """The EVSE's latest answer, if it came during this session."""
        return self._evse if self._evse_at >= self._session_at else EvseCommand()

    def _start_session(self, now: float) -> None:
        self._armed = False
        self.error = None
        self._stop_requested = False
        self._charging_complete = False
        self._session_at = now
        self._ready_timer_at = math.inf
        self._enter(now, HlcStage.SLAC)

    def _advance(self, now: float, voltage_v: float, current_a: float) -> bool:
        """One transition at most; True if the stage changed."""
        stage = self._stage
        t = self.timings
        elapsed = now - self._stage_at
        if not self._active:
            return False

        if stage in _RUNNING and self._duty_lost_at is not None:
            if now - self._duty_lost_at > t.cp_detection_s:
                return self._abort(now, f"5 % PWM lost for more than {t.cp_detection_s:g} s")
        if stage in _ANSWERED:
            limit = (
                t.current_demand_timeout_s if stage is HlcStage.CURRENT_DEMAND else t.msg_timeout_s
            )
            if now - max(self._evse_at, self._stage_at) > limit:
                return self._abort(
                    now, f"no answer from the EVSE for more than {limit:g} s in {stage.name}"
                )
            answer = self._answer
            if answer.stop_requested or answer.status in (
                EvseStatus.SHUTDOWN,
                EvseStatus.EMERGENCY_SHUTDOWN,
            ):
                return self._begin_stop(now)
        if stage in (HlcStage.SLAC, HlcStage.SESSION_SETUP):
            if now - self._session_at > t.communication_setup_s:
                return self._abort(
                    now, f"communication setup took more than {t.communication_setup_s:g} s"
                )
        if stage in _BEFORE_POWER and now - self._ready_timer_at > t.ready_to_charge_s:
            return self._abort(
                now, f"not ready to charge within {t.ready_to_charge_s:g} s (ReadyToCharge)"
            )

        if stage is HlcStage.SLAC:
            return elapsed >= t.slac_s and self._enter(now, HlcStage.SESSION_SETUP)
        if stage is HlcStage.SESSION_SETUP:
            # The EVSE must have answered at least once in this session to go on.
            if elapsed >= t.session_setup_s and self._evse_at >= self._session_at:
                self._ready_timer_at = now
                return self._enter(now, HlcStage.AUTHORIZATION)
            return False
        if stage is HlcStage.AUTHORIZATION:
            # EVSEProcessing=Ongoing until authorized; only ReadyToCharge bounds it.
            return self._answer.authorized and self._enter(now, HlcStage.CHARGE_PARAMETER_DISCOVERY)
        if stage is HlcStage.CHARGE_PARAMETER_DISCOVERY:
            if elapsed >= t.charge_parameter_discovery_s:
                self._set_cp(now, "D" if self.ventilation else "C")
                return self._enter(now, HlcStage.CABLE_CHECK)
            return False
        if stage is HlcStage.CABLE_CHECK:
            if self._answer.isolation_valid:
                return self._enter(now, HlcStage.PRE_CHARGE)
            if elapsed > t.cable_check_s:
                return self._abort(now, f"CableCheck not finished within {t.cable_check_s:g} s")
            return False
        if stage is HlcStage.PRE_CHARGE:
            if abs(voltage_v - self.battery.voltage_v) <= self.precharge_tolerance_v:
                self._contactor = True  # PowerDelivery(start)
                return self._enter(now, HlcStage.CURRENT_DEMAND)
            if elapsed > t.pre_charge_s:
                return self._abort(now, f"PreCharge not reached within {t.pre_charge_s:g} s")
            return False
        if stage is HlcStage.CURRENT_DEMAND:
            battery = self.battery
            if battery.soc_percent >= self.target_soc_percent or battery.accept_current_a() <= 0:
                self._charging_complete = True
                return self._begin_stop(now)
            return False
        if stage is HlcStage.POWER_DELIVERY_STOP:
            if abs(current_a) < self.stop_current_a:
                self._contactor = False
                self._set_cp(now, "B")
                return self._enter(now, HlcStage.WELDING_DETECTION)
            if elapsed > t.power_delivery_stop_s:
                return self._abort(
                    now,
                    f"current still {current_a:.1f} A {t.power_delivery_stop_s:g} s "
                    "after PowerDelivery(stop)",
                )
            return False
        if stage is HlcStage.WELDING_DETECTION:
            return elapsed >= t.welding_detection_s and self._enter(now, HlcStage.SESSION_STOP)
        if stage is HlcStage.SESSION_STOP:
            return elapsed >= t.session_stop_s and self._enter(now, HlcStage.IDLE)
        return False

    def _begin_stop(self, now: float) -> bool:
        """Leave the session from wherever it is by the shortest legal path."""
        stage = self._stage
        if stage is HlcStage.CURRENT_DEMAND:
            return self._enter(now, HlcStage.POWER_DELIVERY_STOP)
        if stage in _STOPPING or not self._active:
            return False
        if stage is HlcStage.SLAC:  # no V2G session yet: nothing to stop
            return self._enter(now, HlcStage.IDLE)
        self._contactor = False
        self._set_cp(now, "B")
        return self._enter(now, HlcStage.SESSION_STOP)

    def _abort(self, now: float, reason: str) -> bool:
        """Give up: contactor open, CP back to B, stage ERROR with the reason kept."""
        self.error = reason
        self._contactor = False
        self._set_cp(now, "B")
        return self._enter(now, HlcStage.ERROR)

    def _enter(self, now: float, stage: HlcStage) -> bool:
        if stage is self._stage:
            return False
        self._stage = stage
        self._stage_at = now
        self.log.append((now, stage))
        return True

    def _set_cp(self, now: float, network: CpNetwork) -> None:
        if network != self._cp:
            self._cp = network
            self.cp_log.append((now, network))
