/* Scenarios: the catalogue with filters, runs of a case / a selection / a profile, live progress. */
"use strict";
(function () {
  const { el, api, toast } = Panel;
  const $ = (id) => document.getElementById(id);
  const checked = new Set();
  let cases = [];
  let busy = false;

  function filters() {
    return { role: $("f-role").value, profile: $("f-profile").value, pics: $("f-pics").value, applicability: $("f-applicability").value };
  }

  async function loadCases() {
    const q = new URLSearchParams(filters());
    try { cases = await api("GET", "/api/cases?" + q); } catch (e) { toast(e.message, true); return; }
    renderCases();
  }

  function renderCases() {
    const tbody = $("cases-table").querySelector("tbody");
    tbody.replaceChildren(...cases.map((c) => el("tr", { "data-case": c.id },
      el("td", {}, el("input", { type: "checkbox", class: "pick", "aria-label": `select ${c.id}`, checked: checked.has(c.id),
        onchange: (e) => { e.target.checked ? checked.add(c.id) : checked.delete(c.id); buttons(); } })),
      el("td", { class: "mono", text: c.id }),
      el("td", { text: c.title }),
      el("td", { text: c.role }),
      el("td", { text: c.profile }),
      el("td", {}, c.applicable ? el("span", { class: "badge pass", text: "yes" })
                                : el("span", { class: "badge na", title: `PICS ${c.pics} lacks ${c.missing.join(", ")}`, text: "n/a: " + c.missing.join(", ") })),
      el("td", {}, Panel.isOperator ? el("button", { class: "run-one", "data-run": c.id, onclick: () => start({ cases: [c.id] }), text: "Run" }) : null))));
    $("case-count").textContent = `${cases.length} cases`;
    buttons();
  }

  function buttons() {
    if (!Panel.isOperator) return;
    $("run-selected").disabled = busy || checked.size === 0;
    $("run-selected").textContent = checked.size ? `Run ${checked.size} selected` : "Run selected";
    $("save-selection").disabled = checked.size === 0;
    const profile = $("f-profile").value;
    $("run-profile").disabled = busy || !profile;
    $("run-profile").textContent = profile ? `Run profile ${profile}${$("f-role").value ? " (" + $("f-role").value + ")" : ""}` : "Run the whole profile";
    document.querySelectorAll(".run-one").forEach((b) => { b.disabled = busy; });
  }

  async function start(body) {
    const speed = $("run-speed").value;
    const pics = $("f-pics").value;
    try {
      const run = await api("POST", "/api/runs", Object.assign({ speed: speed || undefined, pics: pics || undefined }, body));
      toast(`run ${run.id} started: ${run.label}`);
    } catch (e) { toast(e.message, true); }
  }

  async function loadSelections() {
    let data = {};
    try { data = await api("GET", "/api/selections"); } catch (e) { return; }
    const tbody = $("selections-table").querySelector("tbody");
    const names = Object.keys(data);
    tbody.replaceChildren(...names.map((n) => el("tr", {},
      el("td", { text: n }),
      el("td", { class: "mono", text: data[n].cases.join(" ") }),
      el("td", { text: data[n].saved_by }),
      el("td", {}, Panel.isOperator ? el("span", {},
        el("button", { onclick: () => start({ selection: n }), text: "Run" }), " ",
        el("button", { onclick: () => removeSelection(n), text: "Delete" })) : null))));
    if (!names.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "none saved" })));
  }

  async function removeSelection(name) {
    try { await api("POST", `/api/selections/${encodeURIComponent(name)}/delete`); loadSelections(); }
    catch (e) { toast(e.message, true); }
  }

  function setup() {
    ["f-role", "f-profile", "f-pics", "f-applicability"].forEach((id) => $(id).addEventListener("change", loadCases));
    $("check-all").addEventListener("change", (e) => {
      for (const c of cases) e.target.checked ? checked.add(c.id) : checked.delete(c.id);
      renderCases();
    });
    if (Panel.isOperator) {
      $("run-selected").addEventListener("click", () => start({ cases: cases.filter((c) => checked.has(c.id)).map((c) => c.id).concat([...checked].filter((id) => !cases.some((c) => c.id === id))) }));
      $("run-profile").addEventListener("click", () => start({ profile: $("f-profile").value, role: $("f-role").value || undefined }));
      $("save-selection").addEventListener("click", async () => {
        const name = $("selection-name").value.trim();
        if (!name) { toast("name the selection first", true); return; }
        try { await api("POST", "/api/selections", { name, cases: [...checked] }); toast(`selection ${name} saved`); loadSelections(); }
        catch (e) { toast(e.message, true); }
      });
    } else {
      document.querySelectorAll(".operator-only").forEach((n) => { n.hidden = true; });
    }
  }

  setup();
  loadCases();
  loadSelections();
  const active = $("active-run");
  let latest = null;
  async function showLast() {
    if (!latest) { Runs.renderDetail(active, null); return; }
    try {
      const run = await api("GET", `/api/runs/${latest}`);
      if (!busy) { $("run-heading").textContent = "Last run"; Runs.renderDetail(active, run, Runs.stop); }
    } catch (e) { /* deleted meanwhile */ }
  }
  Panel.live(["snapshot", "runs"], {
    run: (run) => {
      busy = !!run;
      buttons();
      if (run) { $("run-heading").textContent = "Current run"; Runs.renderDetail(active, run, Runs.stop); } else showLast();
    },
    runs: (runs) => {
      Runs.renderTable($("runs-table").querySelector("tbody"), runs);
      const newest = runs.length ? runs[0].id : null;
      if (newest !== latest) { latest = newest; if (!busy) showLast(); }
    },
  });
})();
