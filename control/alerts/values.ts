// SPDX-License-Identifier: Apache-2.0
/**
 * The current value of a metric for every node or every pod, read in a few
 * queries whatever the number of targets (evaluation runs every few seconds).
 *
 * Targets: every node that ever reported, every pod listed as current (a
 * vanished pod has no value: its alerts resolve as "no-data"). Values:
 * - rxBytesPerSec, txBytesPerSec: the latest rates (a node: the sum over its
 *   interfaces). A rate older than staleAfterMs (its agent stopped
 *   reporting) counts as 0: nothing arrives from a silent node, so a lower
 *   limit on traffic catches a host gone silent. Null (no value yet) while
 *   the only rates are missing (the first report of a boot has none).
 * - dropsPerSec, retransmitsPerSec, failedConnectionsPerSec: the stored
 *   statistics over the last RATE_WINDOW_MS, per second, as the agent of
 *   each node counted them (a pod: its own view, like `pod=` on /api/v1/tcp);
 *   0 when nothing was counted.
 * - heartbeatAgeSeconds: seconds since the control plane last accepted a
 *   batch from the node (its own clock); keeps growing while the node is silent.
 * - dnsNxdomainPerSec, dnsServfailPerSec: DNS answers with that rcode over the
 *   last RATE_WINDOW_MS, per second (dns_server_stats; a node: every row of
 *   it, its pods' and its "other" record; a pod: its own rows, every uid);
 *   0 when nothing was counted.
 * - dnsLatencyP95Ms: the 95th percentile of the answers' latency over the
 *   same window, from the summed histogram: the upper bound of the bucket
 *   holding it (latencyQuantileUs), in ms. No answers: null (no value, as
 *   timeouts are no answers). Past the last bound: that bound
 *   (DNS_LATENCY_P95_MAX_MS), and limits must be below it (model.ts), so an
 *   upper limit still fires.
 */
import type { Db } from "../db/client.ts";
import { sumCounters } from "../db/counter-sums.ts";
import type { RetentionSettings } from "../monitoring/rollup.ts";
import { DNS_LATENCY_COLUMNS, DNS_RESPONSE_COLUMNS } from "../monitoring/dns-counters.ts";
import { latencyQuantileUs } from "../monitoring/dns-latency.ts";
import { sumDnsBy } from "../queries/monitoring/dns.ts";
import { decodeEndpoints } from "../queries/monitoring/endpoints.ts";
import { type Args, type StatsKind, statsSql } from "../queries/monitoring/stats.ts";
import { queryWindow } from "../queries/monitoring/window.ts";
import { DNS_RCODES } from "../wire/dns.ts";
import { DNS_LATENCY_P95_MAX_MS, type MetricName, type TargetKind } from "./model.ts";

/** The statistics metrics average over this much time back from the evaluation. */
export const RATE_WINDOW_MS = 60_000;

export interface ValueSettings {
  /** A rate older than this is not current (EBPF_K8S_STALE_AFTER). */
  staleAfterMs: number;
  retention: RetentionSettings;
}

export interface TargetValue {
  /** Null: no value (yet); neither fires nor keeps an alert. */
  value: number | null;
  /** The node itself, or the node the pod runs on. */
  node: string;
}

/** Target ("node" or "namespace/name") → its value. */
export type Values = Map<string, TargetValue>;

/** The SQL expression summed per target, and the key column, of each statistics metric. */
const STATS: Partial<Record<MetricName, { kind: StatsKind; sum: string; podColumn: string }>> = {
  dropsPerSec: { kind: "drops", sum: `"packets"`, podColumn: `"pod"` },
  retransmitsPerSec: { kind: "tcp", sum: `"retransmits"`, podColumn: `"local"` },
  failedConnectionsPerSec: {
    kind: "tcp",
    sum: `"failedRefused" + "failedTimeout" + "failedOther"`,
    podColumn: `"local"`,
  },
};

const rcodeColumn = (rcode: (typeof DNS_RCODES)[number]) => DNS_RESPONSE_COLUMNS[DNS_RCODES.indexOf(rcode)]!;

/** The 95th percentile of a summed latency histogram in ms; null without answers. */
function p95Ms(buckets: readonly number[]): number | null {
  if (buckets.every((n) => n === 0)) return null;
  return (latencyQuantileUs(buckets, 0.95) ?? DNS_LATENCY_P95_MAX_MS * 1000) / 1000;
}

/** The dns_server_stats columns each DNS metric sums over the window, and its value from the sums. */
const DNS: Partial<
  Record<MetricName, { columns: readonly string[]; value: (sums: readonly number[], seconds: number) => number | null }>
> = {
  dnsNxdomainPerSec: { columns: [rcodeColumn("NXDOMAIN")], value: ([n], seconds) => n! / seconds },
  dnsServfailPerSec: { columns: [rcodeColumn("SERVFAIL")], value: ([n], seconds) => n! / seconds },
  dnsLatencyP95Ms: { columns: DNS_LATENCY_COLUMNS, value: p95Ms },
};

const RATE_COLUMN: Partial<Record<MetricName, string>> = {
  rxBytesPerSec: "rx_bytes_per_sec",
  txBytesPerSec: "tx_bytes_per_sec",
};

