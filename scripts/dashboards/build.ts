// SPDX-License-Identifier: Apache-2.0
/**
 * Writes what k8s/dashboards/ and k8s/alerts/ ship from their sources: the Grafana dashboards from cluster.ts,
 * node.ts and services.ts, and the PrometheusRule from the plain rule file (k8s/alerts/ebpf-k8s.rules.yaml, the
 * one source of the alerts: its groups, as written, under `spec:`).
 *
 *   npx tsx scripts/dashboards/build.ts           rewrite the files
 *   npx tsx scripts/dashboards/build.ts --check   exit 1 naming each file that differs from its source
 *
 * A unit test (files.test.ts) fails while a shipped file differs from what this writes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cluster } from "./cluster.ts";
import { dashboard, type DashboardSpec } from "./grafana.ts";
import { node } from "./node.ts";
import { services } from "./services.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DASHBOARDS: Record<string, DashboardSpec> = { cluster, node, services };
export const RULES_FILE = "k8s/alerts/ebpf-k8s.rules.yaml";
export const PROMETHEUS_RULE_FILE = "k8s/alerts/prometheusrule.yaml";

const PROMETHEUS_RULE_HEAD = [
  "# SPDX-License-Identifier: Apache-2.0",
  `# Generated from ${RULES_FILE} by scripts/dashboards/build.ts: edit that file, then run it.`,
  "# For the Prometheus Operator: its ruleSelector must match these labels (kube-prometheus-stack's default",
  "# selects release: <its Helm release>; add that label, or set ruleSelector to match part-of: ebpf-k8s).",
  "apiVersion: monitoring.coreos.com/v1",
  "kind: PrometheusRule",
  "metadata:",
  "  name: ebpf-k8s",
  "  namespace: ebpf-k8s",
  "  labels:",
  "    app.kubernetes.io/part-of: ebpf-k8s",
  "spec:",
];

/** The PrometheusRule of a plain rule file: its lines past the leading comments, indented under spec. */
export function prometheusRule(rules: string): string {
  const lines = rules.split("\n");
  const body = lines.slice(lines.findIndex((l) => !l.startsWith("#")));
  return [...PROMETHEUS_RULE_HEAD, ...body.map((l) => (l === "" ? l : `  ${l}`))].join("\n");
}

/** Every shipped file (path from the repository's root) and the text it should hold. */
export function expectedFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(DASHBOARDS)) {
    out[`k8s/dashboards/${name}.json`] = `${JSON.stringify(dashboard(spec), null, 2)}\n`;
  }
  out[PROMETHEUS_RULE_FILE] = prometheusRule(readFileSync(`${ROOT}${RULES_FILE}`, "utf8"));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [path, text] of Object.entries(expectedFiles())) {
    const now = (() => {
      try {
        return readFileSync(`${ROOT}${path}`, "utf8");
      } catch {
        return null;
      }
    })();
    if (now === text) continue;
    if (check) {
      console.error(`${path} differs from its source: run npx tsx scripts/dashboards/build.ts`);
      stale++;
    } else {
      writeFileSync(`${ROOT}${path}`, text);
      console.log(`wrote ${path}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
