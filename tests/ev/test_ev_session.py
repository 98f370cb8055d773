"""The EV session driven tick by tick against a fake charger; no sleeps, simulated time."""

from dataclasses import replace

import pytest
from ev_fakes import FakeCharger, Loop

from bench.ev import EvSession, HlcTimings, ccs1_car, ccs2_car
from charger.hw.interfaces import EvseCommand, EvseStatus, HlcStage

S = HlcStage
FULL_SEQUENCE = [
    S.SLAC,
    S.SESSION_SETUP,
    S.AUTHORIZATION,
    S.CHARGE_PARAMETER_DISCOVERY,
    S.CABLE_CHECK,
    S.PRE_CHARGE,
    S.CURRENT_DEMAND,
    S.POWER_DELIVERY_STOP,
    S.WELDING_DETECTION,
    S.SESSION_STOP,
    S.IDLE,
]


def stages(ev: EvSession) -> list[HlcStage]:
    return [stage for _, stage in ev.log]


def entered(ev: EvSession, stage: HlcStage) -> float:
    return next(t for t, s in ev.log if s is stage)


def plugged_loop(ev: EvSession, **charger) -> Loop:
    loop = Loop(ev, FakeCharger(**charger))
    ev.plug(loop.now)
    return loop


@pytest.mark.parametrize(
    ("standard", "battery", "pp"),
    [("CCS2", ccs2_car(79.0), 1500.0), ("CCS1", ccs1_car(79.0), 150.0)],
)
def test_full_session_to_target_soc(standard, battery, pp) -> None:
    ev = EvSession(battery, standard, target_soc_percent=82.0)
    assert ev.cp_network == "unplugged" and ev.pp_ohms is None
    loop = plugged_loop(ev)
    assert ev.cp_network == "B" and ev.pp_ohms == pp
    soc0 = battery.soc_percent

    loop.run_to(S.AUTHORIZATION)
    assert ev.ev_status.stage is S.AUTHORIZATION
    loop.run_to(S.CABLE_CHECK)
    assert ev.cp_network == "C" and not ev.ev_contactor_closed
    loop.run_to(S.PRE_CHARGE)
    assert ev.ev_status.target_voltage_v == pytest.approx(battery.voltage_v)
    loop.run_to(S.CURRENT_DEMAND)
    assert ev.ev_contactor_closed and ev.wants_power
    assert abs(loop.out.voltage_v - battery.voltage_v) <= 10.0
    loop.run(5.0)
    status = ev.ev_status
    assert status.ev_ready and status.target_current_a == pytest.approx(battery.accept_current_a())
    assert loop.out.current_a > 50.0

    loop.run_to(S.IDLE, seconds=3600.0)
    assert stages(ev) == FULL_SEQUENCE
    assert ev.error is None
    assert ev.ev_status.charging_complete and not ev.ev_status.ev_error
    assert 82.0 <= battery.soc_percent < 82.05
    assert ev.cp_network == "B" and ev.plugged and not ev.ev_contactor_closed
    # SoC rose by exactly the energy the meter saw, over the capacity
    assert loop.meter_wh == pytest.approx(ev.delivered_wh, rel=1e-12)
    assert battery.soc_percent - soc0 == pytest.approx(
        loop.meter_wh / battery.capacity_wh * 100.0, abs=1e-9
    )
    # No current except through both closed contactors
    for s in loop.samples:
        if s.current_a > 0:
            assert s.ev_contactor and s.charger_contactors
    # C only from CableCheck until the contactor opened; B again within 250 ms of the stop
    t_stop = entered(ev, S.POWER_DELIVERY_STOP)
    t_b = next(t for t, cp in ev.cp_log if cp == "B" and t >= t_stop)
    assert t_b - t_stop <= 0.25
    assert [cp for _, cp in ev.cp_log] == ["B", "C", "B"]


