"""The report to read: summary first, cases folded, evidence on demand, a full print view;
each case's sequence chart and its steps with their verdicts."""

from __future__ import annotations

import re

from report_fixtures import case, cs_trace

from bench.report import render_case_page, render_html, render_index, write_report
from bench.report.steps import step_verdicts
from bench.report.timeline import timeline_svg


def test_the_index_puts_the_summary_first_and_folds_every_case(run) -> None:
    page = render_index(run)
    summary = page.index("Test Result Summary")
    folds = [m.start() for m in re.finditer(r'<details class="case"', page)]
    assert len(folds) == len(run["cases"]) and summary < folds[0]
    assert "<details open" not in page  # folded until opened
    # the heavy parts are not in the index: loaded from the case's own page when opened
    assert '<table class="trace">' not in page and "<polyline" not in page
    frames = re.findall(
        r'<iframe class="case-detail" loading="lazy" src="(cases/case-\d+\.html)"', page
    )
    assert frames == [f"cases/case-{n + 1}.html" for n in range(len(run["cases"]))]
    assert 'href="print.html"' in page


def test_the_print_view_holds_every_trace_chart_and_timeline(run) -> None:
    full = render_html(run)
    assert full.count('<table class="trace">') == len([c for c in run["cases"] if c.get("trace")])
    assert "<details" not in full  # nothing to open on paper
    assert full.count('<svg class="timeline"') == len([c for c in run["cases"] if c.get("trace")])
    assert len(full) > len(render_index(run))


def test_a_case_page_has_its_timeline_trace_and_charts(run) -> None:
    with_samples = next(i for i, c in enumerate(run["cases"]) if c.get("samples"))
    page = render_case_page(run, with_samples)
    assert '<svg class="timeline"' in page and '<table class="trace">' in page
    assert "<polyline" in page


def test_the_timeline_draws_one_arrow_per_frame_and_the_steps_between() -> None:
    trace = cs_trace()
    steps = [
        {"t": 0.0, "text": "expect BootNotification within 30 s", "frame": 0},
        {"t": 1.0, "text": "expect StartTransaction within 10 s", "frame": 2},
    ]
    svg = timeline_svg(case("X", trace=trace, steps=steps, verdict="fail"), "cs")
    assert svg.count("<polygon") == len(trace)
    assert "Charge Point (DUT)" in svg and "Central System (bench)" in svg
    # the first step passed, the last (where the case stopped) failed
    assert 'class="step pass">✓ expect BootNotification' in svg
    assert 'class="step fail">✗ expect StartTransaction' in svg
    first_step = svg.index("expect BootNotification")
    second_step = svg.index("expect StartTransaction")
    third_arrow = [m.start() for m in re.finditer("<polygon", svg)][2]
    assert first_step < svg.index("<polygon") and second_step < third_arrow
    csms = timeline_svg(case("Y", trace=trace), "csms")
    assert "Central System (DUT)" in csms


def test_step_verdicts_follow_where_the_case_stopped() -> None:
    steps = [{"text": "a"}, {"text": "b"}, {"text": "c"}]
    assert step_verdicts(steps, "pass") == ["pass", "pass", "pass"]
    assert step_verdicts(steps, "fail") == ["pass", "pass", "fail"]
    assert step_verdicts(steps, "error") == ["pass", "pass", "error"]
    assert step_verdicts(steps, "running") == ["pass", "pass", "running"]
    assert step_verdicts([], "fail") == []


def test_labels_from_the_run_are_escaped_in_the_timeline() -> None:
    evil = "<script>alert(1)</script>"
    svg = timeline_svg(case("X", trace=cs_trace(), steps=[{"t": 0, "text": evil, "frame": 0}]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_written_report_files_link_up(run, tmp_path) -> None:
    paths = write_report(run, tmp_path)
    index = paths["html"].read_text(encoding="utf-8")
    for src in re.findall(r'src="(cases/case-\d+\.html)"', index):
        assert (tmp_path / src).is_file()
