from __future__ import annotations

import xml.etree.ElementTree as ET

from report_fixtures import case

from bench.report import render_junit


def test_junit_parses_with_right_counts(run) -> None:
    root = ET.fromstring(render_junit(run))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "cs.core",
        "cs.firmware",
        "cs.trigger",
    ]
    assert len(root.findall(".//failure")) == 1
    assert len(root.findall(".//error")) == 1
    assert len(root.findall(".//skipped")) == 1


def test_testcase_attributes_and_messages(run) -> None:
    root = ET.fromstring(render_junit(run))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    ok = cases["TC_003_CS Title of TC_003_CS"]
    assert ok.get("classname") == "cs.core" and ok.get("time") == "1.500"
    assert list(ok) == []
    failure = cases["TC_012_CS Title of TC_012_CS"].find("failure")
    assert failure.get("message") == "why TC_012_CS"
    assert "send RemoteStop" in failure.text
    assert cases["TC_044_1_CS Title of TC_044_1_CS"].find("skipped").get("message") == (
        "why TC_044_1_CS"
    )
    assert cases["TC_054_CS Title of TC_054_CS"].find("error") is not None
    suite = root.find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["dut.name"] == "BENCH-DC-2 0.1.0"


def test_characters_xml_cannot_carry_are_replaced() -> None:
    bad = case("TC_X", "fail", details={"message": "bad\x00byte <&> \x1b[0m"})
    root = ET.fromstring(render_junit({"cases": [bad]}))
    assert root.find(".//failure").get("message") == "bad\ufffdbyte <&> \ufffd[0m"
