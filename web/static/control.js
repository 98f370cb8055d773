/* Manual control: the EV and the driver, faults, and any OCPP operation from its schema. */
"use strict";
(function () {
  const { api, toast } = Panel;
  const $ = (id) => document.getElementById(id);
  Panel.operatorOnly();
  /* The rig's connectors and the connected charge points come from the snapshot: the
     CSMS serves any number of them; the rig's hands act on the bench's own. */
  function fill(select, values, label) {
    const current = select.value;
    const same = select.options.length === values.length && values.every((v, i) => select.options[i].value === v);
    if (!same) select.replaceChildren(...values.map((v) => Panel.el("option", { value: v, text: label ? label(v) : v })));
    if (values.includes(current)) select.value = current;
  }
  let stations = {};
  function showConnectors() {
    const cp = stations[$("op-cp").value];
    const list = cp ? Object.entries(cp.connectors).map(([c, s]) => `${c}: ${s.status || "?"}`) : [];
    $("op-cp-connectors").textContent = cp ? `${cp.connected ? "connected" : "not connected"}; connectors ${list.join(", ") || "none reported"}` : "";
  }
  Panel.live(["snapshot"], { snapshot: (s) => {
    stations = s.charge_points || {};
    const own = Object.keys(s.connectors || {});
    document.querySelectorAll("[data-connectors]").forEach((sel) => fill(sel, own.length ? own : ["1"]));
    const ids = Object.keys(stations);
    fill($("op-cp"), ids, (id) => id + (stations[id].own ? " (this bench's)" : stations[id].connected ? "" : " (gone)"));
    showConnectors();
  } });
  $("op-cp").addEventListener("change", showConnectors);

  async function post(url, body, what) {
    try {
      const answer = await api("POST", url, body);
      toast(answer && answer.done ? answer.done : what);
      return answer;
    } catch (e) { toast(e.message, true); return null; }
  }

  document.querySelectorAll("[data-rig]").forEach((b) => b.addEventListener("click", () => {
    const c = $("ctl-connector").value;
    post(`/api/rig/${c}/${b.dataset.rig}`, {}, `${b.dataset.rig} on connector ${c}: done`);
  }));
  $("ctl-present").addEventListener("click", () =>
    post("/api/rig/tag", { uid: $("ctl-tag").value, hold_s: Number($("ctl-hold").value) }, `RFID ${$("ctl-tag").value} presented`));
  document.querySelectorAll("[data-fault]").forEach((b) => b.addEventListener("click", () => post(`/api/faults/${b.dataset.fault}`, {}, b.textContent)));
  $("meter-apply").addEventListener("click", () =>
    post("/api/faults/meter", { connector: Number($("meter-connector").value), fault: $("meter-fault").value || null }, "meter fault set"));

  let form = null;
  function showJson(value) { $("op-json").value = JSON.stringify(value || {}, null, 2); }
  async function loadSchema() {
    const action = $("op-action").value;
    try {
      const schema = await api("GET", `/api/operations/${action}/schema`);
      form = SchemaForm.build($("op-form"), schema, showJson);
      showJson(form.get());
      if (!Panel.isOperator) Panel.operatorOnly();
    } catch (e) { toast(e.message, true); }
  }
  $("op-action").addEventListener("change", loadSchema);
  $("op-from-json").addEventListener("click", (e) => {
    e.preventDefault();
    try { form.set(JSON.parse($("op-json").value)); showJson(form.get()); } catch (err) { toast("not valid JSON: " + err.message, true); }
  });
  $("op-form").addEventListener("submit", (e) => e.preventDefault());
  $("op-send").addEventListener("click", async () => {
    const action = $("op-action").value;
    let payload;
    try { payload = JSON.parse($("op-json").value); } catch (err) { toast("not valid JSON: " + err.message, true); return; }
    $("op-result").textContent = `sending ${action} …`;
    $("op-table").replaceChildren();
    try {
      const cp = $("op-cp").value;
      const target = cp && !(stations[cp] || {}).own ? `?cp=${encodeURIComponent(cp)}` : "";
      const answer = await api("POST", `/api/operations/${action}${target}`, payload);
      $("op-result").textContent = answer.callerror
        ? `CALLERROR ${answer.callerror.errorCode}: ${answer.callerror.errorDescription}\n` + JSON.stringify(answer.callerror.errorDetails || {}, null, 2)
        : JSON.stringify(answer.result, null, 2);
      if (action === "GetConfiguration" && answer.result) showConfiguration(answer.result);
    } catch (e) {
      const errors = e.payload && e.payload.errors ? "\n" + e.payload.errors.map((x) => `  ${x.path}: ${x.message}`).join("\n") : "";
      $("op-result").textContent = `refused: ${e.message}${errors}`;
    }
  });
  /* A GetConfiguration answer as a table: key, value, read-only; unknown keys below. */
  function showConfiguration(result) {
    const { el } = Panel;
    const keys = result.configurationKey || [];
    const rows = keys.map((k) => el("tr", { "data-key": k.key },
      el("td", { class: "mono", text: k.key }),
      el("td", { class: "mono value", text: k.value === undefined ? "(no value)" : k.value }),
      el("td", { text: k.readonly ? "read-only" : "read-write", class: k.readonly ? "muted" : "" })));
    const unknown = result.unknownKey || [];
    $("op-table").replaceChildren(
      el("div", { class: "table-wrap" }, el("table", { id: "config-table" },
        el("thead", {}, el("tr", {}, el("th", { text: `key (${keys.length})` }), el("th", { text: "value" }), el("th", { text: "access" }))),
        el("tbody", {}, ...rows))),
      unknown.length ? el("p", { id: "config-unknown", class: "muted", text: `unknown keys: ${unknown.join(", ")}` }) : "");
    $("op-result-raw").open = false;
  }

  loadSchema();
})();
