// The validation reports of the sweep (seed §5 ValidationReport): issues listed with their data, never values.

import { $, h } from "./dom.js";
import { formatInt, isNum, ms, when } from "./format.js";

function dataList(data) {
  if (!data || typeof data !== "object") return h("span", { class: "muted", text: "–" });
  return h("dl", { class: "kv" }, Object.entries(data).map(([k, v]) => [
    h("dt", { text: k }),
    h("dd", { text: typeof v === "string" ? v : JSON.stringify(v) }),
  ]));
}

function renderReport(r, index) {
  const issues = Array.isArray(r.issues_found) ? r.issues_found : [];
  const count = r.issue_count ?? issues.length;
  const el = h("details", {
    class: `report ${r.success ? "report-ok" : "report-bad"}`, open: index === 0,
    dataset: { testid: "validation-report", success: String(Boolean(r.success)), usersChecked: r.users_checked ?? "",
               issueCount: count, createdAt: r.createdAt || "" },
  },
    h("summary", {},
      h("span", { class: `badge ${r.success ? "badge-met" : "badge-not-met"}`, text: r.success ? "Passed" : "Issues found" }),
      h("span", { class: "report-when", text: when(r.createdAt) }),
      h("span", { class: "report-fig", text: `${formatInt(r.users_checked ?? 0)} users checked` }),
      isNum(r.new_since_checkpoint) ? h("span", { class: "report-fig muted", text: `${formatInt(r.new_since_checkpoint)} new · ${formatInt(r.sampled_older ?? 0)} sampled` }) : null,
      h("span", { class: `report-fig${count ? " bad" : ""}`, text: `${formatInt(count)} issue${count === 1 ? "" : "s"}` }),
      isNum(r.duration_ms) ? h("span", { class: "report-fig muted", text: ms(r.duration_ms) }) : null),
    h("div", { class: "report-body" },
    h("div", { class: "checks" }, h("span", { class: "muted small", text: "Checks: " }),
      (r.checks_performed || []).map((c) => h("span", { class: "chip", text: c }))),
    issues.length
      ? h("table", { class: "table issues", dataset: { testid: "validation-issues" } },
          h("thead", {}, h("tr", {}, h("th", { text: "Type" }), h("th", { text: "Description" }), h("th", { text: "Data" }))),
          h("tbody", {}, issues.map((i) => h("tr", { class: "issue", dataset: { type: (i && i.type) || "", testid: "validation-issue" } },
            h("td", {}, h("code", { class: "issue-type", text: (i && i.type) || "?" })),
            h("td", { class: "issue-desc", text: (i && i.description) || "" }),
            h("td", {}, dataList(i && i.data))))))
      : h("p", { class: "muted small", text: "No issues found." }),
    count > issues.length ? h("p", { class: "muted small", text: `${formatInt(count - issues.length)} more issue(s) not listed.` }) : null),
  );
  return el;
}

export function renderValidation(reports) {
  const list = $("validation-list");
  if (!reports.length) {
    list.replaceChildren(h("p", { class: "empty", dataset: { testid: "validation-empty" },
                                  text: "No validation report in the last 7 days. Run a sweep to make one." }));
    return;
  }
  list.replaceChildren(...reports.map(renderReport));
}
