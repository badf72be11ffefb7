// SPDX-License-Identifier: Apache-2.0
/**
 * The shipped dashboards and alert rules are what their sources make (scripts/dashboards/build.ts), the
 * PrometheusRule holds exactly the plain rule file's groups, and each dashboard is one Grafana imports as is: a
 * unique uid, the ${datasource} variable behind every panel and variable, unique panel ids, panels that do not
 * overlap. Their PromQL is run against a real Prometheus in scripts/deploy/prometheus.test.ts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { expectedFiles, PROMETHEUS_RULE_FILE, prometheusRule, ROOT, RULES_FILE } from "./build.ts";
import { SCHEMA_VERSION } from "./grafana.ts";

const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}
interface Panel {
  id: number;
  type: string;
  gridPos: GridPos;
  datasource?: { uid: string };
  targets?: { expr: string; datasource: { uid: string } }[];
}

describe("k8s/dashboards and k8s/alerts", () => {
  it("each shipped file is what its source makes (npx tsx scripts/dashboards/build.ts)", () => {
    for (const [path, text] of Object.entries(expectedFiles())) expect(read(path), path).toBe(text);
  });

  it("the PrometheusRule holds the plain rule file's groups, the same", () => {
    const rules = parse(read(RULES_FILE)) as { groups: unknown[] };
    const crd = parse(read(PROMETHEUS_RULE_FILE)) as { kind: string; apiVersion: string; spec: { groups: unknown[] } };
    expect([crd.apiVersion, crd.kind]).toEqual(["monitoring.coreos.com/v1", "PrometheusRule"]);
    expect(rules.groups.length).toBeGreaterThan(0);
    expect(crd.spec.groups).toEqual(rules.groups);
    // and the equality is not vacuous: a changed rule makes another PrometheusRule
    const changed = read(RULES_FILE).replace("> 100", "> 101");
    expect((parse(prometheusRule(changed)) as typeof crd).spec.groups).not.toEqual(rules.groups);
  });

  it("each dashboard imports as is: unique uid, ${datasource} everywhere, unique ids, no overlapping panels", () => {
    const uids = new Set<string>();
    for (const path of Object.keys(expectedFiles()).filter((p) => p.endsWith(".json"))) {
      const d = JSON.parse(read(path)) as {
        uid: string;
        schemaVersion: number;
        panels: Panel[];
        templating: { list: { name: string; type: string; datasource?: { uid: string } }[] };
      };
      expect(uids.has(d.uid), path).toBe(false);
      uids.add(d.uid);
      expect(d.schemaVersion).toBe(SCHEMA_VERSION);
      expect(d.templating.list[0]).toMatchObject({ name: "datasource", type: "datasource" });
      for (const v of d.templating.list.slice(1)) expect(v.datasource?.uid, `${path} $${v.name}`).toBe("${datasource}");
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, path).toBe(ids.length);
      const queried = d.panels.filter((p) => p.type !== "row");
      expect(queried.length, path).toBeGreaterThan(0);
      for (const p of queried) {
        expect(p.datasource?.uid, `${path} panel ${p.id}`).toBe("${datasource}");
        expect(p.targets?.length, `${path} panel ${p.id}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.datasource.uid).toBe("${datasource}");
          expect(t.expr).toMatch(/ebpf_k8s_/);
        }
      }
      // Grafana stacks overlapping panels in an unreadable way: every cell of the grid is one panel's.
      const cells = new Map<string, number>();
      for (const p of d.panels) {
        const g = p.gridPos;
        expect(g.x + g.w, `${path} panel ${p.id}`).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.get(`${x},${y}`), `${path} panels ${cells.get(`${x},${y}`)} and ${p.id}`).toBeUndefined();
            cells.set(`${x},${y}`, p.id);
          }
        }
      }
    }
  });
});
