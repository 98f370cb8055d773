from __future__ import annotations

from typing import Any

from report_fixtures import case

from bench.report.summary import summarize


def by_name(cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["functionality"]: r for r in summarize(cases)["rows"]}


def test_seed_vocabulary_in_seed_order() -> None:
    rows = summarize([])["rows"]
    assert [r["functionality"] for r in rows] == [
        "Core",
        "Firmware Management",
        "Local Authorization List Management",
        "Smart Charging",
        "Remote Trigger",
        "Reservation",
        "Security extension",
    ]
    assert [r["kind"] for r in rows] == ["profile"] * 6 + ["extension"]
    assert rows[-1]["description"] == (
        "Implementation of the whitepaper: Improved security for OCPP 1.6-J"
    )
    assert rows[0]["description"].startswith("Basic Charging Station")


def test_no_applicable_case_is_not_tested() -> None:
    rows = by_name([case("A", "n/a"), case("B", "n/a")])
    assert rows["Core"]["result"] == "Not Tested"
    assert rows["Core"]["counts"] == {"pass": 0, "fail": 0, "error": 0, "n/a": 2, "inconclusive": 0}
    assert rows["Reservation"]["result"] == "Not Tested"
    assert rows["Reservation"]["total"] == 0


def test_not_applicable_cases_do_not_make_fail() -> None:
    rows = by_name([case("A", "pass"), case("B", "n/a"), case("C", "pass")])
    assert rows["Core"]["result"] == "Pass"
    assert rows["Core"]["counts"] == {"pass": 2, "fail": 0, "error": 0, "n/a": 1, "inconclusive": 0}


def test_fail_or_error_makes_fail() -> None:
    assert by_name([case("A"), case("B", "fail")])["Core"]["result"] == "Fail"
    assert by_name([case("A"), case("B", "error")])["Core"]["result"] == "Fail"


def test_firmware_and_diagnostics_are_firmware_management() -> None:
    rows = by_name([case("A", profile="firmware"), case("B", "fail", profile="diagnostics")])
    assert rows["Firmware Management"]["counts"]["pass"] == 1
    assert rows["Firmware Management"]["counts"]["fail"] == 1
    assert rows["Firmware Management"]["result"] == "Fail"
    assert rows["Core"]["result"] == "Not Tested"


def test_each_profile_lands_in_its_functionality() -> None:
    profiles = {
        "local-list": "Local Authorization List Management",
        "smart-charging": "Smart Charging",
        "trigger": "Remote Trigger",
        "reservation": "Reservation",
        "security": "Security extension",
    }
    rows = by_name([case(p, profile=p) for p in profiles])
    for name in profiles.values():
        assert rows[name]["result"] == "Pass"


def test_totals_overall_and_unknown_things_are_visible() -> None:
    result = summarize(
        [case("A"), case("B", "n/a"), case("C", "weird"), case("D", profile="bench")]
    )
    assert result["totals"] == {"pass": 2, "fail": 0, "error": 1, "n/a": 1, "inconclusive": 0}
    assert result["result"] == "Fail"  # an unknown verdict is an error, never a pass
    other = result["rows"][-1]
    assert other["functionality"] == "Other: bench" and other["kind"] == "other"
    assert other["result"] == "Pass"


def test_an_inconclusive_case_is_neither_pass_nor_fail() -> None:
    rows = by_name([case("A", "pass"), case("B", "inconclusive")])
    assert rows["Core"]["result"] == "Inconclusive"
    assert rows["Core"]["counts"]["inconclusive"] == 1
    assert by_name([case("A", "inconclusive"), case("B", "fail")])["Core"]["result"] == "Fail"
