// SPDX-License-Identifier: Apache-2.0
/**
 * A small builder of Grafana dashboard JSON (the dashboard JSON model, schemaVersion 39): the dashboards of
 * k8s/dashboards/ are written in TypeScript (cluster.ts, node.ts, services.ts) so that every panel is a line and
 * the PromQL is in one place the Prometheus test (scripts/deploy/prometheus.test.ts) reads back from the JSON.
 * Every panel and variable queries the data source chosen in the ${datasource} variable, so an import asks nothing.
 */

export const SCHEMA_VERSION = 39;
const DS = { type: "prometheus", uid: "${datasource}" } as const;

/** A PromQL query of a panel, with the legend Grafana draws for each series. */
export interface Query {
  expr: string;
  legend: string;
}

export type PanelKind = "timeseries" | "stat";

export interface PanelSpec {
  title: string;
  kind?: PanelKind;
  unit: string;
  queries: Query[];
  description?: string;
  /** Width in grid columns (24 a row), 12 unless said. */
  w?: number;
}

export interface VariableSpec {
  name: string;
  label: string;
  /** label_values(metric, label) */
  query: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: VariableSpec[];
  rows: { title: string; panels: PanelSpec[] }[];
}

export const q = (expr: string, legend = ""): Query => ({ expr, legend });

/** A time series panel: a line per series of each query. */
export const chart = (title: string, unit: string, queries: Query[], more: Partial<PanelSpec> = {}): PanelSpec => ({
  title,
  unit,
  queries,
  ...more,
});

/** A stat panel: the latest value of each series, a quarter of a row unless said. */
export const stat = (title: string, unit: string, queries: Query[], more: Partial<PanelSpec> = {}): PanelSpec =>
  chart(title, unit, queries, { kind: "stat", w: 6, ...more });

const PANEL_HEIGHT = { timeseries: 8, stat: 4 } as const;

/** The dashboard JSON model of a spec: rows laid out top to bottom, their panels left to right. */
export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1, y = 0;
  for (const row of spec.rows) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y++;
    let x = 0, rowHeight = 0;
    for (const p of row.panels) {
      const kind = p.kind ?? "timeseries";
      const w = p.w ?? 12, h = PANEL_HEIGHT[kind];
      if (x + w > 24) [x, y, rowHeight] = [0, y + rowHeight, 0];
      panels.push(panel(id++, p, kind, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ["ebpf-k8s"],
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: "now-1h", to: "now" },
    refresh: "30s",
    timezone: "",
    annotations: { list: [] },
    links: [{ title: "ebpf-k8s", type: "dashboards", tags: ["ebpf-k8s"], asDropdown: true }],
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
          refresh: 1,
        },
        ...spec.variables.map((v) => ({
          name: v.name,
          label: v.label,
          type: "query",
          datasource: DS,
          definition: v.query,
          query: { query: v.query, refId: v.name },
          refresh: 2,
          includeAll: true,
          allValue: ".*",
          multi: true,
          sort: 1,
          current: {},
          hide: 0,
        })),
      ],
    },
    panels,
  };
}

function panel(id: number, p: PanelSpec, kind: PanelKind, gridPos: Record<string, number>): Record<string, unknown> {
  return {
    id,
    type: kind,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DS,
    gridPos,
    targets: p.queries.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: t.expr,
      legendFormat: t.legend,
      range: true,
    })),
    fieldConfig: { defaults: { unit: p.unit, ...(kind === "timeseries" ? { min: 0 } : {}) }, overrides: [] },
    options: kind === "stat"
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area" }
      : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi" } },
  };
}