def test_taper_reduces_current_above_80_percent() -> None:
    battery = ccs1_car(76.0)  # battery limits (~140 A) below the charger's (200 A, 100 kW)
    ev = EvSession(battery, "CCS1", target_soc_percent=95.0)
    loop = plugged_loop(ev)
    loop.dt = 0.2
    loop.run_to(S.IDLE, seconds=7200.0)
    assert ev.ev_status.charging_complete and battery.soc_percent >= 95.0

    demand = [s for s in loop.samples if s.stage is S.CURRENT_DEMAND and s.current_a > 0]

    def current_at(soc: float) -> float:
        return next(s.current_a for s in demand if s.soc >= soc)

    flat = [s.current_a for s in demand if 78.0 <= s.soc <= 80.0]
    assert max(flat) - min(flat) < 3.0  # below 80 %: power-limited plateau
    assert current_at(85.0) < 0.8 * current_at(79.0)
    assert current_at(90.0) < 0.6 * current_at(79.0)
    assert current_at(94.0) < current_at(90.0) < current_at(85.0)
    # Above the ramp, the delivered current is what the battery accepts
    for s in demand:
        if s.soc > 81.0:
            assert s.current_a == pytest.approx(s.accept_a, rel=0.02)
    assert battery.soc_percent - 76.0 == pytest.approx(loop.meter_wh / 66_000.0 * 100.0)


def test_request_stop_path() -> None:
    ev = EvSession(ccs2_car(50.0), "CCS2")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    loop.run(10.0)
    assert loop.out.current_a > 0
    ev.request_stop(loop.now)
    assert ev.stage is S.POWER_DELIVERY_STOP
    assert ev.ev_status.stop_requested and ev.ev_status.target_current_a == 0.0
    assert not ev.wants_power
    loop.run_to(S.IDLE, seconds=10.0)
    assert stages(ev) == FULL_SEQUENCE
    assert ev.error is None
    assert not ev.ev_status.charging_complete and ev.ev_status.stop_requested
    assert ev.cp_network == "B"
    t_stop = entered(ev, S.POWER_DELIVERY_STOP)
    assert next(t for t, cp in ev.cp_log if cp == "B" and t >= t_stop) - t_stop <= 0.25


def test_no_restart_until_the_pwm_goes_away_and_comes_back() -> None:
    ev = EvSession(ccs2_car(50.0), "CCS2", timings=HlcTimings(slac_s=0.5))
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    ev.request_stop(loop.now)
    loop.run_to(S.IDLE)
    loop.run(10.0)
    assert ev.stage is S.IDLE
    loop.charger.duty = None
    loop.run(1.0)
    loop.charger.duty = 0.05
    loop.run_to(S.CURRENT_DEMAND)
    assert not ev.ev_status.stop_requested


@pytest.mark.parametrize(
    "stage", [S.AUTHORIZATION, S.CABLE_CHECK, S.CURRENT_DEMAND, S.POWER_DELIVERY_STOP]
)
def test_unplug_mid_session(stage) -> None:
    ev = EvSession(ccs2_car(50.0), "CCS2")
    loop = plugged_loop(ev)
    if stage is S.POWER_DELIVERY_STOP:
        loop.run_to(S.CURRENT_DEMAND)
        loop.run(5.0)
        ev.request_stop(loop.now)
    else:
        loop.run_to(stage)
    assert ev.stage is stage
    ev.unplug(loop.now)
    assert ev.cp_network == "unplugged" and ev.pp_ohms is None
    assert not ev.ev_contactor_closed and ev.stage is S.IDLE
    assert ev.ev_status.stage is S.IDLE and ev.error is None
    loop.run(2.0)
    assert ev.stage is S.IDLE and loop.out.current_a == 0.0
    # plugging back in starts afresh
    ev.plug(loop.now)
    loop.run_to(S.CURRENT_DEMAND)


def test_ccs1_latch_press_stops_charging() -> None:
    ev = EvSession(ccs1_car(40.0), "CCS1")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    loop.run(10.0)
    assert loop.out.current_a > 100.0
    ev.press_latch(loop.now)
    assert ev.pp_ohms == 480.0
    assert ev.stage is S.POWER_DELIVERY_STOP
    loop.run(0.3)
    assert loop.out.current_a == 0.0 and not ev.ev_contactor_closed and ev.cp_network == "B"
    loop.run_to(S.IDLE, seconds=5.0)
    assert not ev.ev_status.charging_complete and ev.error is None
    # While the button stays pressed the EV does not start again
    loop.charger.duty = None
    loop.run(1.0)
    loop.charger.duty = 0.05
    loop.run(5.0)
    assert ev.stage is S.IDLE
    ev.release_latch(loop.now)
    assert ev.pp_ohms == 150.0
    loop.run_to(S.SLAC, seconds=1.0)


