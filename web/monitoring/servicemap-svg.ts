// SPDX-License-Identifier: Apache-2.0
/**
 * The service map as a server-rendered SVG string: no script, no layout
 * engine. Endpoints sit on a circle in a fixed order (pods, then services,
 * then the world, each by name), or, once services are on the map, in three
 * columns (clients → services → backends), so the same data always draws
 * the same picture. An edge is an arrow from client to server, its width growing
 * with the log of its bytes; edges with failed connections are red. DNS edges
 * (pod → DNS server) are dashed, bent the other way (a pod's DNS and its flows
 * to the same server do not overlap), width growing with the log of the
 * queries, red with errors or timeouts; a DNS server's node shows its queries
 * and error rate under its name. Every text is escaped.
 */
import { formatBytes, formatCount, formatPercent, MISSING } from "../format.ts";

/** What DNS edges brought to a node (control/monitoring/servicemap.ts DnsTotals). */
export interface SvgDnsTotals {
  queries: number;
  errors: number;
  errorRate: number | null;
  timeouts: number;
}

export interface SvgNode {
  id: string;
  label: string;
  /** "pod" | "service" | "world" | "other": sets the colour. */
  kind: string;
  dns?: SvgDnsTotals;
}

export interface SvgDnsEdge extends SvgDnsTotals {
  source: string;
  target: string;
}

export interface SvgEdge {
  source: string;
  target: string;
  bytes: number;
  connections: number;
  failures: number;
}

export const FAIL_COLOUR = "#c62828";
const EDGE_COLOUR = "#607d8b";
const DNS_COLOUR = "#00897b";
const KIND_COLOUR: Record<string, string> = { pod: "#1565c0", service: "#6a1b9a", world: "#757575", other: "#bdbdbd" };
const KIND_ORDER = ["pod", "service", "world", "other"];

const SIZE = 800;
const CENTRE = SIZE / 2;
const RADIUS = 300;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Stroke width: 1 + log10(1 + bytes), one decimal, at most 12 (1 KiB ≈ 4, 1 MiB ≈ 7, 1 GiB ≈ 10). */
export function edgeWidth(bytes: number): number {
  return Math.min(12, Math.round(10 * (1 + Math.log10(1 + Math.max(0, bytes)))) / 10);
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** Positions on the circle, first at the top, clockwise; one node alone sits in the centre. */
export function layout(nodes: readonly SvgNode[]): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  nodes.forEach((n, i) => {
    if (nodes.length === 1) return out.set(n.id, { x: CENTRE, y: CENTRE });
    const a = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
    out.set(n.id, { x: r1(CENTRE + RADIUS * Math.cos(a)), y: r1(CENTRE + RADIUS * Math.sin(a)) });
  });
  return out;
}

/**
 * With services on the map: three columns, clients on the left, services in
 * the middle, servers and backends on the right (a node that is both client
 * and server goes right), each column top to bottom in the fixed order.
 */
export function layeredLayout(
  nodes: readonly SvgNode[],
  edges: readonly { source: string; target: string }[],
): Map<string, { x: number; y: number }> {
  const servers = new Set(edges.map((e) => e.target));
  const column = (n: SvgNode) => (n.kind === "service" ? 1 : servers.has(n.id) ? 2 : 0);
  const columns: SvgNode[][] = [[], [], []];
  for (const n of nodes) columns[column(n)]!.push(n);
  const out = new Map<string, { x: number; y: number }>();
  columns.forEach((list, c) => {
    const x = CENTRE + (c - 1) * RADIUS * 0.85;
    list.forEach((n, i) => out.set(n.id, { x: r1(x), y: r1((SIZE * (i + 1)) / (list.length + 1)) }));
  });
  return out;
}

