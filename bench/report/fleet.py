"""One summary of a whole fleet's run: merged JUnit, a small HTML index, fleet.json.

The fleet playbook (``ansible/fleet.yml``) fetches every rig's report to
``DIR/<rig>/<stamp>/``: ``results.json``, ``junit.xml`` and ``index.html`` from
``bench run --report``, ``selftest.json`` (what ``bench selftest --json`` printed) and
``status.json``, the playbook's own record (``selftest_rc``, ``run_rc``, ``error``).
A rig whose self-test failed, whose suite did not run or whose report is unreadable is
an error in the summary, never a silent omission.
"""

from __future__ import annotations

import argparse
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from bench.cli.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, UserError
from bench.report.html import CSS
from bench.report.junit import _clean, render_junit
from bench.report.summary import (
    FAIL,
    INCONCLUSIVE,
    NOT_TESTED,
    PASS,
    VERDICTS,
    result_of,
    verdict_of,
)

MARKERS = ("results.json", "selftest.json", "status.json")


@dataclass
class RigRun:
    """One rig's part of a fleet run, read from ``DIR/<rig>/<stamp>/``."""

    rig: str
    stamp: str
    folder: Path
    run: dict[str, Any] | None = None
    selftest: str = "not run"  # "pass" | "fail" | "not run"
    problem: str = ""  # why the rig has no usable results, in one line
    parts: list[dict[str, Any]] = field(default_factory=list)  # bench selftest --json "parts"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))

    @property
    def cases(self) -> list[dict[str, Any]]:
        return [c for c in (self.run or {}).get("cases") or [] if isinstance(c, dict)]

    @property
    def result(self) -> str:
        """Pass, Fail or Not Tested, as the certificate's summary says it; a problem fails."""
        return FAIL if self.problem else result_of(self.counts)


def _read_json(path: Path) -> tuple[Any, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} unreadable: {exc}"


def _selftest_parts(path: Path) -> list[dict[str, Any]]:
    """The parts ``bench selftest --json`` checked, each with ``part`` and ``ok``; else []."""
    if not path.is_file():
        return []
    data, _ = _read_json(path)
    parts = data.get("parts") if isinstance(data, dict) else None
    if not isinstance(parts, list):
        return []
    return [p for p in parts if isinstance(p, dict) and "part" in p and "ok" in p]


def _read_rig(rig: str, stamp: str, folder: Path) -> RigRun:
    entry = RigRun(rig, stamp, folder)
    status: dict[str, Any] = {}
    if (folder / "status.json").is_file():
        data, problem = _read_json(folder / "status.json")
        status = data if isinstance(data, dict) else {}
        entry.problem = problem or ("" if status or data is None else "status.json not an object")
    if status.get("error"):
        entry.problem = str(status["error"])
    entry.parts = _selftest_parts(folder / "selftest.json")
    rc = status.get("selftest_rc")
    if isinstance(rc, int) and not isinstance(rc, bool):
        entry.selftest = "pass" if rc == 0 else "fail"
        if rc != 0 and not entry.problem:
            failing = [f"{p['part']}: {p.get('saw', '')}" for p in entry.parts if not p.get("ok")]
            said = "; ".join(failing) or str(status.get("selftest_message") or "").strip()
            entry.problem = f"bench selftest failed (exit {rc}){': ' + said if said else ''}"
    run_rc = status.get("run_rc")
    judged = (0, EXIT_FAILED, EXIT_INCONCLUSIVE)
    if isinstance(run_rc, int) and run_rc not in judged and not entry.problem:
        entry.problem = f"bench run exited {run_rc} (0 all passed, 1 failed, 3 inconclusive)"
    results = folder / "results.json"
    if results.is_file():
        data, problem = _read_json(results)
        if isinstance(data, dict):
            entry.run = data
        elif not entry.problem:
            entry.problem = problem or "results.json is not a run document"
    elif not entry.problem:
        entry.problem = "no results.json: the suite did not run or its report was not fetched"
    for case in entry.cases:
        entry.counts[verdict_of(case)] += 1
    return entry