def test_ccs1_latch_press_before_power_ends_the_session() -> None:
    ev = EvSession(ccs1_car(40.0), "CCS1")
    loop = plugged_loop(ev, authorize_after_s=60.0)
    loop.run_to(S.AUTHORIZATION)
    ev.press_latch(loop.now)
    loop.run_to(S.IDLE, seconds=5.0)
    assert stages(ev)[-2:] == [S.SESSION_STOP, S.IDLE]
    assert S.CABLE_CHECK not in stages(ev)


def test_ccs2_latch_button_does_not_stop() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    ev.press_latch(loop.now)
    loop.run(2.0)
    assert ev.stage is S.CURRENT_DEMAND and ev.pp_ohms == 1500.0


@pytest.mark.parametrize(
    "command",
    [
        dict(stop_requested=True),
        dict(status=EvseStatus.SHUTDOWN),
        dict(status=EvseStatus.EMERGENCY_SHUTDOWN),
    ],
)
def test_evse_initiated_stop(command) -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    loop.run(3.0)
    for key, value in command.items():
        setattr(loop.charger, key, value)
    loop.run_to(S.IDLE, seconds=5.0)
    assert stages(ev) == FULL_SEQUENCE
    assert ev.error is None and not ev.ev_status.stop_requested
    assert not ev.ev_status.charging_complete


def test_long_authorization_is_fine_within_ready_to_charge() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev, authorize_after_s=100.0)
    loop.dt = 0.25
    loop.run_to(S.CURRENT_DEMAND, seconds=200.0)
    assert ev.error is None
    assert entered(ev, S.CHARGE_PARAMETER_DISCOVERY) - entered(ev, S.AUTHORIZATION) >= 100.0


def test_ready_to_charge_timeout() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev, authorize_after_s=1e9)
    loop.dt = 0.25
    loop.run_to(S.ERROR, seconds=200.0)
    assert "ReadyToCharge" in ev.error
    assert loop.now - entered(ev, S.AUTHORIZATION) == pytest.approx(150.0, abs=0.5)
    assert ev.ev_status.ev_error


def test_cable_check_timeout_sets_error() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev, isolation_ok=False)
    loop.run_to(S.ERROR, seconds=120.0)
    assert "CableCheck" in ev.error
    assert entered(ev, S.ERROR) - entered(ev, S.CABLE_CHECK) == pytest.approx(40.0, abs=0.15)
    assert S.PRE_CHARGE not in stages(ev)
    assert ev.cp_network == "B" and not ev.ev_contactor_closed
    status = ev.ev_status
    assert status.stage is S.ERROR and status.ev_error and status.target_current_a == 0.0


def test_pre_charge_timeout_sets_error() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev, precharge_ok=False)
    loop.run_to(S.ERROR, seconds=120.0)
    assert "PreCharge" in ev.error
    assert entered(ev, S.ERROR) - entered(ev, S.PRE_CHARGE) == pytest.approx(7.0, abs=0.15)
    assert S.CURRENT_DEMAND not in stages(ev)
    assert not ev.ev_contactor_closed and ev.cp_network == "B"
    assert all(s.current_a == 0.0 for s in loop.samples)


def test_pwm_lost_aborts_after_cp_detection_time() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    loop.run(2.0)
    lost_at = loop.now
    loop.charger.duty = None
    loop.run_to(S.ERROR, seconds=5.0)
    assert "PWM" in ev.error
    assert entered(ev, S.ERROR) - lost_at == pytest.approx(1.6, abs=0.11)
    assert not ev.ev_contactor_closed and ev.cp_network == "B"
    loop.run(0.2)
    assert loop.out.current_a == 0.0


