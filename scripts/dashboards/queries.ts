// SPDX-License-Identifier: Apache-2.0
/**
 * The PromQL the shipped dashboards and rules hold, as a test runs it against a real Prometheus
 * (scripts/deploy/prometheus.test.ts): the dashboards' variables and panel queries with Grafana's placeholders
 * filled in, and each alert's value (its expression without the final comparison with its threshold), which must
 * return data while nothing is wrong, so that an alert that never fires is one whose condition is false, not one
 * whose series are missing.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { DASHBOARDS, ROOT, RULES_FILE } from "./build.ts";

export interface DashboardQueries {
  name: string;
  /** In order: a variable's query may use the ones before it. */
  variables: { name: string; selector: string; label: string }[];
  exprs: string[];
}

interface JsonDashboard {
  templating: { list: { name: string; type: string; definition?: string }[] };
  panels: { targets?: { expr: string }[] }[];
}

/** label_values(SELECTOR, LABEL), the form of every query variable here. */
export function labelValues(definition: string): { selector: string; label: string } {
  const m = /^label_values\((.+),\s*([a-zA-Z_]+)\)$/.exec(definition);
  if (!m) throw new Error(`not label_values(selector, label): ${definition}`);
  return { selector: m[1]!, label: m[2]! };
}

/** The queries of each shipped dashboard file (read from the JSON as Grafana will). */
export function dashboardQueries(): DashboardQueries[] {
  return Object.keys(DASHBOARDS).map((name) => {
    const d = JSON.parse(readFileSync(`${ROOT}k8s/dashboards/${name}.json`, "utf8")) as JsonDashboard;
    return {
      name,
      variables: d.templating.list.filter((v) => v.type === "query").map((v) => ({
        name: v.name,
        ...labelValues(v.definition ?? ""),
      })),
      exprs: d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    };
  });
}

/**
 * Grafana's placeholders filled in: each variable with its values as a regex alternation (what a multi-value
 * selection of them all makes) and $__rate_interval with the given range.
 */
export function fillIn(expr: string, values: Record<string, string[]>, rateInterval: string): string {
  let out = expr.replaceAll("$__rate_interval", rateInterval);
  for (const [name, vs] of Object.entries(values)) out = out.replaceAll(`$${name}`, vs.join("|"));
  const left = /\$[a-zA-Z_]+/.exec(out);
  if (left) throw new Error(`${expr}: ${left[0]} has no value`);
  return out;
}

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  /** The expression without its final comparison with a number: the value the alert judges. */
  value: string;
}

/** Every alert of the plain rule file. */
export function alertRules(): AlertRule[] {
  const file = parse(readFileSync(`${ROOT}${RULES_FILE}`, "utf8")) as {
    groups: { name: string; rules: { alert?: string; expr: string }[] }[];
  };
  return file.groups.flatMap((g) =>
    g.rules.filter((r) => r.alert).map((r) => {
      const m = /^(.+?)\s*(?:==|!=|>=|<=|>|<)\s*[0-9.]+$/s.exec(r.expr.trim());
      if (!m) throw new Error(`${r.alert}: the expression does not end with a comparison with a number`);
      return { group: g.name, alert: r.alert!, expr: r.expr.trim(), value: m[1]! };
    })
  );
}
