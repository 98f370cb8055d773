/* The live OCPP trace, both directions, filterable by action and connector. */
"use strict";
(function () {
  const { el, fmt, api } = Panel;
  const $ = (id) => document.getElementById(id);
  const TYPES = { 2: "CALL", 3: "RESULT", 4: "ERROR", 0: "BAD" };
  const MAX_ROWS = 5000;
  const frames = [];
  const actions = new Set();

  const stations = new Set();
  function filter() { return { action: $("t-action").value, connector: $("t-connector").value, cp: $("t-cp").value }; }
  function matches(f, q) {
    return (!q.action || f.action === q.action) && (q.connector === "" || String(f.connector) === q.connector)
      && (!q.cp || f.cp_id === q.cp);
  }

  function row(f) {
    const inbound = f.sender === "dut";
    const payload = JSON.stringify(f.payload);
    return el("tr", { class: (inbound ? "in" : "out") + (f.message_type === 4 ? " callerror" : ""), "data-index": f.index, "data-action": f.action || "" },
      el("td", { class: "num", text: f.index }),
      el("td", { text: inbound ? "CP → CSMS" : "CSMS → CP" }),
      el("td", { class: "mono", text: fmt.time(f.ts) }),
      el("td", { text: TYPES[f.message_type] || f.message_type }),
      el("td", { text: f.action || "?" }),
      el("td", { class: "num", text: f.connector === null || f.connector === undefined ? "" : f.connector }),
      el("td", { class: "mono nowrap", title: f.unique_id, text: String(f.unique_id).substring(0, 8) }),
      el("td", { class: "payload", title: "click to expand", text: payload, onclick: (e) => {
        const td = e.target; td.classList.toggle("open"); td.textContent = td.classList.contains("open") ? JSON.stringify(f.payload, null, 2) : payload; } }));
  }

  function addStations(list) {
    let changed = false;
    for (const f of list) if (f.cp_id && !stations.has(f.cp_id)) { stations.add(f.cp_id); changed = true; }
    if (!changed) return;
    const select = $("t-cp"), current = select.value;
    select.replaceChildren(el("option", { value: "", text: "all" }), ...[...stations].sort().map((c) => el("option", { value: c, text: c })));
    select.value = current;
  }

  function addActions(list) {
    addStations(list);
    let changed = false;
    for (const f of list) if (f.action && !actions.has(f.action)) { actions.add(f.action); changed = true; }
    if (!changed) return;
    const select = $("t-action"), current = select.value;
    select.replaceChildren(el("option", { value: "", text: "all" }), ...[...actions].sort().map((a) => el("option", { value: a, text: a })));
    select.value = current;
  }

  function render() {
    const q = filter();
    const shown = frames.filter((f) => matches(f, q)).slice(-MAX_ROWS);
    $("trace-table").querySelector("tbody").replaceChildren(...shown.map(row));
    $("t-count").textContent = `${shown.length} of ${frames.length} frames`;
    const params = new URLSearchParams(Object.fromEntries(Object.entries(q).filter(([, v]) => v !== "")));
    $("t-download").href = "/api/trace.jsonl" + (params.toString() ? "?" + params : "");
    follow();
  }

  function follow() { if ($("t-follow").checked) { const w = $("t-wrap"); w.scrollTop = w.scrollHeight; } }

  function append(list) {
    frames.push(...list);
    if (frames.length > 4 * MAX_ROWS) frames.splice(0, frames.length - 4 * MAX_ROWS);
    addActions(list);
    const q = filter();
    const tbody = $("trace-table").querySelector("tbody");
    for (const f of list) if (matches(f, q)) tbody.append(row(f));
    while (tbody.children.length > MAX_ROWS) tbody.firstElementChild.remove();
    $("t-count").textContent = `${tbody.children.length} of ${frames.length} frames`;
    follow();
  }

  $("t-action").addEventListener("change", render);
  $("t-connector").addEventListener("change", render);
  $("t-cp").addEventListener("change", render);
  (async function start() {
    const first = await api("GET", "/api/trace?limit=2000");
    frames.push(...first.frames);
    addActions(first.frames);
    render();
    Panel.live(["snapshot", "frames"], { frames: append }, { trace_from: first.next });
  })();
})();
