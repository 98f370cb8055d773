from __future__ import annotations

import re
from html.parser import HTMLParser

from report_fixtures import T0, case, cs_trace, frame

from bench.report import render_html

EVIL = "<script>alert('x')</script>"


class Tags(HTMLParser):
    """Start tags seen by a real HTML parser, and the page's visible text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_both_seed_tables_with_measured_figures(run) -> None:
    page = render_html(run)
    text = " ".join(Tags(page).text)
    assert "Test Result Summary" in text
    assert "Performance Measurement Results" in text
    for name in ("Core", "Firmware Management", "Remote Trigger", "Security extension"):
        assert name in text
    assert "Not Tested" in text and "Fail" in text
    for name in (
        "OCPP response time",
        "OCPP triggered function time",
        "Transaction authorization time by RemoteStartTransaction",
        "Transaction authorization end time by RemoteStopTransaction",
    ):
        assert name in text
    # the DUT is a charger: the CSMS-only Authorize row is not shown
    assert "Authorize response time" not in text
    # RemoteStart 1.50, RemoteStop 2.00; response min/max/avg 0.13/0.75/0.41
    assert re.search(r">0\.13<.*?>0\.75<.*?>0\.41<", page)
    assert ">1.50<" in page and ">2.00<" in page
    assert "BENCH-DC-2 0.1.0" in text and "bench run --role cs" in text


def test_unmeasured_row_says_so(run) -> None:
    run["cases"] = [case("TC_1")]
    assert "not measured" in render_html(run)


def test_payload_and_messages_are_escaped(run) -> None:
    run["cases"][0]["trace"].append(frame(50, "dut", 2, "e1", "DataTransfer", data=EVIL))
    run["cases"][1]["details"]["message"] = EVIL
    run["cases"][1]["title"] = EVIL
    run["run"]["dut"]["name"] = EVIL
    page = render_html(run)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "script" not in Tags(page).tags


def test_trace_has_millisecond_utc_times_and_directions(run) -> None:
    run["cases"][0]["trace"][0]["ts"] = T0 + 0.123
    page = render_html(run)
    assert "01:00:00.123" in page
    assert "DUT → bench" in page and "bench → DUT" in page
    assert "RemoteStartTransaction" in page and "CALLRESULT" in page
    assert '{"connectorId":1,"idTag":"TAG1"}' in page.replace("&quot;", '"')


def test_svg_charts_when_samples_exist(run) -> None:
    page = render_html(run)
    # one chart per quantity for the one case with samples, both connectors in each
    assert page.count("<svg") - page.count('<svg class="timeline"') == 4
    for label in ("Power (kW)", "Current (A)", "Voltage (V)", "State of charge (%)"):
        assert label in page
    assert page.count("<polyline") == 8
    assert "Connector 1" in page and "Connector 2" in page and "Time (s)" in page


def test_no_svg_without_samples(run) -> None:
    for c in run["cases"]:
        c["samples"] = {}
    run["cases"][1]["samples"] = {"1": [], "2": []}
    page = render_html(run)
    assert page.count("<svg") == page.count('<svg class="timeline"')  # sequence charts only


def test_index_links_every_case_with_its_verdict(run) -> None:
    page = render_html(run)
    parsed = Tags(page)
    ids = [c["id"] for c in run["cases"]]
    for i, cid in enumerate(ids, 1):
        assert f'<a href="#case-{i}">{cid}</a>' in page
    assert all(h[1:] in parsed.ids for h in parsed.hrefs if h.startswith("#"))
    for badge in ("PASS", "FAIL", "ERROR", "N/A"):
        assert f">{badge}</span>" in page
    # failures are listed at the top, before the summary
    top = page[: page.index('id="summary"')]
    assert "TC_012_CS" in top and "TC_054_CS" in top and "TC_003_CS" not in top


def test_self_contained(run) -> None:
    page = render_html(run)
    tags = Tags(page).tags
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_minimal_run_renders() -> None:
    page = render_html({"cases": [{"id": "X", "trace": [frame(0, "bench", 2, "u", "Heartbeat")]}]})
    assert "X" in page and "Heartbeat" in page


def test_cases_keep_run_order_in_details(run) -> None:
    page = render_html(run)
    positions = [page.index(f'id="case-{i}"') for i in range(1, 5)]
    assert positions == sorted(positions)
    assert cs_trace()[2]["action"] in page


def test_mangled_frames_are_shown_not_fatal() -> None:
    trace = [
        {"ts": T0, "sender": "dut", "message_type": 0, "unique_id": "", "payload": {"raw": EVIL}},
        {"sender": "dut", "message_type": [3], "unique_id": ["x"], "payload": None},
        frame(1, "bench", 2, "b1", "Heartbeat"),
    ]
    page = render_html({"cases": [case("T", trace=trace)]})
    assert "unreadable" in page and "<script" not in page


def test_idle_samples_are_summarised_in_words(run) -> None:
    run["cases"] = [case("T", samples={"1": [{"t": T0, "power_w": 0.0, "voltage_v": 0.0}]})]
    page = render_html(run)
    assert "<svg" not in page and "1 sample, all zero" in page
