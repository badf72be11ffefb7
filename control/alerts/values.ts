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
 */
import type { Db } from "../db/client.ts";
import { sumCounters } from "../db/counter-sums.ts";
import type { RetentionSettings } from "../monitoring/rollup.ts";
import { decodeEndpoints } from "../queries/monitoring/endpoints.ts";
import { type Args, type StatsKind, statsSql } from "../queries/monitoring/stats.ts";
import { queryWindow } from "../queries/monitoring/window.ts";
import type { MetricName, TargetKind } from "./model.ts";

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
  if (kind === "node") {
    const nodes = await rows(
      db,
      `SELECT n.name AS target, n.last_seen AS last_seen${
        rate ? `, sum(CASE WHEN i.updated_at > :fresh THEN i.${rate} END) AS rate` : ""
      } ` +
        `FROM nodes n${rate ? " LEFT JOIN interfaces i ON i.node = n.name" : ""} GROUP BY n.name`,
      { fresh },
    );
    const sums = stats ? await statsPerNode(db, stats, now, settings) : new Map<string, number>();
    return new Map(
      nodes.map((r) => {
        const node = String(r.target);
        const lastSeen = Number(r.last_seen);
        let value: number | null;
        if (metric === "heartbeatAgeSeconds") value = (now - lastSeen) / 1000;
        else if (rate) value = r.rate !== null ? Number(r.rate) : lastSeen > fresh ? null : 0;
        else value = sums.get(node) ?? 0;
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
  const sums = stats ? await statsPerPod(db, stats, now, settings) : new Map<string, number>();
  return new Map(
    pods.map((r) => {
      const target = String(r.target);
      let value: number | null;
      if (rate) value = Number(r.updated_at) <= fresh ? 0 : r.rate === null ? null : Number(r.rate);
      else value = sums.get(target) ?? 0;
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
  const names = await decodeEndpoints(db, found.map((r) => String(r.key)));
  const out = new Map<string, number>();
  for (const r of found) {
    const pod = names.get(String(r.key));
    if (pod?.kind !== "pod" || pod.name === "") continue;
    const target = `${pod.namespace}/${pod.name}`;
    out.set(target, (out.get(target) ?? 0) + Number(r.v) / w.seconds);
  }
  return out;
}

async function rows(db: Db, sql: string, args: Args = {}): Promise<Array<Record<string, unknown>>> {
  return (await db.$client.execute({ sql, args })).rows as unknown as Array<Record<string, unknown>>;
}
