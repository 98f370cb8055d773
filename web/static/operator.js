/* The operator steps of an interactive run: each pending step with "Done" and "Cannot do it".
   The console asks the same steps; whichever answers first completes one. */
"use strict";
(function () {
  const { el, toast } = window.Panel;
  const list = document.getElementById("op-steps");
  let steps = [], received = 0, feed = null;

  function left(step) {
    const s = Math.max(0, step.seconds_left - (Date.now() - received) / 1000);
    return Math.floor(s) + " s left";
  }

  function answer(step, done, buttons) {
    buttons.forEach((b) => { b.disabled = true; });
    feed.command("answer", { step: step.id, done })
      .then(() => toast(`step ${step.id}: ${done ? "done" : "cannot do it"}`))
      .catch((err) => { toast(err.message, true); buttons.forEach((b) => { b.disabled = false; }); });
  }

  function render() {
    list.replaceChildren();
    document.getElementById("op-idle").hidden = steps.length > 0;
    for (const step of steps) {
      const done = el("button", { class: "primary", type: "button", "data-step": step.id, "data-answer": "done", text: "Done" });
      const cannot = el("button", { type: "button", "data-step": step.id, "data-answer": "cannot", text: "Cannot do it" });
      done.addEventListener("click", () => answer(step, true, [done, cannot]));
      cannot.addEventListener("click", () => answer(step, false, [done, cannot]));
      list.append(el("div", { class: "card operator-step", id: "step-" + step.id },
        el("div", { class: "big", text: step.text }),
        el("p", { class: "muted" }, `step ${step.id} · charge point ${step.cp_id} · `,
          el("span", { class: "left", text: left(step) })),
        el("div", { class: "row" }, done, cannot)));
    }
    window.Panel.operatorOnly();
  }

  setInterval(() => {
    for (const step of steps) {
      const node = document.querySelector(`#step-${step.id} .left`);
      if (node) node.textContent = left(step);
    }
  }, 1000);

  feed = window.Panel.live([], {
    prompts(message) {
      steps = message.steps;
      received = Date.now();
      document.getElementById("op-case").textContent = message.case ? "case " + message.case : "";
      document.getElementById("op-closed").hidden = !message.closed;
      render();
    },
  }, {}, "/ws/operator");
})();
