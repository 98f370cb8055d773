/* Canvas charts without a library: a session's curves against time, a schedule as steps. */
"use strict";
(function () {
  function setup(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600, h = canvas.clientHeight || 200;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx, w, h };
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const m = Math.floor(s / 60), r = s % 60;
    return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(r).padStart(2, "0")}`
                   : `${m}:${String(r).padStart(2, "0")}`;
  }

  function message(ctx, w, h, text) {
    ctx.fillStyle = "#8795a5";
    ctx.textAlign = "center";
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillText(text, w / 2, h / 2);
  }

  /* points: [{t, ...}], defs: [{label, unit, color, value(p), max?, digits?}] stacked panels. */
  function timeSeries(canvas, points, defs, emptyText) {
    const { ctx, w, h } = setup(canvas);
    if (!points.length) { message(ctx, w, h, emptyText || "no data"); return; }
    const left = 52, right = 12, top = 4, bottom = 18;
    const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
    const plotW = w - left - right;
    const panelH = (h - top - bottom) / defs.length;
    const xOf = (t) => left + ((t - t0) / (t1 - t0)) * plotW;
    defs.forEach((d, i) => {
      const y0 = top + i * panelH + 2, ph = panelH - 6;
      const values = points.map(d.value);
      const max = d.max || niceMax(Math.max(...values, 0));
      ctx.strokeStyle = "#e1e6ec";
      ctx.lineWidth = 1;
      ctx.strokeRect(left, y0, plotW, ph);
      ctx.beginPath();
      ctx.moveTo(left, y0 + ph / 2); ctx.lineTo(left + plotW, y0 + ph / 2);
      ctx.stroke();
      ctx.fillStyle = "#5f6b7a";
      ctx.textAlign = "right";
      ctx.fillText(String(+max.toFixed(2)), left - 4, y0 + 9);
      ctx.fillText("0", left - 4, y0 + ph);
      const last = values[values.length - 1];
      ctx.textAlign = "left";
      ctx.fillStyle = d.color;
      ctx.fillText(`${d.label} ${Number(last).toFixed(d.digits || 0)} ${d.unit}`, left + 5, y0 + 11);
      ctx.strokeStyle = d.color;
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      points.forEach((p, j) => {
        const v = Math.min(Math.max(values[j], 0), max);
        const x = xOf(p.t), y = y0 + ph - (v / max) * ph;
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#5f6b7a";
    ctx.textAlign = "left";
    ctx.fillText("0:00", left, h - 4);
    ctx.textAlign = "right";
    ctx.fillText(clock(t1 - t0) + " (simulated time)", w - right, h - 4);
  }

  /* schedule: a GetCompositeSchedule answer {schedule_start, charging_schedule: {...}}. */
  function steps(canvas, schedule, now) {
    const { ctx, w, h } = setup(canvas);
    const cs = schedule && schedule.charging_schedule;
    const periods = (cs && cs.chargingSchedulePeriod) || [];
    if (!periods.length) { message(ctx, w, h, "no schedule"); return; }
    const left = 52, right = 12, top = 8, bottom = 18;
    const plotW = w - left - right, ph = h - top - bottom;
    const last = periods[periods.length - 1].startPeriod;
    const duration = Math.max(cs.duration || 0, last + Math.max(60, last * 0.2), 1);
    const max = niceMax(Math.max(...periods.map((p) => Number(p.limit))));
    const xOf = (s) => left + (s / duration) * plotW;
    const yOf = (v) => top + ph - (Number(v) / max) * ph;
    ctx.strokeStyle = "#e1e6ec";
    ctx.strokeRect(left, top, plotW, ph);
    ctx.strokeStyle = "#1565c0";
    ctx.fillStyle = "rgba(21,101,192,.12)";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(xOf(0), yOf(0));
    periods.forEach((p, i) => {
      const end = i + 1 < periods.length ? periods[i + 1].startPeriod : duration;
      ctx.lineTo(xOf(p.startPeriod), yOf(p.limit));
      ctx.lineTo(xOf(end), yOf(p.limit));
    });
    ctx.lineTo(xOf(duration), yOf(0));
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = "#5f6b7a";
    ctx.textAlign = "right";
    ctx.fillText(`${max} ${cs.chargingRateUnit || ""}`, left - 4, top + 9);
    ctx.fillText("0", left - 4, top + ph);
    ctx.textAlign = "left";
    ctx.fillText("0:00", left, h - 4);
    ctx.textAlign = "right";
    ctx.fillText(clock(duration), w - right, h - 4);
    const start = schedule.schedule_start ? Date.parse(schedule.schedule_start) / 1000 : null;
    if (start && now && now >= start && now - start <= duration) {
      ctx.strokeStyle = "#c62828";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(xOf(now - start), top); ctx.lineTo(xOf(now - start), top + ph);
      ctx.stroke();
    }
  }

  window.Charts = { timeSeries, steps, clock };
})();
