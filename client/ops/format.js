// Display formats for figures and times (pure).

import { formatInt } from "./charts.js";

export { formatInt };

export const isNum = (v) => typeof v === "number" && Number.isFinite(v);

export function pct(v) {
  if (!isNum(v)) return "–";
  const p = v * 100;
  return `${p.toFixed(p === Math.round(p) ? 0 : 1)}%`;
}

export function ms(v) {
  if (!isNum(v)) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s` : `${formatInt(v)} ms`;
}

export function secs(v) {
  if (!isNum(v)) return "–";
  return v < 1 ? `${formatInt(v * 1000)} ms` : `${v.toFixed(v < 10 ? 1 : 0)} s`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function ago(iso) {
  const t = new Date(iso).getTime();
  if (!Number.isFinite(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

