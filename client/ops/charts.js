// Small SVG charts for the ops page: no dependencies, every label set with textContent (never markup).

const SVG_NS = "http://www.w3.org/2000/svg";

export const COLORS = {
  blue: "#2563eb", green: "#16a34a", red: "#dc2626", amber: "#d97706", slate: "#94a3b8",
  grid: "#e2e8f0", axis: "#64748b", text: "#0f172a", muted: "#64748b",
};

export function svg(name, attrs = {}, text = null) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  if (text !== null) el.textContent = String(text);
  return el;
}

function titled(el, text) {
  el.appendChild(svg("title", {}, text));
  return el;
}

function root(host, width, height, label) {
  const el = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
                          preserveAspectRatio: "xMidYMid meet", "aria-label": label });
  host.replaceChildren(el);
  return el;
}

function emptyState(el, width, height, text) {
  el.setAttribute("data-empty", "true");
  el.appendChild(svg("rect", { x: 0.5, y: 0.5, width: width - 1, height: height - 1, rx: 8, fill: "#f8fafc",
                               stroke: COLORS.grid, "stroke-dasharray": "4 4", class: "empty-frame" }));
  el.appendChild(svg("text", { x: width / 2, y: height / 2 + 4, "text-anchor": "middle", fill: COLORS.muted,
                               "font-size": 13 }, text));
}

export function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

const fmtInt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
export const formatInt = (n) => fmtInt.format(n);

// --- migrations over time -------------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const HOUR = 3600 * 1000;

/** "YYYYMMDDHH" (UTC) → epoch ms, or null. */
export function parseHour(stamp) {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(String(stamp));
  if (!m) return null;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]);
  return Number.isFinite(t) ? t : null;
}

function hourLabel(t) {
  const d = new Date(t);
  return `${String(d.getUTCHours()).padStart(2, "0")}:00`;
}

function dayLabel(t) {
  const d = new Date(t);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

/** Bars of completions per hour over a zero-filled window ending at the current hour. */
export function drawTimeline(host, series, now = Date.now(), windowHours = 48) {
  const W = 760, H = 250, m = { l: 44, r: 14, t: 14, b: 40 };
  const el = root(host, W, H, "Completed migrations per hour");
  const points = (Array.isArray(series) ? series : [])
    .map((p) => ({ t: parseHour(p && p.hour), count: Number(p && p.count) || 0 }))
    .filter((p) => p.t !== null);
  const total = points.reduce((s, p) => s + p.count, 0);
  el.setAttribute("data-total", String(total));
  if (!total) {
    emptyState(el, W, H, "No completed migrations in the last 48 hours");
    return el;
  }
  const end = Math.max(Math.floor(now / HOUR) * HOUR, ...points.map((p) => p.t));
  let start = end - (windowHours - 1) * HOUR;
  start = Math.min(start, ...points.map((p) => p.t));
  const n = Math.round((end - start) / HOUR) + 1;
  const bins = new Map();
  for (const p of points) bins.set(p.t, (bins.get(p.t) || 0) + p.count);
  const max = niceMax(Math.max(...bins.values()));
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const y = (v) => m.t + ph - (v / max) * ph;
  const slot = pw / n;

  const grid = svg("g", { class: "grid" });
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    grid.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), stroke: COLORS.grid,
                                   "stroke-width": 1 }));
    if (Number.isInteger(v) || i === 4) {
      grid.appendChild(svg("text", { x: m.l - 8, y: y(v) + 4, "text-anchor": "end", "font-size": 11,
                                     fill: COLORS.muted }, formatInt(v)));
    }
  }
  el.appendChild(grid);

  const xAxis = svg("g", { class: "x-axis" });
  for (let i = 0; i < n; i++) {
    const t = start + i * HOUR;
    const hour = new Date(t).getUTCHours();
    if (hour % 6 !== 0) continue;
    const x = m.l + slot * (i + 0.5);
    xAxis.appendChild(svg("line", { x1: x, x2: x, y1: m.t + ph, y2: m.t + ph + 4, stroke: COLORS.axis }));
    xAxis.appendChild(svg("text", { x, y: m.t + ph + 17, "text-anchor": "middle", "font-size": 11,
                                    fill: COLORS.muted }, hourLabel(t)));
    if (hour === 0) {
      xAxis.appendChild(svg("text", { x, y: m.t + ph + 31, "text-anchor": "middle", "font-size": 11,
                                      "font-weight": 600, fill: COLORS.axis }, dayLabel(t)));
    }
  }
  el.appendChild(xAxis);

  const bars = svg("g", { class: "bars" });
  const gap = Math.min(3, slot * 0.25);
  for (let i = 0; i < n; i++) {
    const t = start + i * HOUR;
    const count = bins.get(t) || 0;
    if (!count) continue;
    const top = y(count);
    const bar = svg("rect", { class: "bar", x: m.l + slot * i + gap / 2, y: top, width: Math.max(1, slot - gap),
                              height: Math.max(1, m.t + ph - top), rx: 2, fill: COLORS.blue,
                              "data-hour": new Date(t).toISOString().slice(0, 13), "data-count": count });
    titled(bar, `${dayLabel(t)} ${hourLabel(t)} UTC: ${formatInt(count)} migration${count === 1 ? "" : "s"}`);
    bars.appendChild(bar);
  }
  el.appendChild(bars);
  // The trend: a line through the hourly counts (zero-filled).
  let d = "";
  for (let i = 0; i < n; i++) {
    const count = bins.get(start + i * HOUR) || 0;
    d += `${i ? "L" : "M"}${(m.l + slot * (i + 0.5)).toFixed(1)},${y(count).toFixed(1)}`;
  }
  el.appendChild(svg("path", { class: "trend", d, fill: "none", stroke: "#1e3a8a", "stroke-opacity": 0.35,
                               "stroke-width": 1.5, "stroke-linejoin": "round" }));
  el.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, stroke: COLORS.axis }));
  return el;
}

