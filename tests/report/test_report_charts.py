from __future__ import annotations

from bench.report.charts import charts, series_by_quantity, ticks


def test_ticks_are_round_and_cover_the_range() -> None:
    assert ticks(0, 68) == [0, 20, 40, 60, 80]
    assert ticks(340, 400) == [340, 360, 380, 400]
    assert ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert ticks(5, 5) == [4, 4.5, 5, 5.5, 6]


def test_series_scale_units_and_start_at_the_first_sample() -> None:
    samples = {
        "2": [{"t": 102.0, "power_w": 2000.0, "soc": None}],
        "1": [{"t": 101.0, "power_w": 68000.0, "soc": 20.0}, {"t": 100.0, "power_w": 0.0}],
    }
    got = series_by_quantity(samples)
    assert list(got["power_w"]) == ["1", "2"]
    assert got["power_w"]["1"] == [(0.0, 0.0), (1.0, 68.0)]
    assert got["power_w"]["2"] == [(2.0, 2.0)]
    assert got["soc"] == {"1": [(1.0, 20.0)]}  # a connector without SoC draws no line
    assert "current_a" not in got and "voltage_v" not in got


def test_charts_have_labelled_axes_and_tick_values() -> None:
    svgs = charts({"1": [{"t": 0.0, "current_a": 0.0}, {"t": 60.0, "current_a": 200.0}]})
    assert len(svgs) == 1
    svg = svgs[0]
    assert "Current (A)" in svg and "Time (s)" in svg and "Connector 1" in svg
    assert ">200</text>" in svg and ">60</text>" in svg
    assert svg.count("<polyline") == 1


def test_bad_values_are_skipped_not_fatal() -> None:
    samples = {
        "1": [
            {"t": "x", "power_w": 1.0},
            {"t": 1.0, "power_w": float("nan")},
            {"t": 2.0, "power_w": True},
        ]
    }
    assert charts(samples) == []
    assert charts(None) == [] and charts({}) == []


def test_all_zero_samples_draw_no_chart() -> None:
    samples = {
        "1": [{"t": float(t), "power_w": 0.0, "current_a": 0.0, "soc": None} for t in range(3)]
    }
    assert charts(samples) == []
