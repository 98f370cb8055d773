from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from bench.report import write_report
from bench.report.performance import measure
from bench.report.summary import summarize


def test_write_report_writes_its_files(run, tmp_path) -> None:
    paths = write_report(run, tmp_path / "out")
    assert set(paths) == {"json", "junit", "html", "print"}
    names = [p.name for p in paths.values()]
    assert names == ["results.json", "junit.xml", "index.html", "print.html"]
    cases = sorted(p.name for p in (tmp_path / "out" / "cases").iterdir())
    assert cases == [f"case-{n + 1}.html" for n in range(len(run["cases"]))]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    ET.parse(paths["junit"])
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_results_json_round_trips(run, tmp_path) -> None:
    paths = write_report(run, tmp_path)
    loaded = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert loaded["cases"] == run["cases"]
    assert loaded["run"] == run["run"]
    assert loaded["performance"] == measure(run["cases"])
    assert loaded["summary"] == summarize(run["cases"])
    # re-rendering from results.json gives the same report
    again = write_report(loaded, tmp_path / "again")
    assert json.loads(again["json"].read_text(encoding="utf-8")) == loaded
    html_first = paths["html"].read_text(encoding="utf-8")
    assert again["html"].read_text(encoding="utf-8") == html_first
