/* Shared by every page: the API with the CSRF token, the live WebSocket, small helpers. */
"use strict";
(function () {
  const body = document.body;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const role = body.dataset.role;

  async function api(method, url, data) {
    const init = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = csrf();
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(data === undefined ? {} : data);
    }
    const response = await fetch(url, init);
    let payload = null;
    try { payload = await response.json(); } catch (e) { payload = null; }
    if (!response.ok) {
      const err = new Error((payload && payload.error) || response.status + " " + response.statusText);
      err.status = response.status;
      err.payload = payload;
      throw err;
    }
    return payload;
  }

  let toastTimer = null;
  function toast(text, isError) {
    const el = document.getElementById("toast");
    el.textContent = text;
    el.className = isError ? "error" : "";
    el.style.display = "block";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.style.display = "none"; }, isError ? 6000 : 2500);
  }

  /* The live feed (path: "/ws", or "/ws/operator" for an interactive run's steps).
     handlers: {snapshot(s), frames(list), history(c), runs(list), run(r), hello(h), steps(s)}.
     Reconnects with back-off; commands go out with the CSRF token and resolve on their ack. */
  function live(topics, handlers, params, path) {
    let ws = null, retry = 500, nextId = 1;
    const pending = new Map();
    const state = { params: Object.assign({}, params || {}) };
    function url() {
      const q = new URLSearchParams(Object.assign({ topics: topics.join(",") }, state.params));
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + (path || "/ws") + "?" + q;
    }
    function open() {
      ws = new WebSocket(url());
      ws.onopen = () => { retry = 500; const p = document.getElementById("pill-live"); if (p) p.hidden = true; };
      ws.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "ack") {
          const p = pending.get(msg.id);
          if (p) { pending.delete(msg.id); msg.ok ? p.resolve(msg) : p.reject(Object.assign(new Error(msg.error), msg)); }
          return;
        }
        if (msg.type === "snapshot") statusPills(msg.snapshot);
        if (msg.type === "frames" && msg.frames.length) state.params.trace_from = msg.frames[msg.frames.length - 1].index + 1;
        if (msg.type === "hello" && state.params.trace_from === undefined) state.params.trace_from = msg.trace_next;
        const h = handlers[msg.type];
        if (h) h(msg[msg.type] !== undefined ? msg[msg.type] : msg);
      };
      ws.onclose = () => {
        for (const p of pending.values()) p.reject(new Error("connection lost"));
        pending.clear();
        const p = document.getElementById("pill-live"); if (p) p.hidden = false;
        setTimeout(open, retry);
        retry = Math.min(retry * 2, 8000);
      };
    }
    open();
    return {
      command(cmd, fields) {
        return new Promise((resolve, reject) => {
          if (!ws || ws.readyState !== WebSocket.OPEN) { reject(new Error("not connected")); return; }
          const id = nextId++;
          pending.set(id, { resolve, reject });
          ws.send(JSON.stringify(Object.assign({ cmd, id, csrf: csrf() }, fields || {})));
        });
      },
      setParam(key, value) { state.params[key] = value; },
    };
  }

  function pill(id, text, cls) {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    el.className = "pill " + (cls || "");
  }

  function statusPills(s) {
    pill("pill-csms", s.csms_up ? "CSMS up" : "CSMS stopped", s.csms_up ? "ok" : "bad");
    pill("pill-cp", s.cp_connected ? "charger connected" : "charger offline", s.cp_connected ? "ok" : "bad");
    if (s.link_up !== null && s.link_up !== undefined) pill("pill-link", s.link_up ? "link up" : "link cut", s.link_up ? "ok" : "bad");
    if (s.powered !== null && s.powered !== undefined) pill("pill-power", s.powered ? "powered" : "power lost", s.powered ? "ok" : "bad");
    const run = document.getElementById("pill-run");
    if (run) {
      if (s.run) {
        run.hidden = false;
        run.className = "pill warn";
        run.textContent = `run ${s.run.label}: ${s.run.done}/${s.run.total} (${s.run.started_by})`;
      } else run.hidden = true;
    }
  }

  const fmt = {
    num(v, digits) { return (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(digits || 0); },
    time(ts) { if (!ts) return "–"; const d = new Date(ts * 1000); return d.toISOString().substring(11, 23); },
    yes(v) { return v ? "yes" : "no"; },
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.substring(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function operatorOnly() {
    if (role === "operator") return;
    document.querySelectorAll(".operator-only").forEach((n) => { n.hidden = true; });
    document.querySelectorAll(".operator-zone button, .operator-zone input, .operator-zone select, .operator-zone textarea")
      .forEach((n) => { if (!n.hasAttribute("data-viewer-ok")) n.disabled = true; });
  }

  window.Panel = { api, live, toast, fmt, el, csrf, role, isOperator: role === "operator", operatorOnly, statusPills };
})();
