"""The fleet summary over report folders shaped as the fleet playbook leaves them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import case, make_run

from bench.cli import main as bench_main
from bench.report import write_report
from bench.report.fleet import collect, write_fleet_summary

STAMP = "20261201T170000Z"


def selftest(ok: bool) -> dict[str, Any]:
    """What ``bench selftest --rig FILE --json`` prints: the meter is unplugged unless ok."""
    meter = {
        "part": "meter 1",
        "where": "acrel-djsf1352-rn rtu:/dev/bench-rs485#1",
        "ok": ok,
        "saw": "1234.5 kWh, 0.0 A, 398.2 V" if ok else "RS-485 adapter missing",
        "fix": None if ok else "plug the adapter in or fix `device` in the rig file",
        "seconds": 0.02,
    }
    stage = {"part": "power stage", "where": "socketcan:can0", "ok": True, "saw": "status"}
    return {"rig": "/etc/ocpp-bench/rig.toml", "ok": ok, "parts": [meter, stage]}


def rig_report(
    root: Path,
    rig: str,
    cases: list[dict[str, Any]] | None,
    stamp: str = STAMP,
    selftest_rc: int | None = 0,
    **status: Any,
) -> Path:
    """``root/rig/stamp/`` as fleet.yml fetches it: the bench's report, selftest, status."""
    folder = root / rig / stamp
    folder.mkdir(parents=True)
    if cases is not None:
        run = make_run()
        run["cases"] = cases
        write_report(run, folder)
    if selftest_rc is not None:
        (folder / "selftest.json").write_text(json.dumps(selftest(ok=selftest_rc == 0)))
        status["selftest_rc"] = selftest_rc
    (folder / "status.json").write_text(json.dumps({"rig": rig, "stamp": stamp, **status}))
    return folder


def suites_of(path: Path) -> dict[str, ET.Element]:
    return {s.get("name"): s for s in ET.parse(path).getroot().iter("testsuite")}


def test_two_rigs_merge_into_one_junit_with_every_case_once_per_rig(tmp_path) -> None:
    rig_report(tmp_path, "rig-a", [case("TC_003_CS"), case("TC_012_CS")])
    rig_report(tmp_path, "rig-b", [case("TC_003_CS"), case("TC_012_CS", "fail")])

    written = write_fleet_summary(tmp_path, STAMP)

    root = ET.parse(written["junit"]).getroot()
    suites = suites_of(written["junit"])
    assert set(suites) == {"rig-a/rig", "rig-a/cs.core", "rig-b/rig", "rig-b/cs.core"}
    # per rig: the selftest, one test per part it checked, the report; then its two cases
    assert root.get("tests") == "12" and root.get("failures") == "1" and root.get("errors") == "0"
    classnames = sorted(
        c.get("classname") for c in root.iter("testcase") if c.get("name").startswith("TC_003_CS")
    )
    assert classnames == ["rig-a.cs.core", "rig-b.cs.core"]
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [
        ("rig-b.cs.core", "TC_012_CS Title of TC_012_CS")
    ]
    assert written["result"] == "Fail"
    fleet = json.loads(written["json"].read_text())
    assert [(r["rig"], r["result"], r["counts"]["fail"]) for r in fleet["rigs"]] == [
        ("rig-a", "Pass", 0),
        ("rig-b", "Fail", 1),
    ]


def test_index_links_to_each_rigs_report_and_names_failing_cases(tmp_path) -> None:
    rig_report(tmp_path, "rig-a", [case("TC_003_CS")])
    rig_report(tmp_path, "rig-b", [case("TC_012_CS", "fail")])
    out = tmp_path / "summary"

    html = write_fleet_summary(tmp_path, out=out)["html"].read_text()

    assert html.startswith("<!DOCTYPE html>")
    assert "rig-a" in html and "rig-b" in html and "TC_012_CS" in html
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert "../rig-a/20261201T170000Z/index.html" in hrefs
    for href in hrefs:  # every link resolves from the summary's own folder
        assert (out / href).is_file(), href


def test_a_rig_whose_selftest_failed_is_an_error_not_an_omission(tmp_path) -> None:
    rig_report(tmp_path, "rig-a", [case("TC_003_CS")])
    rig_report(tmp_path, "rig-b", None, selftest_rc=1)

    written = write_fleet_summary(tmp_path)

    suites = suites_of(written["junit"])
    checks = {c.get("name"): c for c in suites["rig-b/rig"].iter("testcase")}
    assert checks["selftest"].find("failure").get("message") == (
        "bench selftest failed (exit 1): meter 1: RS-485 adapter missing"
    )
    meter = checks["selftest meter 1 (acrel-djsf1352-rn rtu:/dev/bench-rs485#1)"]
    assert meter.find("failure").get("message") == (
        "RS-485 adapter missing -> plug the adapter in or fix `device` in the rig file"
    )
    assert checks["selftest power stage (socketcan:can0)"].find("failure") is None
    assert suites["rig-b/rig"].get("tests") == "4" and suites["rig-b/rig"].get("failures") == "2"
    assert checks["report"].find("error") is not None
    assert "rig-b/cs.core" not in suites
    assert written["result"] == "Fail"
    assert "meter 1: RS-485 adapter missing" in written["html"].read_text()