def collect(directory: str | Path, stamp: str | None = None) -> list[RigRun]:
    """Every rig's run under ``directory``: the one stamped ``stamp``, else each rig's latest.

    Stamps are folder names that sort in time order (the playbook uses ``%Y%m%dT%H%M%SZ``).
    """
    root = Path(directory)
    found = []
    for rig_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        runs = sorted(
            p for p in rig_dir.iterdir() if p.is_dir() and any((p / m).is_file() for m in MARKERS)
        )
        if stamp is not None:
            runs = [p for p in runs if p.name == stamp]
        if runs:
            found.append(_read_rig(rig_dir.name, runs[-1].name, runs[-1]))
    return found


def _suite_counts(suites: list[ET.Element]) -> dict[str, str]:
    total = {k: 0 for k in ("tests", "failures", "errors", "skipped")}
    seconds = 0.0
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, "0"))
        seconds += float(suite.get("time", "0"))
    return {**{k: str(v) for k, v in total.items()}, "time": f"{seconds:.3f}"}


def render_fleet_junit(rigs: list[RigRun]) -> str:
    """One testsuite per rig and suite (``rig-a/cs.core``) plus one holding each rig's checks.

    Each rig's cases are rendered by :func:`render_junit`, the single JUnit writer, and
    re-parented under the rig's name so the same case id on two rigs stays two tests.
    """
    suites: list[ET.Element] = []
    for entry in rigs:
        checks = ET.Element("testsuite", name=f"{entry.rig}/rig")
        selftest = ET.SubElement(checks, "testcase", classname=f"{entry.rig}.rig", name="selftest")
        if entry.selftest == "fail":
            ET.SubElement(selftest, "failure", message=_clean(entry.problem), type="fail")
        elif entry.selftest == "not run":
            ET.SubElement(selftest, "skipped", message="no self-test result")
        for part in entry.parts:  # one test per part checked, so CI names the broken one
            name = f"selftest {part['part']}" + (f" ({part['where']})" if part.get("where") else "")
            test = ET.SubElement(checks, "testcase", classname=f"{entry.rig}.rig")
            test.set("name", _clean(name))
            if not part.get("ok"):
                fix = f" -> {part['fix']}" if part.get("fix") else ""
                message = f"{part.get('saw', '')}{fix}"
                ET.SubElement(test, "failure", message=_clean(message), type="fail")
        report = ET.SubElement(checks, "testcase", classname=f"{entry.rig}.rig", name="report")
        if entry.problem:
            ET.SubElement(report, "error", message=_clean(entry.problem), type="error")
        checks.set("tests", str(len(checks)))
        for key, node in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            checks.set(key, str(sum(test.find(node) is not None for test in checks)))
        checks.set("time", "0")
        suites.append(checks)
        if entry.run is None:
            continue
        for suite in ET.fromstring(render_junit(entry.run)).iter("testsuite"):
            suite.set("name", f"{entry.rig}/{suite.get('name')}")
            for case in suite.iter("testcase"):
                case.set("classname", f"{entry.rig}.{case.get('classname')}")
            suites.append(suite)
    root = ET.Element("testsuites", {"name": "OCPP bench fleet", **_suite_counts(suites)})
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _link(entry: RigRun, out: Path, name: str) -> str:
    """A link relative to the summary's folder, so the reports tree can be moved whole."""
    target = entry.folder / name
    if not target.is_file():
        return ""
    href = Path(os.path.relpath(target.resolve(), out.resolve())).as_posix()
    return f'<a href="{_e(href)}">{_e(name)}</a>'


