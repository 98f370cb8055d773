"""The run as HTML pages laid out like a lab's test report.

``index.html`` (:func:`render_index`): the abstract (DUT, date, command), the
certificate's two tables (Test Result Summary, Performance Measurement Results) and
an index of the cases, then every case folded until opened, with its steps and
their verdicts; its sequence chart, OCPP trace and charts are a page of their own
(``cases/case-N.html``, :func:`render_case_page`) that the browser loads only when
the case is opened. ``print.html`` (:func:`render_html`) holds everything expanded,
for printing and archiving. Inline CSS only, no script and no external asset.
Every string that came from the run (payloads above all) goes through ``html.escape``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from bench.report.charts import charts, idle
from bench.report.performance import CALL, CALLERROR, CALLRESULT, measure, rows_for_role
from bench.report.steps import step_verdicts
from bench.report.summary import summarize, verdict_of
from bench.report.timeline import MARKS, timeline_svg

ROLE_NAMES = {"cs": "Charging Station", "csms": "Central System (CSMS)"}
TYPE_NAMES = {0: "unreadable", CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}
DIRECTIONS = {"dut": "DUT → bench", "bench": "bench → DUT"}
BADGES = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "n/a": "N/A",
    "inconclusive": "INCONCLUSIVE",
}
SECTION_TITLES = {
    "profile": "Certification Profile",
    "extension": "Certification Extension",
    "other": "Not part of OCPP 1.6 certification",
}

CSS = """
*{box-sizing:border-box}
body{font:10pt/1.4 "Helvetica Neue",Helvetica,Arial,sans-serif;color:#111;margin:24px auto;
 max-width:1150px;padding:0 16px}
