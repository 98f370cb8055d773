/* Rig view: per connector the EV, the charger, the meter, status and transaction, live. */
"use strict";
(function () {
  const { fmt, el } = Panel;
  const cards = new Map();        // connector id -> card element
  const history = new Map();      // connector id -> {session, points}
  let lastSnapshot = null;
  let drawPending = false;
  const DEFS = [
    { label: "power", unit: "kW", color: "#1565c0", digits: 1, value: (p) => p.power_w / 1000 },
    { label: "current", unit: "A", color: "#e65100", digits: 1, value: (p) => p.current_a },
    { label: "voltage", unit: "V", color: "#6a1b9a", digits: 0, value: (p) => p.voltage_v },
    { label: "SoC", unit: "%", color: "#2e7d32", digits: 1, value: (p) => p.soc, max: 100 },
  ];

  const f = (card, name) => card.querySelector(`[data-f="${name}"]`);
  function set(card, name, value) { const n = f(card, name); if (n && n.textContent !== String(value)) n.textContent = value; }

  function card(cid) {
    if (cards.has(cid)) return cards.get(cid);
    const node = document.getElementById("connector-template").content.firstElementChild.cloneNode(true);
    node.id = `connector-${cid}`;
    node.dataset.connector = cid;
    node.querySelectorAll("[data-f]").forEach((n) => { n.id = `c${cid}-${n.dataset.f}`; });
    node.querySelectorAll("[data-cmd]").forEach((b) => {
      b.id = `c${cid}-${b.dataset.cmd}`;
      b.addEventListener("click", () => command(cid, b.dataset.cmd, node));
    });
    document.getElementById("connectors").append(node);
    cards.set(cid, node);
    if (!Panel.isOperator) node.querySelectorAll(".operator-only").forEach((n) => { n.hidden = true; });
    return node;
  }

  async function command(cid, cmd, node) {
    try {
      if (cmd === "schedule") {
        const answer = await Panel.api("POST", "/api/operations/GetCompositeSchedule", { connectorId: Number(cid), duration: 3600 });
        Panel.toast(answer.callerror ? `GetCompositeSchedule: CALLERROR ${answer.callerror.errorCode}` : `GetCompositeSchedule: ${answer.result.status}`, !!answer.callerror);
        return;
      }
      const fields = { connector: Number(cid) };
      if (cmd === "tag") fields.uid = f(node, "tag-input").value;
      await live.command(cmd, fields);
      Panel.toast(cmd === "tag" ? `RFID ${fields.uid} presented` : `${cmd} on connector ${cid}: done`);
    } catch (e) {
      Panel.toast(e.message, true);
    }
  }

  /* The CSMS serves any number of charge points: list them; the rig's cards are the
     bench's own one's, shown when it is the one selected. */
  function renderStations(s) {
    const stations = s.charge_points || {};
    const ids = Object.keys(stations);
    document.getElementById("stations-card").hidden = ids.length < 2;
    const select = document.getElementById("station"), current = select.value;
    if ([...select.options].map((o) => o.value).join() !== ids.join()) {
      select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id + (stations[id].own ? " (this rig)" : "") })));
    }
    if (ids.includes(current)) select.value = current;
    const shown = select.value || s.cp_id;
    document.getElementById("stations").querySelector("tbody").replaceChildren(...ids
      .filter((id) => id === shown || !stations[shown] || stations[shown].own)
      .map((id) => el("tr", { "data-cp": id },
        el("td", { class: "mono", text: id }),
        el("td", { text: stations[id].connected ? "connected" : "not connected" }),
        el("td", { text: Object.entries(stations[id].connectors).map(([c, x]) => `${c}: ${x.status || "?"}${x.error_code && x.error_code !== "NoError" ? " (" + x.error_code + ")" : ""}`).join(", ") || "none reported" }))));
    document.getElementById("connectors").hidden = Boolean(stations[shown]) && !stations[shown].own;
  }

  function render(s) {
    lastSnapshot = s;
    renderStations(s);
    document.getElementById("cp-id").textContent = s.cp_id;
    document.getElementById("agent-pid").textContent = s.agent_running ? s.agent_pid : "not running";
    document.getElementById("speed").textContent = s.speed;
    document.getElementById("sim-time").textContent = new Date(s.t * 1000).toISOString().substring(0, 19).replace("T", " ");
    document.getElementById("rig-kind").textContent = `(${s.rig})`;
    const err = document.getElementById("rig-error");
    err.hidden = !s.rig_error;
    err.textContent = s.rig_error || "";
    for (const [cid, c] of Object.entries(s.connectors)) {
      const node = card(cid);
      set(node, "id", cid);
      set(node, "standard", c.standard || "");
      const badge = f(node, "status");
      const status = c.status || "unknown";
      if (badge.textContent !== status) { badge.textContent = status; badge.className = "badge " + status; }
      set(node, "error_code", c.error_code && c.error_code !== "NoError" ? c.error_code + (c.status_info ? ` (${c.status_info})` : "") : "");
      set(node, "plugged", c.plugged === undefined ? "–" : fmt.yes(c.plugged));
      set(node, "cp", c.cp || "–");
      set(node, "stage", c.stage || "–");
      set(node, "soc", fmt.num(c.soc, 1));
      f(node, "soc-bar").style.width = `${Math.max(0, Math.min(100, c.soc || 0))}%`;
      set(node, "requested_current_a", fmt.num(c.requested_current_a, 1));
      set(node, "requested_voltage_v", fmt.num(c.requested_voltage_v, 0));
      set(node, "ev_contactor", c.ev_contactor === undefined ? "–" : (c.ev_contactor ? "closed" : "open"));
      set(node, "contactors", c.contactors === undefined ? "–" : (c.contactors ? "closed" : "open"));
      const sp = c.setpoint || {};
      set(node, "sp_voltage", fmt.num(sp.voltage_v, 0));
      set(node, "sp_current", fmt.num(sp.current_a, 1));
      set(node, "sp_enabled", sp.enabled === undefined ? "" : (sp.enabled ? "enabled" : "disabled"));
      set(node, "sp_power", fmt.num((sp.power_w || 0) / 1000, 1));
      set(node, "duty", c.duty === null || c.duty === undefined ? "none (+12 V)"
        : c.duty === 0 ? "none (−12 V)" : `${fmt.num(c.duty * 100, 1)} %`);
      const tx = c.transaction;
      set(node, "transaction", tx ? `${tx.active ? "#" + tx.id + " running" : "#" + tx.id + " ended (" + (tx.stop_reason || "") + ")"} · ${tx.id_tag}` : "none");
      set(node, "tx_energy", tx ? fmt.num(tx.energy_wh, 0) : "–");
      set(node, "power_kw", fmt.num((c.power_w || 0) / 1000, 1));
      set(node, "current_a", fmt.num(c.current_a, 1));
      set(node, "voltage_v", fmt.num(c.voltage_v, 0));
      set(node, "meter_wh", fmt.num(c.meter_wh, 0));
      set(node, "schedule-note", scheduleOf(s, cid).note);
    }
    const act = document.getElementById("activity");
    const items = (s.activity || []).slice().reverse();
    act.replaceChildren(...(items.length ? items.map((a) => el("li", { text: `${a.at.substring(11, 19)} ${a.user}: ${a.text}` }))
                                         : [el("li", { class: "muted", text: "nothing yet" })]));
    schedule();
  }

  /* The CSMS's composite schedule in force if it has one, else the charger's last answer. */
  function scheduleOf(s, cid) {
    const csms = (s.composite || {})[cid];
    if (csms) return { schedule: csms, note: "in force: the CSMS's composite of the charging profiles it sent" };
    const answer = (s.schedules || {})[cid];
    if (!answer) return { schedule: null, note: "no schedule" };
    const when = answer.received ? fmt.time(answer.received) : "";
    return answer.charging_schedule
      ? { schedule: answer, note: `the charger's GetCompositeSchedule answer at ${when}` }
      : { schedule: null, note: `no schedule: the charger answered ${answer.status} at ${when}` };
  }

  function schedule() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; draw(); });
  }

  function draw() {
    for (const [cid, node] of cards) {
      const h = history.get(cid) || { points: [] };
      const plugged = lastSnapshot && lastSnapshot.connectors[cid] && lastSnapshot.connectors[cid].plugged;
      set(node, "session-note", h.points.length ? (plugged ? "(running)" : "(last session)") : "");
      Charts.timeSeries(f(node, "chart"), h.points, DEFS, "no session yet: plug an EV");
      const sched = lastSnapshot ? scheduleOf(lastSnapshot, cid).schedule : null;
      Charts.steps(f(node, "schedule"), sched, lastSnapshot && lastSnapshot.t);
    }
  }

  let maxSeq = 0;
  function addHistory(connectors) {
    for (const [cid, h] of Object.entries(connectors)) {
      for (const p of h.points) maxSeq = Math.max(maxSeq, p.seq);
      const mine = history.get(cid);
      if (!mine || mine.session !== h.session) history.set(cid, { session: h.session, points: h.points.slice() });
      else mine.points.push(...h.points);
    }
    if (live) live.setParam("history_from", maxSeq);
    schedule();
  }

  let live = null;
  (async function start() {
    const [snap, hist] = await Promise.all([Panel.api("GET", "/api/snapshot"), Panel.api("GET", "/api/history")]);
    if (snap && snap.connectors) { render(snap); Panel.statusPills(snap); }
    addHistory(hist);
    document.getElementById("station").addEventListener("change", () => { if (lastSnapshot) render(lastSnapshot); });
    live = Panel.live(["snapshot", "history"], { snapshot: render, history: (m) => addHistory(m.connectors) }, { history_from: maxSeq });
    window.addEventListener("resize", schedule);
  })();
})();
