"""The run as JUnit XML, so CI shows the verdicts next to the unit tests.

One testsuite per role and profile (``cs.core``), one testcase per case. Text from
the run is stripped of characters XML 1.0 cannot carry: a DUT that sends a control
character in a payload must not make the whole file unreadable.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from bench.report.summary import verdict_of

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _seconds(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else 0.0


def _steps_text(case: dict[str, Any]) -> str:
    steps = case.get("steps") or (case.get("details") or {}).get("steps") or []
    lines = []
    for step in steps:
        if isinstance(step, dict):
            t = _seconds(step.get("t"))
            lines.append(f"{t:8.3f}s {step.get('text', '')}")
        else:
            lines.append(str(step))
    return "\n".join(lines)


def _counts(cases: list[dict[str, Any]]) -> dict[str, str]:
    verdicts = [verdict_of(c) for c in cases]
    return {
        "tests": str(len(cases)),
        "failures": str(verdicts.count("fail")),
        "errors": str(verdicts.count("error")),
        "skipped": str(verdicts.count("n/a") + verdicts.count("inconclusive")),
        "time": f"{sum(_seconds(c.get('duration_s')) for c in cases):.3f}",
    }


def render_junit(run: dict[str, Any]) -> str:
    """JUnit XML: testsuites > testsuite per ``role.profile`` > testcase per case."""
    meta = run.get("run") or {}
    dut = meta.get("dut") or {}
    cases = [c for c in run.get("cases") or [] if isinstance(c, dict)]
    suites: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        key = f"{case.get('role') or 'unknown'}.{case.get('profile') or 'unknown'}"
        suites.setdefault(key, []).append(case)

    root = ET.Element("testsuites", {"name": "OCPP 1.6 conformance", **_counts(cases)})
    for name, members in suites.items():
        suite = ET.SubElement(root, "testsuite", {"name": name, **_counts(members)})
        if meta.get("started"):
            suite.set("timestamp", _clean(meta["started"]))
        props = ET.SubElement(suite, "properties")
        for key in ("name", "role", "kind", "url", "pics"):
            if dut.get(key) is not None:
                ET.SubElement(props, "property", name=f"dut.{key}", value=_clean(dut[key]))
        for case in members:
            title = case.get("title")
            testcase = ET.SubElement(
                suite,
                "testcase",
                classname=name,
                name=_clean(f"{case.get('id', '?')} {title}" if title else case.get("id", "?")),
                time=f"{_seconds(case.get('duration_s')):.3f}",
            )
            verdict = verdict_of(case)
            message = _clean((case.get("details") or {}).get("message") or "")
            if verdict == "fail":
                node = ET.SubElement(testcase, "failure", message=message, type="fail")
            elif verdict == "error":
                node = ET.SubElement(testcase, "error", message=message, type="error")
            elif verdict == "n/a":
                ET.SubElement(testcase, "skipped", message=message or "not applicable")
                continue
            elif verdict == "inconclusive":  # not judged: neither a pass nor a failure
                ET.SubElement(testcase, "skipped", message=message, type="inconclusive")
                continue
            else:
                continue
            steps = _clean(_steps_text(case))
            node.text = f"{message}\n\nSteps:\n{steps}" if steps else message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