function orderNodes(nodes: readonly SvgNode[], edges: readonly { source: string; target: string }[]): SvgNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const e of edges) {
    for (const id of [e.source, e.target]) if (!byId.has(id)) byId.set(id, { id, label: id, kind: "other" });
  }
  const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
  return [...byId.values()].sort((a, b) =>
    rank(a.kind) - rank(b.kind) || (a.label < b.label ? -1 : a.label > b.label ? 1 : a.id < b.id ? -1 : 1)
  );
}

/** An error rate as a percentage ("9.8 %"), or a dash without answers. */
export const errorRateText = (rate: number | null) => (rate === null ? MISSING : formatPercent(rate, 1));

/** "102 queries, 10 errors (9.8 %), 2 timeouts". */
export function dnsText(d: SvgDnsTotals): string {
  return `${formatCount(d.queries)} queries, ${formatCount(d.errors)} errors (${errorRateText(d.errorRate)}), ${
    formatCount(d.timeouts)
  } timeouts`;
}

function edgeTitle(e: SvgEdge, label: (id: string) => string): string {
  const failed = e.failures > 0 ? `, ${formatCount(e.failures)} failed` : "";
  return `${label(e.source)} → ${label(e.target)}: ${formatBytes(e.bytes)}, ${
    formatCount(e.connections)
  } connections${failed}`;
}

type Point = { x: number; y: number };

/**
 * The shape of an edge from → to and where its label goes: a curve bent `bend` px to the right of the direction
 * (negative: to the left), stopping short of the node's circle; a loop above a node talking to itself.
 */
function edgeShape(from: Point, to: Point, bend: number, stroke: string, marker: string) {
  if (from.x === to.x && from.y === to.y) {
    // A pod talking to itself (e.g. through its own service): a loop above it.
    const shape = `<circle cx="${from.x}" cy="${r1(from.y - 18)}" r="14" fill="none" ${stroke}/>`;
    return { shape, mx: from.x, my: r1(from.y - 36) };
  }
  const dx = to.x - from.x, dy = to.y - from.y, len = Math.hypot(dx, dy);
  const ux = dx / len, uy = dy / len;
  const ex = r1(to.x - ux * 12), ey = r1(to.y - uy * 12);
  const cx = r1((from.x + to.x) / 2 - uy * bend), cy = r1((from.y + to.y) / 2 + ux * bend);
  const shape =
    `<path d="M${from.x},${from.y}Q${cx},${cy} ${ex},${ey}" fill="none" ${stroke} marker-end="url(#${marker})"/>`;
  return { shape, mx: r1((from.x + 2 * cx + ex) / 4), my: r1((from.y + 2 * cy + ey) / 4) };
}

/** An edge's group: its title, shape and label text. */
function edgeGroup(cls: string, colour: string, title: string, shape: string, at: Point, text: string): string {
  return `<g class="${cls}"><title>${escapeXml(title)}</title>${shape}<text x="${at.x}" y="${at.y}" font-size="11" ` +
    `text-anchor="middle" fill="${colour}">${escapeXml(text)}</text></g>`;
}

const bySourceTarget = (a: { source: string; target: string }, b: { source: string; target: string }) =>
  a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0;