def test_an_unreachable_rig_and_an_unreadable_report_each_get_one_line(tmp_path) -> None:
    rig_report(tmp_path, "rig-a", None, selftest_rc=None, error="host unreachable")
    folder = rig_report(tmp_path, "rig-b", [case("TC_003_CS")])
    (folder / "results.json").write_text("{ truncated")

    rigs = {r.rig: r for r in collect(tmp_path)}

    assert rigs["rig-a"].problem == "host unreachable" and rigs["rig-a"].selftest == "not run"
    assert rigs["rig-b"].problem.startswith("results.json unreadable")
    assert all(r.result == "Fail" for r in rigs.values())


def test_each_rigs_latest_run_unless_a_stamp_is_named(tmp_path) -> None:
    rig_report(tmp_path, "rig-a", [case("TC_003_CS", "fail")], stamp="20261130T090000Z")
    rig_report(tmp_path, "rig-a", [case("TC_003_CS")], stamp=STAMP)
    rig_report(tmp_path, "rig-b", [case("TC_003_CS")], stamp="20261130T090000Z")

    latest = {r.rig: (r.stamp, r.result) for r in collect(tmp_path)}
    older = {r.rig: (r.stamp, r.result) for r in collect(tmp_path, "20261130T090000Z")}
    only_new = [r.rig for r in collect(tmp_path, STAMP)]

    assert latest == {"rig-a": (STAMP, "Pass"), "rig-b": ("20261130T090000Z", "Pass")}
    assert older == {"rig-a": ("20261130T090000Z", "Fail"), "rig-b": ("20261130T090000Z", "Pass")}
    assert only_new == ["rig-a"]


def test_cli_exit_status_follows_the_fleet(tmp_path, capsys) -> None:
    rig_report(tmp_path / "good", "rig-a", [case("TC_003_CS"), case("TC_044_1_CS", "n/a")])
    rig_report(tmp_path / "bad", "rig-a", [case("TC_003_CS", "error")])

    assert bench_main(["report-fleet", str(tmp_path / "good"), "--stamp", STAMP]) == 0
    assert "fleet: Pass" in capsys.readouterr().out
    assert bench_main(["report-fleet", str(tmp_path / "bad")]) == 1
    assert (tmp_path / "bad" / "junit.xml").is_file()


@pytest.mark.parametrize("args", [["missing"], ["empty"], ["good", "--stamp", "19990101T000000Z"]])
def test_cli_says_in_one_line_when_there_is_nothing_to_merge(tmp_path, capsys, args) -> None:
    (tmp_path / "empty").mkdir()
    rig_report(tmp_path / "good", "rig-a", [case("TC_003_CS")])
    args = [str(tmp_path / args[0]), *args[1:]]

    assert bench_main(["report-fleet", *args]) == 2

    err = capsys.readouterr().err
    assert err.startswith("bench: ") and err.count("\n") == 1


def test_a_selftest_without_json_and_a_crashed_run_reach_the_summary(tmp_path) -> None:
    said = "bench: rig file /etc/ocpp-bench/rig.toml not found; give the path of one"
    folder = rig_report(tmp_path, "rig-a", None, selftest_rc=66, selftest_message=said)
    (folder / "selftest.json").write_text("\n")  # --json printed nothing
    rig_report(tmp_path, "rig-b", None, run_rc=2)

    rigs = {r.rig: r for r in collect(tmp_path)}

    assert rigs["rig-a"].problem == f"bench selftest failed (exit 66): {said}"
    assert rigs["rig-b"].selftest == "pass"
    assert rigs["rig-b"].problem.startswith("bench run exited 2")


def test_an_inconclusive_rig_makes_the_fleet_inconclusive_unless_one_failed(tmp_path) -> None:
    rig_report(tmp_path / "busy", "rig-a", [case("TC_003_CS")])
    rig_report(tmp_path / "busy", "rig-b", [case("TC_003_CS", "inconclusive")], run_rc=3)
    rig_report(tmp_path / "both", "rig-a", [case("TC_003_CS", "inconclusive")], run_rc=3)
    rig_report(tmp_path / "both", "rig-b", [case("TC_003_CS", "fail")], run_rc=1)

    busy = write_fleet_summary(tmp_path / "busy")

    assert [(r.rig, r.result, r.problem) for r in busy["rigs"]] == [
        ("rig-a", "Pass", ""),
        ("rig-b", "Inconclusive", ""),
    ]
    assert busy["result"] == "Inconclusive"
    assert bench_main(["report-fleet", str(tmp_path / "busy")]) == 3  # as bench run exits
    assert bench_main(["report-fleet", str(tmp_path / "both")]) == 1
