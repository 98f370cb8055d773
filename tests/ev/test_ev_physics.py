import math
import random

import pytest

from bench.ev import ChargerLimits, DcOutput, EvElectrical, ModuleSetpoint, dc_output

LIMITS = ChargerLimits(max_current_a=200.0, max_power_w=50_000.0)


def ev(closed: bool = True, volts: float = 380.0, accept: float = 300.0, target: float = 300.0):
    return EvElectrical(closed, volts, accept, target)


def test_precharge_voltage_follows_setpoint_first_order() -> None:
    module = ModuleSetpoint(380.0, 2.0, True)
    out = dc_output(
        dt=0.1,
        contactors_closed=True,
        module=module,
        limits=LIMITS,
        ev=ev(closed=False),
        previous=DcOutput(),
        voltage_tau_s=0.1,
    )
    assert out.current_a == 0.0
    assert out.voltage_v == pytest.approx(380.0 * (1 - math.exp(-1)))
    for _ in range(20):
        out = dc_output(
            dt=0.1,
            contactors_closed=True,
            module=module,
            limits=LIMITS,
            ev=ev(closed=False),
            previous=out,
            voltage_tau_s=0.1,
        )
    assert out.voltage_v == pytest.approx(380.0, abs=0.01)
    # module off or contactors open: the output bleeds away
    off = dc_output(
        dt=1.0,
        contactors_closed=False,
        module=module,
        limits=LIMITS,
        ev=ev(closed=False),
        previous=out,
        voltage_tau_s=0.1,
    )
    assert off.voltage_v < 1.0 and off.current_a == 0.0


def test_current_ramps_at_the_slew_rate_and_settles_at_the_lowest_limit() -> None:
    module = ModuleSetpoint(400.0, 150.0, True)
    out, currents = DcOutput(380.0, 0.0), []
    for _ in range(30):
        out = dc_output(
            dt=0.1,
            contactors_closed=True,
            module=module,
            limits=LIMITS,
            ev=ev(),
            previous=out,
            current_slew_a_per_s=100.0,
        )
        currents.append(out.current_a)
        assert out.voltage_v == 380.0  # the battery clamps the bus
    assert currents[0] == pytest.approx(10.0)
    assert currents[4] == pytest.approx(50.0)
    assert currents[-1] == pytest.approx(min(150.0, 50_000.0 / 380.0))  # power-limited 131.6 A


def test_current_falls_at_once_when_a_limit_drops() -> None:
    out = DcOutput(380.0, 120.0)
    out = dc_output(
        dt=0.1,
        contactors_closed=True,
        module=ModuleSetpoint(400.0, 150.0, True),
        limits=LIMITS,
        ev=ev(target=0.0),
        previous=out,
    )
    assert out.current_a == 0.0


def test_module_below_the_battery_pushes_no_current() -> None:
    out = dc_output(
        dt=0.1,
        contactors_closed=True,
        module=ModuleSetpoint(300.0, 150.0, True),
        limits=LIMITS,
        ev=ev(),
        previous=DcOutput(380.0, 0.0),
    )
    assert out == DcOutput(380.0, 0.0)


def test_random_bounds() -> None:
    """Never above any limit; zero with any contactor open or the module off."""
    rng = random.Random(61851)
    out = DcOutput()
    for _ in range(5000):
        charger_closed = rng.random() < 0.8
        the_ev = ev(
            closed=rng.random() < 0.8,
            volts=rng.uniform(250.0, 450.0),
            accept=rng.uniform(0.0, 400.0),
            target=rng.uniform(0.0, 400.0),
        )
        module = ModuleSetpoint(
            rng.uniform(200.0, 500.0), rng.uniform(0.0, 400.0), rng.random() < 0.9
        )
        limits = ChargerLimits(rng.uniform(50.0, 500.0), rng.uniform(10_000.0, 200_000.0))
        out = dc_output(
            dt=rng.uniform(0.01, 0.5),
            contactors_closed=charger_closed,
            module=module,
            limits=limits,
            ev=the_ev,
            previous=out,
            current_slew_a_per_s=rng.uniform(10.0, 1000.0),
        )
        assert out.current_a >= 0.0
        if not (charger_closed and the_ev.contactor_closed and module.enabled):
            assert out.current_a == 0.0
            continue
        eps = 1e-9
        assert out.current_a <= module.current_limit_a + eps
        assert out.current_a <= limits.max_current_a + eps
        assert out.current_a <= the_ev.target_current_a + eps
        assert out.current_a <= the_ev.accept_current_a + eps
        assert out.current_a * out.voltage_v <= limits.max_power_w + 1e-6