h1{font-size:17pt;margin:0 0 2px}
h2{font-size:13pt;border-bottom:2px solid #222;padding-bottom:2px;margin:28px 0 8px}
h3{font-size:11.5pt;margin:0 0 4px}
h4{font-size:10pt;margin:12px 0 4px}
p.sub{margin:0 0 12px;color:#444}
table{border-collapse:collapse;width:100%;margin:4px 0 12px}
th,td{border:1px solid #9a9a9a;padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#e6e6e6}
th.section{background:#f2f2f2;font-style:italic}
table.kv th{width:26%;background:#f4f4f4;font-weight:normal}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.res{font-weight:bold}
table.limits td:first-child,table.measured td:first-child{width:34%}
table.measured td.res{width:30%}
table.summary td.res{white-space:nowrap}
.small{font-size:8.5pt;color:#444}
.badge{display:inline-block;min-width:44px;text-align:center;padding:0 5px;border:1px solid;
 border-radius:3px;font-weight:bold;font-size:8.5pt}
.pass{color:#10592a;background:#dcf1e2}.fail{color:#8f1c12;background:#fbe0dc}
.error{color:#6b3a00;background:#fdebc8}.na{color:#444;background:#ececec}
.ok{color:#10592a}.bad{color:#8f1c12}.nt{color:#555}
.case{border-top:1px solid #222;padding-top:10px;margin-top:22px}
.meta{color:#333;margin:0 0 6px}
.msg{white-space:pre-wrap;border-left:4px solid #8f1c12;background:#fdf3f1;padding:4px 8px;
 margin:6px 0}
.msg.plain{border-left-color:#999;background:#f6f6f6}
pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:8.5pt}
ol.steps{margin:0;padding-left:22px}
ol.steps .t{display:inline-block;min-width:70px;font-variant-numeric:tabular-nums;color:#444}
table.trace{font-size:8pt}
table.trace td{padding:2px 4px}
table.trace td.p{font-family:Menlo,Consolas,monospace;word-break:break-all}
table.trace td.nw{white-space:nowrap}
tr.in td{background:#f5f8fc}
tr.err td{background:#fbe9e6}
.charts svg{width:100%;max-width:720px;display:block;margin:4px 0 10px}
svg.timeline{max-width:100%;height:auto;display:block;margin:4px 0 10px}
ol.steps li{background:none}ol.steps li.fail,ol.steps li.error{font-weight:bold}
ol.steps .v{display:inline-block;width:16px;font-weight:bold}
ol.steps .v.pass{color:#10592a;background:none}ol.steps .v.fail{color:#8f1c12;background:none}
ol.steps .v.error{color:#6b3a00;background:none}
details.case{border-top:1px solid #222;margin-top:10px;padding-top:4px}
details.case>summary{cursor:pointer;font-weight:bold;font-size:11pt;padding:4px 0}
details.case>summary .small{font-weight:normal}
details.case[open]>summary{margin-bottom:6px}
iframe.case-detail{width:100%;height:80vh;border:1px solid #bbb}
.only-print{display:none}
a{color:#1f4f8a}
@media print{
 .only-print{display:block}.no-print{display:none}
 body{margin:0;max-width:none;padding:0;font-size:9pt}
 a{color:inherit;text-decoration:none}
 h2,h3,h4{break-after:avoid}
 tr,svg,.msg{break-inside:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _fmt_s(value: Any, decimals: int = 2) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{decimals}f}"
    return "—"


def _clock(ts: Any) -> str:
    """HH:MM:SS.mmm UTC of a Unix timestamp."""
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return "—"
    ms_total = int(round(ts * 1000))
    moment = datetime.fromtimestamp(ms_total // 1000, UTC)
    return f"{moment:%H:%M:%S}.{ms_total % 1000:03d}"


def _hms(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    whole = int(round(seconds))
    return f"{seconds:.1f} s ({whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d})"


def _badge(verdict: str) -> str:
    css = "na" if verdict == "n/a" else verdict
    return f'<span class="badge {css}">{BADGES.get(verdict, _e(verdict).upper())}</span>'


def _result_class(result: str) -> str:
    return {"Pass": "ok", "Fail": "bad"}.get(result, "nt")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# --- sections ---------------------------------------------------------------------


def _abstract(run: dict[str, Any], summary: dict[str, Any], anchors: list[str]) -> str:
    meta = run.get("run") or {}
    dut = meta.get("dut") or {}
    role = dut.get("role")
    totals = summary["totals"]
    started = str(meta.get("started") or "")
    rows = [
        ("Device Under Test", ROLE_NAMES.get(role, role or "—")),
        ("Product designation", dut.get("name")),
        ("DUT connection", " — ".join(_e(x) for x in (dut.get("kind"), dut.get("url")) if x)),
        ("PICS", dut.get("pics")),
        ("Communication", "JSON (OCPP 1.6-J over WebSocket)"),
        ("Test date", started[:10] or None),
        ("Started / finished (UTC)", f"{started or '—'} / {meta.get('finished') or '—'}"),
        ("Wall time", _hms(meta.get("wall_s"))),
        (
            "Clock",
            f"simulated time at {meta['clock_speed']:g}x the wall clock; the trace's "
            "times are simulated, the performance results wall-clock seconds"
            if meta.get("clock_speed", 1) != 1
            else None,
        ),
        ("Command", f"<code>{_e(meta.get('command'))}</code>" if meta.get("command") else None),
        (
            "Cases",
            f"{summary['total']} — pass {totals['pass']}, fail {totals['fail']}, "
            f"error {totals['error']}, not applicable {totals['n/a']}",
        ),
        (
            "Overall result",
            f'<b class="{_result_class(summary["result"])}">{_e(summary["result"])}</b>',
        ),
    ]
    prebuilt = {"DUT connection", "Command", "Overall result"}
    body = "".join(
        f"<tr><th>{_e(k)}</th><td>{v if k in prebuilt else _e(v)}</td></tr>" for k, v in rows if v
    )
    cases = run.get("cases") or []
    failed = [
        f'<a href="#{anchors[i]}">{_e(c.get("id"))}</a> {_badge(verdict_of(c))}'
        for i, c in enumerate(cases)
        if verdict_of(c) in ("fail", "error")
    ]
    attention = (
        f"<p><b>Failed or errored cases:</b> {' · '.join(failed)}</p>"
        if failed
        else "<p>No case failed or errored.</p>"
    )
    nav = (
        '<p class="small">Contents: <a href="#summary">Test Result Summary</a> · '
        '<a href="#performance">Performance Measurement Results</a> · '
        '<a href="#index">Test cases</a></p>'
    )
    title = _e(dut.get("name") or ROLE_NAMES.get(role, "Device Under Test"))
    return (
        f"<header><h1>OCPP 1.6 Conformance Test Report — {title}</h1>"
        '<p class="sub">Abstract of the test report</p>'
        f'<table class="kv">{body}</table>{attention}{nav}</header>'
    )


def _summary_table(summary: dict[str, Any]) -> str:
    head = (
        "<thead><tr><th>Functionality</th><th>Test Result</th><th class=num>Pass</th>"
        "<th class=num>Fail</th><th class=num>Error</th><th class=num>N/A</th>"
        "<th>Description</th></tr></thead>"
    )
    body, section = [], None
    for row in summary["rows"]:
        if row["kind"] != section:
            section = row["kind"]
            body.append(f'<tr><th class="section" colspan="7">{SECTION_TITLES[section]}</th></tr>')
        counts = row["counts"]
        body.append(
            f"<tr><td>{_e(row['functionality'])}</td>"
            f'<td class="res {_result_class(row["result"])}">{_e(row["result"])}</td>'
            + "".join(f'<td class="num">{counts[k]}</td>' for k in ("pass", "fail", "error", "n/a"))
            + f"<td>{_e(row['description'])}</td></tr>"
        )
    return (
        '<section id="summary"><h2>Test Result Summary for the Tested Functionalities</h2>'
        f'<table class="summary">{head}<tbody>{"".join(body)}</tbody></table>'
        '<p class="small">Pass: every applicable case ran and passed. Fail: a case failed or '
        "errored. Not Tested: no applicable case ran. Cases not applicable to the DUT "
        "(N/A) do not affect the result.</p></section>"
    )


def _performance_table(
    performance: dict[str, Any], role: str | None, anchor_of: dict[str, str]
) -> str:
    """The seed's two tables: the PICS limits, then the figures measured against them."""
    rows = rows_for_role(performance, role)
    limits = "".join(
        f"<tr><td>{_e(row['name'])}</td><td class=num>{row['limit_s']:g}</td>"
        f"<td>seconds</td><td>{_e(row['description'])}</td></tr>"
        for row in rows
    )
    measured = []
    for row in rows:
        if row["status"] == "not measured":
            figures = '<td class="num" colspan="3">not measured</td>'
            result = '<td class="res nt">—</td>'
        else:
            figures = "".join(
                f'<td class="num">{_fmt_s(row[k])}</td>' for k in ("min_s", "max_s", "avg_s")
            )
            worst = row.get("worst") or {}
            where = str(worst.get("case"))
            link = (
                f'<a href="#{anchor_of[where]}">{_e(where)}</a>'
                if where in anchor_of
                else _e(where)
            )
            note = f"<br><span class=small>max in {link}: {_e(worst.get('action'))}</span>"
            if row["status"] == "exceeded":
                verdict = f"EXCEEDED (max {_fmt_s(row['max_s'])} s &gt; {row['limit_s']:g} s)"
                result = f'<td class="res bad">{verdict}{note}</td>'
            else:
                result = f'<td class="res ok">Within limit{note}</td>'
        measured.append(
            f"<tr><td>{_e(row['name'])}</td>{figures}<td class=num>{row['count']}</td>"
            f"<td>seconds</td>{result}</tr>"
        )
    tables = (
        '<table class="limits"><thead><tr><th>Name</th><th class=num>PICS value<br>'
        "(max allowed)</th><th>Unit</th><th>Description</th></tr></thead>"
        f"<tbody>{limits}</tbody></table>"
        '<table class="measured"><thead><tr><th>Name</th><th class=num>Min Value</th>'
        "<th class=num>Max Value</th><th class=num>Average Value</th><th class=num>Count</th>"
        f"<th>Unit</th><th>Result</th></tr></thead><tbody>{''.join(measured)}</tbody></table>"
    )
    unanswered = performance.get("unanswered") or []
    note = ""
    if unanswered:
        items = ", ".join(
            f"{_e(u['case'])} {_e(u['action'])} ({_e(u['unique_id'])})" for u in unanswered[:30]
        )
        more = f" and {len(unanswered) - 30} more" if len(unanswered) > 30 else ""
        note = (
            f'<p class="small"><b>{len(unanswered)} CALL(s) sent by the bench got no answer '
            f"from the DUT</b> (not in the figures above): {items}{more}.</p>"
        )
    return (
        '<section id="performance"><h2>Performance Measurement Results</h2>'
        f"{tables}{note}"
        '<p class="small">Measured from the bench\'s timestamps of the OCPP frames (bench '
        "to DUT and back, network included), over every case of the run.</p></section>"
    )


def _index(cases: list[dict[str, Any]], anchors: list[str]) -> str:
    rows = "".join(
        f'<tr><td class="num">{i + 1}</td><td class="nw"><a href="#{anchors[i]}">'
        f"{_e(c.get('id'))}</a></td><td>{_e(c.get('title'))}</td><td>{_e(c.get('role'))}</td>"
        f"<td>{_e(c.get('profile'))}</td><td>{_badge(verdict_of(c))}</td>"
        f'<td class="num">{_fmt_s(c.get("duration_s"), 1)} s</td></tr>'
        for i, c in enumerate(cases)
    )
    return (
        '<section id="index"><h2>Test cases</h2><table><thead><tr><th class=num>#</th>'
        "<th>Test case</th><th>Title</th><th>Role</th><th>Profile</th><th>Verdict</th>"
        f"<th class=num>Duration</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _steps(case: dict[str, Any]) -> str:
    steps = case.get("steps")
    if not steps:
        steps = (case.get("details") or {}).get("steps") or []
    verdicts = step_verdicts(steps, verdict_of(case))
    items = []
    for step, verdict in zip(steps, verdicts, strict=True):
        mark = f'<span class="v {verdict}" title="{verdict}">{MARKS[verdict]}</span>'
        if isinstance(step, dict):
            t = _fmt_s(step.get("t"), 3)
            items.append(
                f'<li class="{verdict}">{mark}<span class="t">{t} s</span>'
                f"{_e(step.get('text'))}</li>"
            )
        else:
            items.append(f'<li class="{verdict}">{mark}{_e(step)}</li>')
    return f'<h4>Steps</h4><ol class="steps">{"".join(items)}</ol>' if items else ""


def _details(case: dict[str, Any]) -> str:
    details = case.get("details") or {}
    rows = []
    for key, value in details.items():
        if key in ("message", "steps"):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            shown = f"<pre>{_e(chr(10).join(value))}</pre>"
        elif isinstance(value, dict | list):
            shown = f"<pre>{_e(_json(value))}</pre>"
        else:
            shown = _e(value)
        rows.append(f"<tr><th>{_e(key)}</th><td>{shown}</td></tr>")
    return f'<h4>Details</h4><table class="kv">{"".join(rows)}</table>' if rows else ""


def _trace(case: dict[str, Any]) -> str:
    frames = [f for f in case.get("trace") or [] if isinstance(f, dict)]
    if not frames:
        return '<h4>OCPP trace</h4><p class="small">No OCPP frame was exchanged.</p>'
    calls: dict[tuple[Any, Any], dict[str, Any]] = {}
    rows = []
    for n, f in enumerate(frames, 1):
        sender, kind, uid = f.get("sender"), f.get("message_type"), f.get("unique_id")
        pairable = isinstance(uid, str | int) and isinstance(kind, int)
        action, delta = f.get("action"), ""
        if pairable and kind == CALL:
            calls[(sender, uid)] = f
        elif pairable and kind in (CALLRESULT, CALLERROR):
            call = calls.pop(("bench" if sender == "dut" else "dut", uid), None)
            if call is not None:
                action = action or call.get("action")
                if isinstance(f.get("ts"), int | float) and isinstance(call.get("ts"), int | float):
                    delta = f"{(f['ts'] - call['ts']) * 1000:.0f} ms"
        direction = DIRECTIONS.get(sender, _e(sender)) if isinstance(sender, str) else "?"
        kind_name = TYPE_NAMES.get(kind, _e(kind)) if isinstance(kind, int) else _e(kind)
        css = "err" if kind == CALLERROR else ("in" if sender == "dut" else "out")
        rows.append(
            f'<tr class="{css}"><td class="num">{n}</td><td class="nw">{_clock(f.get("ts"))}</td>'
            f'<td class="nw">{direction}</td><td>{kind_name}</td>'
            f'<td>{_e(action) if action else "—"}</td><td class="nw">{_e(uid)}</td>'
            f'<td class="num">{delta}</td><td class="p">{_e(_json(f.get("payload")))}</td></tr>'
        )
    return (
        '<h4>OCPP trace</h4><table class="trace"><thead><tr><th class=num>#</th>'
        "<th>Time (UTC)</th><th>Direction</th><th>Type</th><th>Action</th><th>Unique id</th>"
        f"<th class=num>Answer after</th><th>Payload</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def _measurements(samples: Any, svgs: list[str]) -> str:
    if svgs:
        return f'<h4>Measurements</h4><div class="charts">{"".join(svgs)}</div>'
    if idle(samples):
        count = sum(len(v) for v in samples.values() if isinstance(v, list))
        noun = "sample" if count == 1 else "samples"
        return (
            f'<h4>Measurements</h4><p class="small">{count} {noun}, all zero: no power, '
            "current, voltage or SoC on any connector during this case.</p>"
        )
    return ""


def _head(case: dict[str, Any]) -> str:
    """Verdict, message, details and steps: what a reader looks at first."""
    verdict = verdict_of(case)
    message = (case.get("details") or {}).get("message")
    msg_css = "msg" if verdict in ("fail", "error") else "msg plain"
    return (
        f'<p class="meta">Role: {_e(case.get("role"))} · Profile: {_e(case.get("profile"))} · '
        f"Duration: {_fmt_s(case.get('duration_s'))} s</p>"
        + (f'<div class="{msg_css}">{_e(message)}</div>' if message else "")
        + _details(case)
        + _steps(case)
    )


def _evidence(case: dict[str, Any], role: str | None) -> str:
    """The heavy part: sequence chart, OCPP trace, charts."""
    frames = [f for f in case.get("trace") or [] if isinstance(f, dict)]
    timeline = (
        f"<h4>Timeline</h4>{timeline_svg({**case, 'verdict': verdict_of(case)}, role)}"
        if frames
        else ""
    )
    return timeline + _trace(case) + _measurements(case.get("samples"), charts(case.get("samples")))


def _case(case: dict[str, Any], anchor: str, role: str | None = None) -> str:
    return (
        f'<article class="case" id="{anchor}">'
        f"<h3>{_badge(verdict_of(case))} {_e(case.get('id'))} — {_e(case.get('title'))}</h3>"
        + _head(case)
        + _evidence(case, role)
        + "</article>"
    )


def _folded(case: dict[str, Any], anchor: str) -> str:
    message = str((case.get("details") or {}).get("message") or "")
    short = f' <span class="small">{_e(message[:120])}</span>' if message else ""
    return (
        f'<details class="case" id="{anchor}"><summary>{_badge(verdict_of(case))} '
        f"{_e(case.get('id'))} — {_e(case.get('title'))} "
        f'<span class="small">({_fmt_s(case.get("duration_s"), 1)} s)</span>{short}</summary>'
        + _head(case)
        + f'<h4>Timeline, OCPP trace and charts</h4><iframe class="case-detail" loading="lazy" '
        f'src="cases/{anchor}.html" title="{_e(case.get("id"))}: timeline, trace, charts">'
        f'</iframe><p class="small"><a href="cases/{anchor}.html">open on its own</a></p>'
        "</details>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _context(run: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    cases = [c for c in run.get("cases") or [] if isinstance(c, dict)]
    role = ((run.get("run") or {}).get("dut") or {}).get("role")
    if role not in ROLE_NAMES:
        roles = {c.get("role") for c in cases}
        role = roles.pop() if len(roles) == 1 else None
    return cases, role, [f"case-{i + 1}" for i in range(len(cases))]


def _front(run: dict[str, Any], cases: list[dict[str, Any]], role: Any, anchors: list[str]) -> str:
    summary = summarize(cases)
    anchor_of: dict[str, str] = {}
    for case, anchor in zip(cases, anchors, strict=True):
        anchor_of.setdefault(str(case.get("id")), anchor)
    return (
        _abstract({**run, "cases": cases}, summary, anchors)
        + _summary_table(summary)
        + _performance_table(measure(cases), role, anchor_of)
        + _index(cases, anchors)
    )


def _title(run: dict[str, Any]) -> str:
    name = ((run.get("run") or {}).get("dut") or {}).get("name") or "DUT"
    return f"OCPP 1.6 test report — {_e(name)}"


def render_index(run: dict[str, Any]) -> str:
    """The report to read: summary first, each case folded, its evidence on demand."""
    cases, role, anchors = _context(run)
    note = (
        '<p class="small no-print">Each case opens on a click; its timeline, OCPP trace '
        'and charts load when it is opened. <a href="print.html">Print view</a>: every case '
        "with everything, expanded.</p>"
        '<p class="only-print"><b>This is the folded view: print print.html for the '
        "complete report.</b></p>"
    )
    return _page(
        _title(run),
        _front(run, cases, role, anchors)
        + note
        + "".join(_folded(c, a) for c, a in zip(cases, anchors, strict=True)),
    )


def render_case_page(run: dict[str, Any], index: int) -> str:
    """Case ``index`` (0-based)'s timeline, OCPP trace and charts, a page of its own."""
    cases, role, anchors = _context(run)
    case = cases[index]
    return _page(
        f"{_e(case.get('id'))} — {_title(run)}",
        f"<h3>{_badge(verdict_of(case))} {_e(case.get('id'))} — {_e(case.get('title'))}</h3>"
        + _evidence(case, role),
    )


def render_html(run: dict[str, Any]) -> str:
    """The whole report in one document, every case expanded (the print view)."""
    cases, role, anchors = _context(run)
    return _page(
        _title(run),
        _front(run, cases, role, anchors)
        + "".join(_case(c, a, role) for c, a in zip(cases, anchors, strict=True)),
    )