def render_fleet_html(rigs: list[RigRun], out: Path) -> str:
    """A one-page index: a row per rig with its verdict counts and links to its reports."""
    overall = fleet_result(rigs)
    css = {PASS: "ok", FAIL: "bad"}
    rows = []
    for entry in rigs:
        c = entry.counts
        bad = ("fail", "error")
        failing = [str(case.get("id", "?")) for case in entry.cases if verdict_of(case) in bad]
        note = entry.problem or (", ".join(failing) if failing else "")
        rows.append(
            "<tr>"
            f"<td>{_e(entry.rig)}</td><td>{_e(entry.stamp)}</td><td>{_e(entry.selftest)}</td>"
            f'<td class="res {css.get(entry.result, "nt")}">{_e(entry.result)}</td>'
            + "".join(f'<td class="num">{c[v]}</td>' for v in VERDICTS)
            + f"<td>{_link(entry, out, 'index.html')} {_link(entry, out, 'selftest.json')}</td>"
            f"<td>{_e(note)}</td></tr>"
        )
    stamps = sorted({r.stamp for r in rigs})
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Fleet summary {_e(', '.join(stamps))}</title><style>{CSS}</style></head><body>"
        f'<h1>Fleet summary</h1><p class="sub">run {_e(", ".join(stamps))}: {len(rigs)} rigs, '
        f'result <b class="{css.get(overall, "nt")}">{_e(overall)}</b></p>'
        "<table><thead><tr><th>rig</th><th>run</th><th>self-test</th><th>result</th>"
        + "".join(f'<th class="num">{v}</th>' for v in VERDICTS)
        + "<th>reports</th><th>failing cases / problem</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )


def fleet_result(rigs: list[RigRun]) -> str:
    """The worst rig's: Fail, then Inconclusive (not judged is not a pass), Pass, Not Tested."""
    results = {r.result for r in rigs}
    return next((r for r in (FAIL, INCONCLUSIVE, PASS) if r in results), NOT_TESTED)


def write_fleet_summary(
    directory: str | Path, stamp: str | None = None, out: str | Path | None = None
) -> dict[str, Any]:
    """Merge the rigs' reports under ``directory`` into ``out`` (default: ``directory``).

    Writes ``junit.xml``, ``index.html`` and ``fleet.json``; returns the paths (keys
    "junit", "html", "json"), the ``rigs`` read and the fleet's ``result``. Raises
    ValueError when no rig report is found.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"{root}: no such directory")
    rigs = collect(root, stamp)
    if not rigs:
        which = f"stamped {stamp} " if stamp else ""
        raise ValueError(f"{root}: no rig report {which}found (expected RIG/STAMP/results.json)")
    target = Path(out) if out is not None else root
    target.mkdir(parents=True, exist_ok=True)
    paths = {
        "junit": target / "junit.xml",
        "html": target / "index.html",
        "json": target / "fleet.json",
    }
    paths["junit"].write_text(render_fleet_junit(rigs), encoding="utf-8")
    paths["html"].write_text(render_fleet_html(rigs, target), encoding="utf-8")
    summary = {
        "result": fleet_result(rigs),
        "rigs": [
            {
                "rig": r.rig,
                "stamp": r.stamp,
                "selftest": r.selftest,
                "result": r.result,
                "counts": r.counts,
                "problem": r.problem,
                "folder": str(r.folder),
            }
            for r in rigs
        ],
    }
    paths["json"].write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return {**paths, "rigs": rigs, "result": summary["result"]}


def _cmd_report_fleet(args: argparse.Namespace) -> int:
    try:
        written = write_fleet_summary(args.dir, args.stamp, args.out)
    except ValueError as exc:
        raise UserError(str(exc), "give the reports folder fleet.yml fills") from None
    for entry in written["rigs"]:
        print(f"{entry.rig:20} {entry.stamp:18} {entry.result:12} {entry.problem}")
    print(f"fleet: {written['result']}  {written['html']}  {written['junit']}")
    return {FAIL: EXIT_FAILED, INCONCLUSIVE: EXIT_INCONCLUSIVE}.get(written["result"], 0)


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """``bench report-fleet DIR [--stamp S] [--out OUT]``; exits as ``bench run`` would."""
    fleet = subparsers.add_parser(
        "report-fleet", help="merge the rigs' reports under DIR/<rig>/<stamp>/ into one summary"
    )
    fleet.add_argument("dir", help="reports folder holding RIG/STAMP/ report folders")
    fleet.add_argument("--stamp", help="the fleet run to merge (default: each rig's latest)")
    fleet.add_argument("--out", help="where junit.xml, index.html, fleet.json go (default DIR)")
    fleet.set_defaults(func=_cmd_report_fleet)