export async function readValues(
  db: Db,
  metric: MetricName,
  kind: TargetKind,
  now: number,
  settings: ValueSettings,
): Promise<Values> {
  const fresh = now - settings.staleAfterMs;
  const rate = RATE_COLUMN[metric];
  const stats = STATS[metric];
  const dns = DNS[metric];
  // What a target with no rows has: 0 counted (or, for latency, no value).
  const none = dns ? dns.value(dns.columns.map(() => 0), 1) : 0;
  const valueOf = (sums: Map<string, number | null>, target: string) => sums.has(target) ? sums.get(target)! : none;
  if (kind === "node") {
    const nodes = await rows(
      db,
      `SELECT n.name AS target, n.last_seen AS last_seen${
        rate ? `, sum(CASE WHEN i.updated_at > :fresh THEN i.${rate} END) AS rate` : ""
      } ` +
        `FROM nodes n${rate ? " LEFT JOIN interfaces i ON i.node = n.name" : ""} GROUP BY n.name`,
      { fresh },
    );
    const sums = stats
      ? await statsPerNode(db, stats, now, settings)
      : dns
      ? await dnsPerTarget(db, dns, "node", now, settings)
      : new Map<string, number>();
    return new Map(
      nodes.map((r) => {
        const node = String(r.target);
        const lastSeen = Number(r.last_seen);
        let value: number | null;
        if (metric === "heartbeatAgeSeconds") value = (now - lastSeen) / 1000;
        else if (rate) value = r.rate !== null ? Number(r.rate) : lastSeen > fresh ? null : 0;
        else value = valueOf(sums, node);
        return [node, { value, node }];
      }),
    );
  }
  if (metric === "heartbeatAgeSeconds") return new Map();
  // Current pods; of two listed under one name (recreated), the latest seen wins.
  const pods = await rows(
    db,
    `SELECT namespace || '/' || name AS target, node, updated_at${rate ? `, ${rate} AS rate` : ""} ` +
      `FROM pods WHERE vanished_at IS NULL ORDER BY last_seen, uid`,
  );
  const sums = stats
    ? await statsPerPod(db, stats, now, settings)
    : dns
    ? await dnsPerTarget(db, dns, "pod", now, settings)
    : new Map<string, number>();
  return new Map(
    pods.map((r) => {
      const target = String(r.target);
      let value: number | null;
      if (rate) value = Number(r.updated_at) <= fresh ? 0 : r.rate === null ? null : Number(r.rate);
      else value = valueOf(sums, target);
      return [target, { value, node: String(r.node) }];
    }),
  );
}

type Stat = NonNullable<(typeof STATS)[MetricName]>;

/** The window of the statistics metrics at `now` (raw rows unless retention is shorter). */
function rateWindow(now: number, settings: ValueSettings) {
  return queryWindow({ since: now - RATE_WINDOW_MS, until: now }, now, settings.retention);
}

/** Per reporting node: the metric's count over the window, per second. */
async function statsPerNode(db: Db, stat: Stat, now: number, settings: ValueSettings): Promise<Map<string, number>> {
  const w = rateWindow(now, settings);
  const inner = statsSql(stat.kind, w, { byNode: true });
  const found = await rows(
    db,
    `SELECT node AS target, ${sumCounters(stat.sum)} AS v FROM (${inner.sql}) GROUP BY node`,
    inner.args,
  );
  return new Map(found.map((r) => [String(r.target), Number(r.v) / w.seconds]));
}

/** Per pod ("namespace/name", every uid it had): the metric's count over the window, per second. */
async function statsPerPod(db: Db, stat: Stat, now: number, settings: ValueSettings): Promise<Map<string, number>> {
  const w = rateWindow(now, settings);
  const inner = statsSql(stat.kind, w);
  const sql = `SELECT ${stat.podColumn} AS key, ${
    sumCounters(stat.sum)
  } AS v FROM (${inner.sql}) WHERE ${stat.podColumn} LIKE 'pod:%' GROUP BY ${stat.podColumn}`;
  const found = await rows(db, sql, inner.args);
  return byPodName(db, new Map(found.map((r) => [String(r.key), Number(r.v) / w.seconds])), (a, b) => a + b);
}

/** Per node, or per pod ("namespace/name", every uid it had): a DNS metric's value over the window. */
async function dnsPerTarget(
  db: Db,
  dns: NonNullable<(typeof DNS)[MetricName]>,
  by: TargetKind,
  now: number,
  settings: ValueSettings,
): Promise<Map<string, number | null>> {
  const w = rateWindow(now, settings);
  let sums = await sumDnsBy(db, w, by, dns.columns);
  // A pod's uids summed before the value (a quantile of summed histograms, not a sum of quantiles).
  if (by === "pod") sums = await byPodName(db, sums, (a, b) => a.map((n, i) => n + b[i]!));
  return new Map([...sums].map(([target, s]) => [target, dns.value(s, w.seconds)]));
}

/** Values keyed by stored pod key ("pod:<uid>") per "namespace/name": the uids of one name merged with `add`. */
async function byPodName<T>(db: Db, keyed: Map<string, T>, add: (a: T, b: T) => T): Promise<Map<string, T>> {
  const names = await decodeEndpoints(db, [...keyed.keys()].filter((k) => k.startsWith("pod:")));
  const out = new Map<string, T>();
  for (const [key, v] of keyed) {
    const pod = names.get(key);
    if (pod?.kind !== "pod" || pod.name === "") continue;
    const target = `${pod.namespace}/${pod.name}`;
    const had = out.get(target);
    out.set(target, had === undefined ? v : add(had, v));
  }
  return out;
}

async function rows(db: Db, sql: string, args: Args = {}): Promise<Array<Record<string, unknown>>> {
  return (await db.$client.execute({ sql, args })).rows as unknown as Array<Record<string, unknown>>;
}
