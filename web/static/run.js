/* One run, live while it runs. */
"use strict";
(function () {
  const page = document.getElementById("run-page");
  const runId = page.dataset.runId;
  const box = document.getElementById("run-detail");
  async function refresh() {
    try { Runs.renderDetail(box, await Panel.api("GET", `/api/runs/${runId}`), Runs.stop); }
    catch (e) { Panel.toast(e.message, true); }
  }
  refresh();
  Panel.live(["snapshot", "runs"], {
    run: (run) => { if (run && run.id === runId) Runs.renderDetail(box, run, Runs.stop); },
    runs: (runs) => { if (runs.some((r) => r.id === runId && r.status !== "running")) refresh(); },
  });
})();
