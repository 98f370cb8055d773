/* How a run looks: progress, cases with verdicts, the step log; shared by two pages. */
"use strict";
(function () {
  const { el } = Panel;
  const STATE_LABEL = { "n/a": "n/a", pass: "PASS", fail: "FAIL", error: "ERROR" };

  function badge(state) {
    return el("span", { class: "badge " + String(state).replace("/", ""), text: STATE_LABEL[state] || state });
  }

  function reportLink(run) {
    return run.report ? el("a", { href: `/runs/${run.id}/report/`, target: "_blank", class: "report-link", text: "report" })
                      : el("span", { class: "muted", text: run.status === "running" ? "when done" : "–" });
  }

  function counts(run) {
    const c = run.counts || {};
    return ["pass", "fail", "error", "n/a", "stopped", "skipped"].filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(", ") || "–";
  }

  /* Keeps the chosen case's step log open across updates. */
  const chosen = new Map();

  function renderDetail(container, run, onStop) {
    if (!run) { container.replaceChildren(el("p", { class: "muted", id: "no-run", text: "No run is going on." })); return; }
    const pct = run.total ? Math.round((100 * run.done) / run.total) : 0;
    const running = run.status === "running";
    const stop = running && Panel.isOperator
      ? el("button", { class: "danger", id: "stop-run", onclick: () => onStop(run) , text: "Stop the run" }) : null;
    const header = el("div", { class: "row" },
      el("b", { id: "run-label", text: run.label }),
      badge(run.status),
      el("span", { class: "muted", text: `run ${run.id} · started by ${run.started_by} at ${run.started.replace("T", " ").replace("Z", " UTC")}` +
        (run.stopped_by ? ` · stopped by ${run.stopped_by}` : "") + ` · PICS ${run.pics} · speed ×${run.speed}` }),
      el("span", { style: "flex:1" }),
      el("span", { id: "run-progress-text", text: `${run.done}/${run.total} done` }),
      stop,
      reportLink(run));
    const bar = el("div", { class: "progress" }, el("div", { style: `width:${pct}%` }));
    const energy = (c, key) => (c.energy || []).map((e) => e[key] === null || e[key] === undefined ? "?" : `${e[key]}`).join(" / ");
    const rows = (run.cases || []).map((c) => el("tr", { "data-case": c.id, class: "case-row", onclick: () => { chosen.set(run.id, c.id); renderDetail(container, run, onStop); } },
      el("td", { class: "mono", text: c.id }),
      el("td", { text: c.title }),
      el("td", {}, badge(c.state)),
      el("td", { class: "num", text: c.duration_s === null || c.duration_s === undefined ? "" : `${Number(c.duration_s).toFixed(1)} s` }),
      el("td", { class: "num energy", title: "transaction(s): energy billed by the CSMS", text: energy(c, "energy_wh") }),
      el("td", { class: "num meter", title: "the meter register's delta over the same transaction(s)", text: energy(c, "meter_delta_wh") }),
      el("td", { class: "msg", text: c.message || "" })));
    const table = el("div", { class: "table-wrap" }, el("table", { id: "run-cases" },
      el("thead", {}, el("tr", {}, ...["case", "title", "verdict", "time", "billed Wh", "meter Δ Wh", "message"].map((t) => el("th", { text: t })))),
      el("tbody", {}, ...rows)));
    const focus = (run.cases || []).find((c) => c.id === chosen.get(run.id))
      || (run.cases || []).find((c) => c.state === "running")
      || [...(run.cases || [])].reverse().find((c) => c.steps && c.steps.length);
    const MARK = { pass: "✓", fail: "✗", error: "!", running: "…", stopped: "■" };
    const lines = focus && focus.steps && focus.steps.length
      ? focus.steps.map((s) => el("div", { class: "step " + (s.verdict || ""), title: s.verdict || "" },
          el("span", { class: "mark", text: MARK[s.verdict] || " " }),
          el("span", { class: "t", text: `${Number(s.t).toFixed(3).padStart(8)} s` }),
          el("span", { text: " " + s.text })))
      : [el("div", { class: "muted", text: "no steps yet" })];
    const log = el("div", { class: "steps", id: "step-log" }, ...lines);
    const old = container.querySelector("#step-log");
    const atBottom = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4;
    const finished = focus && !["pending", "running"].includes(focus.state);
    const timeline = finished && run.report
      ? el("details", { id: "timeline", open: container.querySelector("#timeline[open]") ? true : undefined },
          el("summary", { text: `timeline of ${focus.id}: messages between charge point and Central System` }),
          el("div", { class: "timeline-wrap" }, el("img", { src: `/runs/${run.id}/timeline/${encodeURIComponent(focus.id)}.svg`, alt: `sequence chart of ${focus.id}` })))
      : null;
    container.replaceChildren(header, bar, el("h3", {}, "cases"), table,
      el("h3", {}, `step log${focus ? " of " + focus.id : ""}`), log, timeline || "");
    if (atBottom) log.scrollTop = log.scrollHeight; else log.scrollTop = old.scrollTop;
  }

  function renderTable(tbody, runs) {
    tbody.replaceChildren(...runs.map((r) => el("tr", { "data-run": r.id },
      el("td", {}, el("a", { href: `/runs/${r.id}`, class: "mono", text: r.id })),
      el("td", { text: r.label }),
      el("td", { text: r.started_by }),
      el("td", { text: r.started.replace("T", " ").replace("Z", "") }),
      el("td", {}, badge(r.status)),
      el("td", { text: counts(r) }),
      el("td", {}, reportLink(r)))));
    if (!runs.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "no runs yet" })));
  }

  async function stop(run) {
    try {
      await Panel.api("POST", `/api/runs/${run.id}/stop`);
      Panel.toast(`stopping run ${run.id}`);
    } catch (e) { Panel.toast(e.message, true); }
  }

  window.Runs = { renderDetail, renderTable, badge, stop };
})();
