"""Test report of a run: results.json, junit.xml, index.html (folded, its cases' evidence in
cases/) and print.html (everything in one printable page).

The scenario runner hands over the run as a plain dict; everything here is computed
from that dict alone, so a report can be re-rendered later from its results.json
(``python -m bench.report results.json OUTDIR``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report.html import render_case_page, render_html, render_index
from bench.report.junit import render_junit
from bench.report.performance import measure
from bench.report.summary import summarize

__all__ = [
    "measure",
    "render_case_page",
    "render_html",
    "render_index",
    "render_junit",
    "results",
    "summarize",
    "write_report",
]


def results(run: dict[str, Any]) -> dict[str, Any]:
    """The run dict with "performance" and "summary" added at top level."""
    cases = [c for c in run.get("cases") or [] if isinstance(c, dict)]
    return {**run, "performance": measure(cases), "summary": summarize(cases)}


def write_report(run: dict[str, Any], directory: str | Path) -> dict[str, Path]:
    """Write results.json, junit.xml, index.html, print.html and cases/case-N.html into
    ``directory`` (created if needed).

    Returns the paths keyed "json", "junit", "html" and "print".
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "results.json",
        "junit": out / "junit.xml",
        "html": out / "index.html",
        "print": out / "print.html",
    }
    paths["json"].write_text(
        json.dumps(results(run), indent=1, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    paths["junit"].write_text(render_junit(run), encoding="utf-8")
    paths["html"].write_text(render_index(run), encoding="utf-8")
    paths["print"].write_text(render_html(run), encoding="utf-8")
    cases = out / "cases"
    cases.mkdir(exist_ok=True)
    count = len([c for c in run.get("cases") or [] if isinstance(c, dict)])
    for n in range(count):
        (cases / f"case-{n + 1}.html").write_text(render_case_page(run, n), encoding="utf-8")
    return paths