// --- success rate ---------------------------------------------------------------------------------------

function polar(cx, cy, r, a) {
  return [cx + r * Math.sin(a), cy - r * Math.cos(a)];
}

function sector(cx, cy, r0, r1, a0, a1) {
  if (a1 - a0 >= 2 * Math.PI - 1e-6) {  // a full ring: two halves (one arc cannot close on itself)
    const mid = a0 + Math.PI;
    return sector(cx, cy, r0, r1, a0, mid) + " " + sector(cx, cy, r0, r1, mid, a0 + 2 * Math.PI);
  }
  const large = a1 - a0 > Math.PI ? 1 : 0;
  const [x0, y0] = polar(cx, cy, r1, a0), [x1, y1] = polar(cx, cy, r1, a1);
  const [x2, y2] = polar(cx, cy, r0, a1), [x3, y3] = polar(cx, cy, r0, a0);
  const f = (v) => v.toFixed(2);
  return `M${f(x0)},${f(y0)} A${r1},${r1} 0 ${large} 1 ${f(x1)},${f(y1)} ` +
         `L${f(x2)},${f(y2)} A${r0},${r0} 0 ${large} 0 ${f(x3)},${f(y3)} Z`;
}

/** A ring of segments [{key, label, value, color}] with a centre figure. */
export function drawDonut(host, segments, centre, caption) {
  const W = 240, H = 200, cx = W / 2, cy = H / 2, r1 = 88, r0 = 62;
  const el = root(host, W, H, `${caption}: ${centre}`);
  const total = segments.reduce((s, x) => s + Math.max(0, x.value), 0);
  el.setAttribute("data-total", String(total));
  if (!total) {
    el.setAttribute("data-empty", "true");
    el.appendChild(svg("path", { class: "track", d: sector(cx, cy, r0, r1, 0, 2 * Math.PI), fill: "#f1f5f9" }));
  } else {
    let a = 0;
    for (const s of segments) {
      if (!(s.value > 0)) continue;
      const span = (s.value / total) * 2 * Math.PI;
      const path = svg("path", { class: "segment", d: sector(cx, cy, r0, r1, a, a + span), fill: s.color,
                                 "data-key": s.key, "data-value": s.value, stroke: "#fff", "stroke-width": 1.5 });
      titled(path, `${s.label}: ${formatInt(s.value)}`);
      el.appendChild(path);
      a += span;
    }
  }
  el.appendChild(svg("text", { x: cx, y: cy + 6, "text-anchor": "middle", "font-size": 28, "font-weight": 700,
                               fill: COLORS.text, class: "centre" }, centre));
  el.appendChild(svg("text", { x: cx, y: cy + 26, "text-anchor": "middle", "font-size": 11, fill: COLORS.muted },
                     caption));
  return el;
}

// --- horizontal bars ------------------------------------------------------------------------------------

/** Rows [{key, label, value}] as horizontal bars; `log` for counts that span orders of magnitude;
 *  `labelsAbove` for long labels (error codes), which then get the full width. */
export function drawBars(host, rows, { color = COLORS.blue, log = false, empty = "No data", label = "",
                                       labelsAbove = false } = {}) {
  const W = 380, rowH = labelsAbove ? 36 : 26, barH = 16;
  const m = { l: labelsAbove ? 0 : 118, r: 56, t: 6, b: 6 };
  const data = rows.filter((r) => Number(r.value) > 0);
  const H = Math.max(64, m.t + m.b + rowH * data.length);
  const el = root(host, W, H, label);
  if (!data.length) {
    emptyState(el, W, H, empty);
    return el;
  }
  const max = Math.max(...data.map((r) => r.value));
  const bw = W - m.l - m.r;
  const scale = (v) => (log ? Math.log10(1 + v) / Math.log10(1 + max) : v / max) * bw;
  data.forEach((r, i) => {
    const top = m.t + i * rowH;
    const barY = labelsAbove ? top + rowH - barH - 3 : top + (rowH - barH) / 2;
    const g = svg("g", { class: "row", "data-key": r.key, "data-value": r.value });
    const name = labelsAbove
      ? svg("text", { x: 0, y: top + 11, "font-size": 12, fill: COLORS.text }, shorten(r.label, 56))
      : svg("text", { x: m.l - 8, y: barY + barH / 2 + 4, "text-anchor": "end", "font-size": 12,
                      fill: COLORS.text }, shorten(r.label, 17));
    titled(name, r.label);
    g.appendChild(name);
    g.appendChild(svg("rect", { class: "track", x: m.l, y: barY, width: bw, height: barH, rx: 3, fill: "#f1f5f9" }));
    const bar = svg("rect", { class: "bar", x: m.l, y: barY, width: Math.max(2, scale(r.value)), height: barH,
                              rx: 3, fill: r.color || color, "data-key": r.key, "data-value": r.value });
    titled(bar, `${r.label}: ${formatInt(r.value)}`);
    g.appendChild(bar);
    g.appendChild(svg("text", { class: "value", x: m.l + bw + 6, y: barY + barH / 2 + 4, "font-size": 12,
                                "font-weight": 600, fill: COLORS.text }, formatInt(r.value)));
    el.appendChild(g);
  });
  return el;
}

function shorten(text, n) {
  const s = String(text);
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