export function serviceMapSvg(
  input: { nodes?: readonly SvgNode[]; edges: readonly SvgEdge[]; dns?: readonly SvgDnsEdge[] },
): string {
  const dns = input.dns ?? [];
  const ends = [...input.edges, ...dns];
  const nodes = orderNodes(input.nodes ?? [], ends);
  const head =
    `<svg xmlns="http://www.w3.org/2000/svg" class="servicemap" viewBox="0 0 ${SIZE} ${SIZE}" width="${SIZE}" height="${SIZE}" role="img" aria-label="service map">`;
  if (nodes.length === 0) {
    return `${head}<text x="${CENTRE}" y="${CENTRE}" text-anchor="middle">No traffic in this window.</text></svg>`;
  }
  const pos = nodes.some((n) => n.kind === "service") ? layeredLayout(nodes, ends) : layout(nodes);
  const labels = new Map(nodes.map((n) => [n.id, n.label]));
  const label = (id: string) => labels.get(id) ?? id;
  const defs = `<defs>` +
    [["arrow", EDGE_COLOUR], ["arrow-fail", FAIL_COLOUR], ["arrow-dns", DNS_COLOUR]]
      .map(([id, c]) =>
        `<marker id="${id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${c}"/></marker>`
      )
      .join("") +
    `</defs>`;
  const edges = [...input.edges].sort(bySourceTarget).map((e) => {
    const failed = e.failures > 0;
    const colour = failed ? FAIL_COLOUR : EDGE_COLOUR;
    const stroke = `stroke="${colour}" stroke-width="${edgeWidth(e.bytes)}"`;
    const { shape, mx, my } = edgeShape(
      pos.get(e.source)!,
      pos.get(e.target)!,
      30,
      stroke,
      failed ? "arrow-fail" : "arrow",
    );
    const text = `${formatBytes(e.bytes)}${failed ? ` · ${formatCount(e.failures)} failed` : ""}`;
    return edgeGroup(`edge${failed ? " edge-fail" : ""}`, colour, edgeTitle(e, label), shape, { x: mx, y: my }, text);
  });
  const dnsEdges = [...dns].sort(bySourceTarget).map((e) => {
    const failed = e.errors + e.timeouts > 0;
    const colour = failed ? FAIL_COLOUR : DNS_COLOUR;
    // Width from the log of the queries, as edgeWidth does with bytes.
    const stroke = `stroke="${colour}" stroke-width="${edgeWidth(e.queries)}" stroke-dasharray="6 4"`;
    const { shape, mx, my } = edgeShape(
      pos.get(e.source)!,
      pos.get(e.target)!,
      -30,
      stroke,
      failed ? "arrow-fail" : "arrow-dns",
    );
    const title = `${label(e.source)} → ${label(e.target)}: DNS ${dnsText(e)}`;
    const text = `DNS ${formatCount(e.queries)} q · ${errorRateText(e.errorRate)} err`;
    return edgeGroup(`edge edge-dns${failed ? " edge-fail" : ""}`, colour, title, shape, { x: mx, y: my }, text);
  });
  const circles = nodes.map((n) => {
    const p = pos.get(n.id)!;
    const colour = KIND_COLOUR[n.kind] ?? KIND_COLOUR.other;
    // Labels outside the circle: left half anchored at the end, right half at the start.
    const anchor = p.x < CENTRE - 1 ? "end" : p.x > CENTRE + 1 ? "start" : "middle";
    const lx = anchor === "end" ? r1(p.x - 14) : anchor === "start" ? r1(p.x + 14) : p.x;
    const ly = anchor === "middle" ? r1(p.y + (p.y <= CENTRE ? -14 : 24)) : r1(p.y + 4);
    const title = n.dns === undefined ? n.label : `${n.label}: DNS ${dnsText(n.dns)}`;
    // The DNS line under the name; above it when the name sits above the node (centre column, top half).
    const dy = anchor === "middle" && p.y <= CENTRE ? -13 : 14;
    const dnsLine = n.dns === undefined
      ? ""
      : `<text x="${lx}" y="${r1(ly + dy)}" font-size="11" text-anchor="${anchor}" fill="${DNS_COLOUR}">${
        escapeXml(`DNS ${formatCount(n.dns.queries)} q · ${errorRateText(n.dns.errorRate)} err`)
      }</text>`;
    return `<g class="node node-${escapeXml(n.kind)}${n.dns === undefined ? "" : " node-dns"}"><title>${
      escapeXml(title)
    }</title><circle cx="${p.x}" cy="${p.y}" r="10" fill="${colour}"/><text x="${lx}" y="${ly}" font-size="12" text-anchor="${anchor}">${
      escapeXml(n.label)
    }</text>${dnsLine}</g>`;
  });
  return `${head}${defs}${edges.join("")}${dnsEdges.join("")}${circles.join("")}</svg>`;
}
