import pytest

from bench.ev import Battery, Taper, ccs1_car, ccs2_car


def small(soc: float = 50.0, **kw) -> Battery:
    args = dict(
        nominal_voltage_v=360.0,
        min_voltage_v=300.0,
        max_voltage_v=400.0,
        max_current_a=200.0,
        max_power_w=50_000.0,
    )
    args.update(kw)
    return Battery(10_000.0, soc, **args)


def test_voltage_rises_with_soc_between_min_and_max() -> None:
    volts = [small(soc).voltage_v for soc in range(0, 101, 5)]
    assert volts[0] == 300.0 and volts[-1] == 400.0
    assert small(50).voltage_v == 360.0
    assert all(a < b for a, b in zip(volts, volts[1:], strict=False))


def test_accept_current_is_current_or_power_limited() -> None:
    b = small(10.0)  # 312 V: 50 kW / 312 V = 160 A < 200 A
    assert b.accept_current_a() == pytest.approx(50_000.0 / b.voltage_v)
    b = small(10.0, max_power_w=500_000.0)
    assert b.accept_current_a() == 200.0


def test_taper_is_linear_from_start_to_end_current() -> None:
    b = small(80.0, max_power_w=1e9, taper=Taper(80.0, 10.0))
    assert b.accept_current_a() == 200.0
    b.soc_percent = 90.0
    assert b.accept_current_a() == pytest.approx(105.0)
    b.soc_percent = 99.999
    assert b.accept_current_a() == pytest.approx(10.0, abs=0.01)
    b.soc_percent = 100.0
    assert b.accept_current_a() == 0.0


def test_add_energy_moves_soc_by_energy_over_capacity() -> None:
    b = small(20.0)
    assert b.add_energy(1_000.0) == 1_000.0
    assert b.soc_percent == pytest.approx(30.0)
    assert b.add_energy(-5.0) == 0.0
    assert b.add_energy(100_000.0) == pytest.approx(7_000.0)  # only what fits
    assert b.soc_percent == 100.0


def test_efficiency_applies_to_stored_energy() -> None:
    b = small(20.0, efficiency=0.9)
    assert b.add_energy(1_000.0) == pytest.approx(900.0)
    assert b.soc_percent == pytest.approx(29.0)


def test_presets() -> None:
    eu, us = ccs2_car(30.0), ccs1_car(30.0)
    assert eu.capacity_wh == 77_000.0 and us.capacity_wh == 66_000.0
    for b in (eu, us):
        assert 300.0 <= b.min_voltage_v < b.max_voltage_v <= 410.0  # 400 V class
        assert b.soc_percent == 30.0
        assert 0 < b.accept_current_a() <= b.max_current_a
    assert ccs2_car().soc_percent == 20.0


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        small(min_voltage_v=500.0)
    with pytest.raises(ValueError):
        Battery(
            0,
            50,
            nominal_voltage_v=1,
            min_voltage_v=1,
            max_voltage_v=1,
            max_current_a=1,
            max_power_w=1,
        )