def test_evse_silent_in_current_demand_aborts_after_250_ms() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev)
    loop.dt = 0.05
    loop.run_to(S.CURRENT_DEMAND)
    loop.run(1.0)
    loop.charger.answering = False
    silent_at = loop.now
    loop.run_to(S.ERROR, seconds=2.0)
    assert "no answer" in ev.error and "CURRENT_DEMAND" in ev.error
    assert 0.25 < entered(ev, S.ERROR) - silent_at + loop.dt <= 0.35


def test_evse_silent_before_power_aborts_after_2_s() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev, answering=False)
    loop.run_to(S.ERROR, seconds=30.0)
    assert "SESSION_SETUP" in ev.error
    assert entered(ev, S.ERROR) - entered(ev, S.SESSION_SETUP) == pytest.approx(2.1, abs=0.06)


def test_answer_age_counts() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    ev.plug(0.0)
    ev.step(0.0, 0.05, None, 0.0, 0.0)
    ev.step(2.0, 0.05, None, 0.0, 0.0)
    assert ev.stage is S.SESSION_SETUP
    ev.step(4.5, 0.05, EvseCommand(), 0.0, 0.0, evse_age_s=2.4)  # heard at 2.1: too old
    assert ev.stage is S.ERROR and "SESSION_SETUP" in ev.error
    ev.step(5.0, None, None, 0.0, 0.0)  # PWM off and on again: a new session
    ev.step(5.1, 0.05, None, 0.0, 0.0)
    ev.step(7.1, 0.05, None, 0.0, 0.0)
    ev.step(7.9, 0.05, EvseCommand(), 0.0, 0.0, evse_age_s=0.2)
    assert ev.stage is S.AUTHORIZATION and ev.error is None


def test_shortened_timings_chain_zero_length_stages() -> None:
    fast = replace(
        HlcTimings(),
        slac_s=0.0,
        session_setup_s=0.0,
        charge_parameter_discovery_s=0.0,
        welding_detection_s=0.0,
        session_stop_s=0.0,
    )
    ev = EvSession(ccs2_car(40.0), "CCS2", timings=fast)
    ev.plug(0.0)
    ev.step(0.0, 0.05, EvseCommand(authorized=True, isolation_valid=True), 0.0, 0.0)
    assert ev.stage is S.PRE_CHARGE  # SLAC .. CableCheck in one tick
    assert ev.cp_network == "C"
    ev.step(
        0.1, 0.05, EvseCommand(authorized=True, isolation_valid=True), ev.battery.voltage_v, 0.0
    )
    assert ev.stage is S.CURRENT_DEMAND and ev.ev_contactor_closed


def test_ventilation_uses_d() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2", ventilation=True)
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    assert ev.cp_network == "D"


def test_charge_only_through_the_closed_contactor() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    assert ev.charge(0.0, 1.0, 400.0, 100.0) == 0.0
    assert ev.battery.soc_percent == 40.0 and ev.delivered_wh == 0.0


def test_current_that_does_not_stop_aborts() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2")
    loop = plugged_loop(ev)
    loop.run_to(S.CURRENT_DEMAND)
    ev.request_stop(loop.now)
    t0 = loop.now
    volts = ev.battery.voltage_v
    for k in range(1, 30):  # an EVSE that keeps pushing 50 A
        ev.step(t0 + 0.1 * k, 0.05, EvseCommand(authorized=True), volts, 50.0)
    assert ev.stage is S.ERROR and "PowerDelivery(stop)" in ev.error
    assert entered(ev, S.ERROR) - t0 == pytest.approx(2.1, abs=0.01)
    assert not ev.ev_contactor_closed and ev.cp_network == "B"


def test_communication_setup_timeout() -> None:
    ev = EvSession(ccs2_car(40.0), "CCS2", timings=HlcTimings(slac_s=25.0))
    loop = plugged_loop(ev)
    loop.run_to(S.ERROR, seconds=30.0)
    assert "communication setup" in ev.error
    assert entered(ev, S.ERROR) == pytest.approx(20.1, abs=0.01)
