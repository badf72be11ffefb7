// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane's tables (drizzle, SQLite/libSQL dialect).
 *
 * Times are integers in ms since the epoch. Two clocks appear and are kept
 * apart on purpose: `ts` is the agent's clock (when it read the counters; rates
 * are computed from it so network jitter does not distort them), while
 * `lastSeen`/`updatedAt` are the control plane's clock (so "last seen 5 s ago"
 * stays right even when an agent's clock is off).
 *
 * After editing this file run `npm run db:generate` and keep the generated
 * migration under control/db/migrations/.
 */
import { getTableColumns, sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, sqliteView, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { MetricName, ScopeKind } from "../alerts/model.ts";
import type { Inventory, ModuleName } from "../wire/batch.ts";
import type { Affinity, BackendState, LbProtocol, ServiceType } from "../wire/services.ts";
import type { AccelRule } from "../wire/accel.ts";
import { DNS_SERVER_COUNTERS, type DnsServerCounter } from "../monitoring/dns-counters.ts";

/** One row per node: the boot currently reporting and its progress. */
export const nodes = sqliteTable("nodes", {
  name: text("name").primaryKey(),
  /** The boot whose counters `interfaces` holds. */
  bootId: text("boot_id").notNull(),
  /** Highest seq stored for the current boot. */
  lastSeq: integer("last_seq").notNull(),
  /** Agent clock of the newest batch of the current boot; orders boots. */
  lastTs: integer("last_ts").notNull(),
  firstSeen: integer("first_seen").notNull(),
  lastSeen: integer("last_seen").notNull(),
});

/**
 * Every boot a node ever reported, so idempotency holds per (node, bootId) even
 * for a late batch from a boot that has since been replaced (the agent spools
 * and resends what was not acknowledged).
 */
export const boots = sqliteTable(
  "boots",
  {
    node: text("node")
      .notNull()
      .references(() => nodes.name, { onDelete: "cascade" }),
    bootId: text("boot_id").notNull(),
    lastSeq: integer("last_seq").notNull(),
    firstSeen: integer("first_seen").notNull(),
    lastSeen: integer("last_seen").notNull(),
  },
  (t) => [primaryKey({ columns: [t.node, t.bootId] })],
);

/** Fresh builders each call: a drizzle column builder must not be shared by two tables. */
function counterColumns() {
  return {
    rxPackets: integer("rx_packets").notNull(),
    rxBytes: integer("rx_bytes").notNull(),
    txPackets: integer("tx_packets").notNull(),
    txBytes: integer("tx_bytes").notNull(),
    drops: integer("drops").notNull(),
  };
}

/** Per second; null when there is no earlier sample of the same boot to compare with. */
function rateColumns() {
  return {
    rxPacketsPerSec: real("rx_packets_per_sec"),
    rxBytesPerSec: real("rx_bytes_per_sec"),
    txPacketsPerSec: real("tx_packets_per_sec"),
    txBytesPerSec: real("tx_bytes_per_sec"),
  };
}

/** Current totals per interface, all from the node's current boot. */
export const interfaces = sqliteTable(
  "interfaces",
  {
    node: text("node")
      .notNull()
      .references(() => nodes.name, { onDelete: "cascade" }),
    ifname: text("ifname").notNull(),
    ifindex: integer("ifindex").notNull(),
    ...counterColumns(),
    ...rateColumns(),
    /** Agent clock of the sample these counters come from. */
    ts: integer("ts").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.node, t.ifname] })],
);

/**
 * Where each interface sits in a row of `interface_history.interfaces`: a
 * positional array, in this order (names as in the `interfaces` table).
 */
export const INTERFACE_ROW_KEYS = [
  "ifname",
  "ifindex",
  "rxPackets",
  "rxBytes",
  "txPackets",
  "txBytes",
  "drops",
  "rxPacketsPerSec",
  "rxBytesPerSec",
  "txPacketsPerSec",
  "txBytesPerSec",
] as const satisfies ReadonlyArray<keyof typeof interfaces.$inferSelect>;
export type InterfaceRowKey = (typeof INTERFACE_ROW_KEYS)[number];

/**
 * What ingest adds to each interface in a row of `interface_history`, after
 * INTERFACE_ROW_KEYS: the counters' growth since the previous sample of the
 * same boot and ifindex (control/ingest/rates.ts, deltasBetween; never
 * negative: a counter that restarted counts from zero), and the ms that
 * growth covers. Rollups sum these, so buckets add up exactly.
 */
export const INTERFACE_DELTA_KEYS = [
  "rxPacketsDelta",
  "rxBytesDelta",
  "txPacketsDelta",
  "txBytesDelta",
  "dropsDelta",
  "intervalMs",
] as const;
export type InterfaceDeltaKey = (typeof INTERFACE_DELTA_KEYS)[number];
/** The layout of an interface in `interface_history.interfaces`. */
export const INTERFACE_HISTORY_KEYS = [...INTERFACE_ROW_KEYS, ...INTERFACE_DELTA_KEYS] as const;

/** Deltas of a batch summed over its interfaces; 0 in rows stored before they were kept. */
function deltaColumns() {
  return {
    rxPackets: integer("rx_packets").notNull().default(0),
    rxBytes: integer("rx_bytes").notNull().default(0),
    txPackets: integer("tx_packets").notNull().default(0),
    txBytes: integer("tx_bytes").notNull().default(0),
    drops: integer("drops").notNull().default(0),
    /** The longest time an interface's deltas cover (interfaces seen for the first time cover less). */
    intervalMs: integer("interval_ms").notNull().default(0),
  };
}

/**
 * Every accepted batch's interfaces: the raw level of the interface
 * charts. One row per batch, its interfaces as a JSON array of
 * INTERFACE_HISTORY_KEYS arrays, rather than one row per interface:
 * measured at 1,000 nodes × 200 interfaces every 10 s, writing a row (and
 * an index entry) per interface was ~30% of the whole cost of ingest.
 * Readers use the `interface_samples` view, which unpacks the rows again.
 * The node's total (the deltas summed over its interfaces) is kept in
 * columns too, so node-wide charts and sparklines need no JSON. `rolled`
 * works as monitoring_raw_marks (kept in the row itself here: a row of a few
 * interfaces is cheap to rewrite): the periodic rollup into `interface_stats`
 * marks each level it added the row into; retention removes only rows in both.
 */
export const interfaceHistory = sqliteTable(
  "interface_history",
  {
    id: integer("id").primaryKey(),
    node: text("node").notNull(),
    /** Counters restart at zero when this changes; deltas are never taken across it. */
    bootId: text("boot_id").notNull(),
    /** Agent clock of the batch. */
    ts: integer("ts").notNull(),
    interfaces: text("interfaces").notNull(),
    ...deltaColumns(),
    rolled: integer("rolled").notNull().default(0),
  },
  (t) => [index("interface_history_node_ts").on(t.node, t.ts), index("interface_history_rolled_ts").on(t.rolled, t.ts)],
);

const historyColumn = (key: (typeof INTERFACE_HISTORY_KEYS)[number]) =>
  key in getTableColumns(interfaces)
    ? getTableColumns(interfaces)[key as InterfaceRowKey].name
    : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One row per interface per accepted batch: interface_history unpacked (filter by node and ts first). */
export const interfaceSamples = sqliteView("interface_samples", {
  historyId: integer("history_id").notNull(),
  node: text("node").notNull(),
  bootId: text("boot_id").notNull(),
  ts: integer("ts").notNull(),
  ifname: text("ifname").notNull(),
  ifindex: integer("ifindex").notNull(),
  ...counterColumns(),
  ...rateColumns(),
  rxPacketsDelta: integer("rx_packets_delta"),
  rxBytesDelta: integer("rx_bytes_delta"),
  txPacketsDelta: integer("tx_packets_delta"),
  txBytesDelta: integer("tx_bytes_delta"),
  dropsDelta: integer("drops_delta"),
  intervalMs: integer("interval_ms"),
}).as(
  sql.raw(
    `SELECT h.id AS history_id, h.node AS node, h.boot_id AS boot_id, h.ts AS ts, ` +
      INTERFACE_HISTORY_KEYS.map((key, i) => `j.value ->> ${i} AS ${historyColumn(key)}`).join(", ") +
      ` FROM interface_history AS h, json_each(h.interfaces) AS j`,
  ),
);

/**
 * The latest inventory of each node (what it is and runs), replaced by every
 * batch that carries one. agentVersion and kernel are copied out of the JSON so
 * the node list needs no JSON parsing.
 */
export const nodeInventories = sqliteTable("node_inventories", {
  node: text("node")
    .primaryKey()
    .references(() => nodes.name, { onDelete: "cascade" }),
  agentVersion: text("agent_version").notNull(),
  kernel: text("kernel").notNull(),
  inventory: text("inventory", { mode: "json" }).$type<Inventory>().notNull(),
  /** Agent clock of the batch it came with. */
  ts: integer("ts").notNull(),
  receivedAt: integer("received_at").notNull(),
});

/** Control-plane settings that must survive restarts and be shared by replicas (e.g. the admin token's hash). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Join tokens: made by an admin, used by agents to obtain a node credential.
 * Multi-use until they expire or are revoked (one token for a whole DaemonSet).
 * Only the SHA-256 of the secret is kept.
 */
export const joinTokens = sqliteTable("join_tokens", {
  id: text("id").primaryKey(),
  tokenHash: text("token_hash").notNull().unique(),
  description: text("description"),
  createdAt: integer("created_at").notNull(),
  /** Null: never expires (made with `expires: "never"` for a DaemonSet; revoked or rotated instead, docs/nodes.md). */
  expiresAt: integer("expires_at"),
  revokedAt: integer("revoked_at"),
  uses: integer("uses").notNull().default(0),
  lastUsedAt: integer("last_used_at"),
});

/**
 * Node credentials, one issued per join. No foreign key to `nodes`: a node
 * joins before its first batch. Only the SHA-256 of the secret is kept.
 * A join for a node whose credential is live is refused unless that node is
 * Lost or an admin approved the re-join (control/registry/node-credentials.ts).
 */
export const nodeCredentials = sqliteTable(
  "node_credentials",
  {
    id: text("id").primaryKey(),
    node: text("node").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    /** The join token it was issued against (kept when that token is later revoked). */
    joinTokenId: text("join_token_id").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /**
     * Until when an admin lets the next join of this node replace this live
     * credential (POST /api/v1/nodes/:node/rejoin); null when not approved.
     * That join revokes the credential, which ends the approval with it.
     */
    rejoinApprovedUntil: integer("rejoin_approved_until"),
  },
  (t) => [index("node_credentials_node").on(t.node)],
);

/**
 * What each node should run. A node without a row runs DEFAULT_MODULES at
 * version 0. No foreign key to `nodes`: an admin may switch modules of a node
 * before it ever joins (pre-provisioning).
 */
export const desiredStates = sqliteTable("desired_states", {
  node: text("node").primaryKey(),
  version: integer("version").notNull(),
  /** Only the modules switched so far (overrides); the rest follow module_defaults. */
  modules: text("modules", { mode: "json" }).$type<Partial<Record<ModuleName, boolean>>>().notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Cluster-wide module defaults, one row (id 1): what a node runs for each module it has no override for
 * in desired_states (control/registry/desired-state.ts). Without a row, DEFAULT_MODULES at version 0.
 * `version` is the desired-state version every node inherits at least (raised above every node's by a change).
 */
export const moduleDefaults = sqliteTable("module_defaults", {
  id: integer("id").primaryKey(),
  version: integer("version").notNull(),
  /** Only the modules set so far; the rest follow DEFAULT_MODULES. */
  modules: text("modules", { mode: "json" }).$type<Partial<Record<ModuleName, boolean>>>().notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Bytes per second both ways at the pod's latest report (an unknown rate counts as none). */
export const POD_BYTE_RATE = "coalesce(rx_bytes_per_sec, 0) + coalesce(tx_bytes_per_sec, 0)";
const WHOLE_RATE = `CAST(CAST(${POD_BYTE_RATE} AS INTEGER) AS TEXT)`;
/**
 * POD_BYTE_RATE's class: its count of decimal digits, then its leading
 * digit (1–2 MB/s is 71, 2–3 MB/s 72, …, 10–20 MB/s 81), so never lower for
 * a higher rate. What the pods_rate_class index holds: indexing the rate
 * itself moved each pod's entry to a new place in the index with every
 * batch, and the ingest's pods upsert cost 1.5 to 2 times as much (5,000
 * nodes × 20 pods, rates varying ±20 % between reports); a class changes
 * less, its entries stay in the order the pods were inserted, and the
 * upsert costs 1.2 times as much.
 */
export const POD_RATE_CLASS = `length(${WHOLE_RATE}) * 10 + CAST(substr(${WHOLE_RATE}, 1, 1) AS INTEGER)`;
/** The pods pods_rate_class holds: current, with traffic now. */
export const POD_TALKING = `vanished_at IS NULL AND ${POD_BYTE_RATE} > 0`;

/**
 * Pods as their nodes report them: the current ones and, for the grace
 * period (EBPF_K8S_POD_GRACE), the vanished ones. Counters are cumulative
 * for the agent boot `bootId`; RX is what the pod received. Presence follows
 * control/monitoring/pod-series.ts: `firstSeen`, `lastSeen` and `vanishedTs`
 * are agent times (they order out-of-order batches), `vanishedAt` is the
 * control plane's clock (the grace period runs on it).
 */
export const pods = sqliteTable(
  "pods",
  {
    uid: text("uid").primaryKey(),
    node: text("node").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    owner: text("owner", { mode: "json" }).$type<{ kind: string; name: string }>(),
    ips: text("ips", { mode: "json" }).$type<string[]>().notNull(),
    hostVeth: text("host_veth"),
    ifindex: integer("ifindex"),
    netnsIno: integer("netns_ino"),
    cgroup: text("cgroup"),
    hostNetwork: integer("host_network", { mode: "boolean" }).notNull(),
    bootId: text("boot_id").notNull(),
    ...counterColumns(),
    ...rateColumns(),
    /** Agent clock of the report these counters come from. */
    ts: integer("ts").notNull(),
    firstSeen: integer("first_seen").notNull(),
    lastSeen: integer("last_seen").notNull(),
    vanishedTs: integer("vanished_ts"),
    vanishedAt: integer("vanished_at"),
    updatedAt: integer("updated_at").notNull(),
    /**
     * Hash of the row's metadata (namespace … bootId) as last written: a report with the same hash changes only
     * counters and presence, and is stored with a narrow update (control/monitoring-store/pods.ts).
     */
    metaHash: text("meta_hash"),
  },
  // vanished_at in pods_node: the overview counts each node's current pods from the index alone.
  (t) => [
    index("pods_node").on(t.node, t.vanishedAt),
    index("pods_namespace_name").on(t.namespace, t.name),
    // The overview's top talkers (topPodsByRate) read the pods of the highest classes rather than every pod
    // (100,000 at 5,000 nodes: 110 ms); the same expressions as the query's, so SQLite matches them.
    index("pods_rate_class").on(sql.raw(POD_RATE_CLASS)).where(sql.raw(POD_TALKING)),
  ],
);

/**
 * Every accepted batch's flow, TCP and drop rows, after de-duplication,
 * attribution and caps (control/monitoring/), as JSON arrays in the layout
 * of control/monitoring-store/layouts.ts: the "raw" level. One row per
 * batch for the reason given at interface_history. Readers use the
 * `monitoring_raw` view, which adds each row's rolled marks.
 *
 * (The table was `monitoring_raw`, with the marks in its `rolled` column,
 * until migration 0009. That column is still in the table, no longer
 * written nor read: dropping it would rewrite every row.)
 */
export const monitoringRawRows = sqliteTable(
  "monitoring_raw_rows",
  { id: integer("id").primaryKey(), ...rawColumns() },
  (t) => [index("monitoring_raw_ts").on(t.ts), index("monitoring_raw_node_ts").on(t.node, t.ts)],
);

/** A raw row's columns but its id (fresh builders each call, see counterColumns). */
function rawColumns() {
  return {
    node: text("node").notNull(),
    bootId: text("boot_id").notNull(),
    /** Agent clock of the batch: the end of the interval its deltas cover. */
    ts: integer("ts").notNull(),
    flows: text("flows").notNull(),
    tcp: text("tcp").notNull(),
    drops: text("drops").notNull(),
  };
}

/**
 * The rolled marks of monitoring_raw_rows, one row each (same id): a bit
 * set (ROLLED_BIT in control/monitoring-store/layouts.ts) of the levels the
 * periodic rollup (control/monitoring-store/rollup.ts, run by
 * maintenance.ts) has added the row into; retention removes only rows in
 * both. Kept apart from the rows because a raw row is ~20 KB at 200 flows,
 * and SQLite reads a whole row to change one column of it, and rewrites it
 * all when the value grows (the 1 h mark, 1 → 3): 120 MB per minute of data
 * at 1,000 nodes. Triggers made by migration 0009 (not expressible here)
 * keep the two tables in step: a row's mark is made (0) when the row is
 * inserted, and deleted with it.
 */
export const monitoringRawMarks = sqliteTable(
  "monitoring_raw_marks",
  {
    id: integer("id").primaryKey(),
    rolled: integer("rolled").notNull().default(0),
  },
  (t) => [index("monitoring_raw_marks_rolled").on(t.rolled, t.id)],
);

/** monitoring_raw_rows with their marks: the raw level as queries read it. */
export const monitoringRaw = sqliteView("monitoring_raw", {
  id: integer("id").notNull(),
  ...rawColumns(),
  rolled: integer("rolled").notNull(),
}).as(
  sql.raw(
    "SELECT r.id AS id, r.node AS node, r.boot_id AS boot_id, r.ts AS ts, r.flows AS flows, r.tcp AS tcp, r.drops AS drops, m.rolled AS rolled " +
      "FROM monitoring_raw_rows AS r JOIN monitoring_raw_marks AS m ON m.id = r.id",
  ),
);

/** Rollup levels stored as rows; "raw" lives in monitoring_raw_rows. */
type RollupLevel = "1m" | "1h";

/** Fresh builders each call (see counterColumns). Endpoints are endpointKey strings; names in `endpoints`. */
function bucketColumns() {
  return {
    level: text("level").$type<RollupLevel>().notNull(),
    /** Start of the bucket, ms (control/monitoring/rollup.ts). */
    bucket: integer("bucket").notNull(),
    /** The node whose agent counted it. */
    node: text("node").notNull(),
  };
}

export const flowStats = sqliteTable(
  "flow_stats",
  {
    ...bucketColumns(),
    client: text("client").notNull(),
    server: text("server").notNull(),
    port: integer("port").notNull(),
    proto: integer("proto").notNull(),
    fwdPackets: integer("fwd_packets").notNull(),
    fwdBytes: integer("fwd_bytes").notNull(),
    revPackets: integer("rev_packets").notNull(),
    revBytes: integer("rev_bytes").notNull(),
    tcpFlags: integer("tcp_flags").notNull(),
    /**
     * endpointKey of the service the client addressed (its VIP, or one of its backends), "" for none: not in
     * the key (it follows from server, port and protocol), the latest batch's for the bucket.
     */
    service: text("service").notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.level, t.bucket, t.node, t.client, t.server, t.port, t.proto] })],
);

export const tcpStats = sqliteTable(
  "tcp_stats",
  {
    ...bucketColumns(),
    local: text("local").notNull(),
    remote: text("remote").notNull(),
    port: integer("port").notNull(),
    role: text("role").$type<"client" | "server" | "unknown">().notNull(),
    opened: integer("opened").notNull(),
    failedRefused: integer("failed_refused").notNull(),
    failedTimeout: integer("failed_timeout").notNull(),
    failedOther: integer("failed_other").notNull(),
    closed: integer("closed").notNull(),
    durationMs: integer("duration_ms").notNull(),
    retransmits: integer("retransmits").notNull(),
    resetsRx: integer("resets_rx").notNull(),
    resetsTx: integer("resets_tx").notNull(),
    srttUsSum: integer("srtt_us_sum").notNull(),
    srttSamples: integer("srtt_samples").notNull(),
    /** As flow_stats.service: the service of the connection's server end. */
    service: text("service").notNull().default(""),
  },
  // By node too: a node's page reads its own rows over up to a day, which in key order lie among every node's.
  (
    t,
  ) => [
    primaryKey({ columns: [t.level, t.bucket, t.node, t.local, t.remote, t.port, t.role] }),
    index("tcp_stats_node").on(t.node, t.level, t.bucket),
  ],
);

export const dropStats = sqliteTable(
  "drop_stats",
  {
    ...bucketColumns(),
    /** endpointKey of the pod, "" for the node's own drops. */
    pod: text("pod").notNull(),
    /** "" when the drop is not tied to an interface. */
    ifname: text("ifname").notNull(),
    reason: text("reason").notNull(),
    packets: integer("packets").notNull(),
    bytes: integer("bytes").notNull(),
  },
  (
    t,
  ) => [
    primaryKey({ columns: [t.level, t.bucket, t.node, t.pod, t.ifname, t.reason] }),
    index("drop_stats_node").on(t.node, t.level, t.bucket),
  ],
);

/**
 * The part of drop_stats' drops that named a service (wire version 5: DropRecord.service), per service: the
 * same buckets, rolled up and pruned with drop_stats, and never more than its row of (node, pod, ifname,
 * reason) there. drop_stats stays the exact total over all services (replicas of before keep writing it);
 * what no service claimed is the difference (control/queries/monitoring/drops.ts). A table of its own rather
 * than a column in drop_stats' key: that would rebuild drop_stats, and a replica of before would then fail
 * its upserts.
 */
export const dropServiceStats = sqliteTable(
  "drop_service_stats",
  {
    ...bucketColumns(),
    pod: text("pod").notNull(),
    ifname: text("ifname").notNull(),
    reason: text("reason").notNull(),
    /** endpointKey of the service ("svc:namespace/name"). */
    service: text("service").notNull(),
    packets: integer("packets").notNull(),
    bytes: integer("bytes").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.level, t.bucket, t.node, t.pod, t.ifname, t.reason, t.service] }),
    index("drop_service_stats_node").on(t.node, t.level, t.bucket),
  ],
);

/**
 * DNS per pod and server (wire version 6: Batch.dns.servers), summed per bucket at every level: "raw" is one
 * bucket per report time (the batch's ts), "1m" and "1h" as flows'. Written at ingest into all three levels at
 * once (control/monitoring-store/dns.ts) rather than rolled from monitoring_raw: a row here is small and per
 * pod, so the three upserts cost less than a raw column, and a migration that only adds tables suffices.
 * Pruned with the flow tables (maintenance.ts). Counters are columns named by DNS_SERVER_COUNTERS.
 */
export const dnsServerStats = sqliteTable(
  "dns_server_stats",
  {
    level: text("level").$type<"raw" | "1m" | "1h">().notNull(),
    bucket: integer("bucket").notNull(),
    node: text("node").notNull(),
    /** endpointKey of the asking pod ("pod:<uid>"), "" for the node's "other" record. */
    pod: text("pod").notNull(),
    server: text("server").notNull(),
    port: integer("port").notNull(),
    ...dnsCounterColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.level, t.bucket, t.node, t.pod, t.server, t.port] }),
    index("dns_server_stats_node").on(t.node, t.level, t.bucket),
    index("dns_server_stats_level").on(t.level, t.bucket),
  ],
);

/** DNS names per pod (Batch.dns.names), the same levels and buckets as dns_server_stats. */
export const dnsNameStats = sqliteTable(
  "dns_name_stats",
  {
    level: text("level").$type<"raw" | "1m" | "1h">().notNull(),
    bucket: integer("bucket").notNull(),
    node: text("node").notNull(),
    pod: text("pod").notNull(),
    name: text("name").notNull(),
    queries: integer("queries").notNull(),
    nxdomain: integer("nxdomain").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.level, t.bucket, t.node, t.pod, t.name] }),
    index("dns_name_stats_node").on(t.node, t.level, t.bucket),
    index("dns_name_stats_level").on(t.level, t.bucket),
  ],
);

/**
 * DNS per node since it first reported: its Batch.dns.servers (every pod, server and "other" record) summed,
 * saturating, one row per node and never pruned, so its counters only grow: the monotonic source of the DNS
 * families of /metrics (control/metrics/dns.ts), which the pruned levels of dns_server_stats cannot be. Added to
 * in the batch's transaction with dns_server_stats (control/monitoring-store/dns.ts).
 */
export const dnsNodeTotals = sqliteTable("dns_node_totals", {
  node: text("node").primaryKey(),
  ...dnsCounterColumns(),
});

/** One integer column per counter of a DnsServerRecord (DNS_SERVER_COUNTERS: one source for table and code). */
function dnsCounterColumns() {
  const column = (name: string) => integer(name).notNull().default(0);
  return Object.fromEntries(DNS_SERVER_COUNTERS.map((c) => [c, column(c)])) as Record<
    DnsServerCounter,
    ReturnType<typeof column>
  >;
}

/**
 * Interface RX/TX per minute and per hour (control/monitoring-store/
 * interface-rollup.ts): the deltas of interface_history summed per bucket,
 * per interface and, under ifname "", for the node as a whole (its
 * interfaces summed). `intervalMs` is the time the summed deltas cover, the
 * divisor of rates: a whole bucket when the node reported throughout, less
 * for the current bucket or when it did not. The key starts with the node,
 * so a node's chart and the overview's sparklines (every node's "" rows)
 * read contiguous ranges; retention uses the (level, bucket) index.
 */
export const interfaceStats = sqliteTable(
  "interface_stats",
  {
    ...bucketColumns(),
    /** "" for the node's total. */
    ifname: text("ifname").notNull(),
    ...counterColumns(),
    intervalMs: integer("interval_ms").notNull(),
  },
  (
    t,
  ) => [
    primaryKey({ columns: [t.node, t.level, t.ifname, t.bucket] }),
    index("interface_stats_level_bucket").on(t.level, t.bucket),
  ],
);

/**
 * Names of the endpoints that statistics rows key by endpointKey, so a pod's
 * flows keep its name after the pod itself is gone. `lastUsed` (control
 * clock) moves at most once a minute; entries unused for longer than the
 * longest retention are removed.
 */
export const endpoints = sqliteTable("endpoints", {
  key: text("key").primaryKey(),
  kind: text("kind").$type<"pod" | "service" | "world" | "other">().notNull(),
  namespace: text("namespace"),
  name: text("name"),
  node: text("node"),
  ip: text("ip"),
  lastUsed: integer("last_used").notNull(),
});

/**
 * Per node: the agent's own monitoring counters from its latest batch
 * (table fill, evictions, records its caps cut: MonitoringStats) and what
 * the control plane cut or set aside, cumulative since the node first reported.
 */
export const nodeMonitoring = sqliteTable("node_monitoring", {
  node: text("node")
    .primaryKey()
    .references(() => nodes.name, { onDelete: "cascade" }),
  /** MonitoringStats JSON of the latest batch that carried one. */
  agent: text("agent"),
  /** Distinct keys folded into a node's "other" row by the cardinality caps, all levels. */
  flowKeysCut: integer("flow_keys_cut").notNull().default(0),
  tcpKeysCut: integer("tcp_keys_cut").notNull().default(0),
  dropKeysCut: integer("drop_keys_cut").notNull().default(0),
  /** DNS (pod, name) and (pod, server, port) keys summed into the node's "other" records at ingest, all levels. */
  dnsNameKeysCut: integer("dns_name_keys_cut").notNull().default(0),
  dnsServerKeysCut: integer("dns_server_keys_cut").notNull().default(0),
  /** Flow records not stored because another observation of the same packets was (flows.ts). */
  flowDuplicates: integer("flow_duplicates").notNull().default(0),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Upper and lower limits on a metric (control/alerts/model.ts). `target`
 * is the node name or "namespace/name" for scopes "node" and "pod", null
 * for "all" (every node) and "all-pods". At least one limit is set.
 */
export const thresholds = sqliteTable("thresholds", {
  id: text("id").primaryKey(),
  metric: text("metric").$type<MetricName>().notNull(),
  scopeKind: text("scope_kind").$type<ScopeKind>().notNull(),
  target: text("target"),
  upper: real("upper"),
  lower: real("lower"),
  holdSeconds: integer("hold_seconds").notNull(),
  description: text("description"),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Targets out of a threshold's limits whose hold time has not passed yet
 * (control/alerts/evaluate.ts). Kept in the database rather than in memory
 * so a restart neither forgets a hold half-way nor starts it again, and
 * replicas share it. A row goes when the target is back within the limits
 * or its alert fires. Times are the control plane's clock.
 */
export const alertPending = sqliteTable(
  "alert_pending",
  {
    thresholdId: text("threshold_id")
      .notNull()
      .references(() => thresholds.id, { onDelete: "cascade" }),
    /** Node name or "namespace/name". */
    target: text("target").notNull(),
    /** The first evaluation that found it out of the limits (continuously since). */
    since: integer("since").notNull(),
    /** Highest and lowest value since then, handed on to the alert. */
    peak: real("peak").notNull(),
    trough: real("trough").notNull(),
    lastValue: real("last_value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.thresholdId, t.target] })],
);

/**
 * Alerts, active (resolvedAt null) and resolved (history). Each copies its
 * threshold as it was when it fired, and has no foreign key to it, so the
 * history stays readable after the threshold is changed or deleted. At
 * most one active alert per threshold and target, enforced by the
 * database so that no evaluation (another replica's included) duplicates one.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey(),
    thresholdId: text("threshold_id").notNull(),
    metric: text("metric").$type<MetricName>().notNull(),
    scopeKind: text("scope_kind").$type<ScopeKind>().notNull(),
    target: text("target").notNull(),
    /** The node concerned: the target node, or the node the pod ran on when the alert fired. */
    node: text("node").notNull(),
    /** The limit crossed when it fired. */
    bound: text("bound").$type<"upper" | "lower">().notNull(),
    upper: real("upper"),
    lower: real("lower"),
    holdSeconds: integer("hold_seconds").notNull(),
    description: text("description"),
    /** When the value left the limits (the hold began), and when the alert fired. */
    breachedSince: integer("breached_since").notNull(),
    firedAt: integer("fired_at").notNull(),
    /** At firing; then the extremes and the latest while out of the limits. */
    value: real("value").notNull(),
    peak: real("peak").notNull(),
    trough: real("trough").notNull(),
    lastValue: real("last_value").notNull(),
    resolvedAt: integer("resolved_at"),
    resolvedReason: text("resolved_reason").$type<ResolvedReason>(),
  },
  (t) => [
    uniqueIndex("alerts_active").on(t.thresholdId, t.target).where(sql`resolved_at IS NULL`),
    index("alerts_node").on(t.node, t.firedAt),
    index("alerts_resolved").on(t.resolvedAt),
  ],
);

/** Why an alert ended: back within the limits, no value any more (a pod gone), or its threshold changed, was switched off or deleted. */
export type ResolvedReason = "recovered" | "no-data" | "threshold-changed" | "threshold-disabled" | "threshold-deleted";

/**
 * Webhook receivers of alert notifications (control/notify/). The bearer
 * token and the custom header's value are secrets: stored as given (they are
 * sent with every POST), never shown back. The counters add up every
 * notification's outcome for /metrics and the pages, so pruning the records
 * loses no count.
 */
export const alertReceivers = sqliteTable("alert_receivers", {
  id: text("id").primaryKey(),
  /** Unique; the `receiver` of the payload and of the metrics' label. */
  name: text("name").notNull().unique(),
  url: text("url").notNull(),
  /** What is POSTed: Alertmanager's webhook message, or Alertmanager's own alerts API body (control/notify/payload.ts). */
  format: text("format").$type<"webhook" | "alertmanager">().notNull().default("webhook"),
  bearerToken: text("bearer_token"),
  headerName: text("header_name"),
  headerValue: text("header_value"),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  delivered: integer("delivered").notNull().default(0),
  failedAttempts: integer("failed_attempts").notNull().default(0),
  gaveUp: integer("gave_up").notNull().default(0),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type NotificationState = "pending" | "delivered" | "gave-up";

/**
 * The outbox: one row per alert event (firing, resolved) and receiver,
 * written in the transaction that changes the alert, so an event is never
 * lost nor sent for a change that did not commit. The unique index makes an
 * event once per receiver. `alert` is the Alertmanager alert as JSON
 * (generatorURL relative: the deliverer prefixes the external URL).
 */
export const alertNotifications = sqliteTable(
  "alert_notifications",
  {
    id: integer("id").primaryKey(),
    receiverId: text("receiver_id")
      .notNull()
      .references(() => alertReceivers.id, { onDelete: "cascade" }),
    /** No foreign key: the alert's history is pruned on its own schedule. */
    alertId: integer("alert_id").notNull(),
    status: text("status").$type<"firing" | "resolved">().notNull(),
    alert: text("alert").notNull(),
    state: text("state").$type<NotificationState>().notNull(),
    createdAt: integer("created_at").notNull(),
    /** Every attempt made (the latest few are kept in alert_notification_attempts). */
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    /** Delivered or given up; the retention counts from here. */
    finishedAt: integer("finished_at"),
    gaveUpReason: text("gave_up_reason"),
  },
  (t) => [
    uniqueIndex("alert_notifications_event").on(t.receiverId, t.alertId, t.status),
    index("alert_notifications_due").on(t.state, t.nextAttemptAt),
    index("alert_notifications_finished").on(t.finishedAt),
  ],
);

/** Attempts to deliver a notification: when, how long, the HTTP status or the error. */
export const alertNotificationAttempts = sqliteTable(
  "alert_notification_attempts",
  {
    id: integer("id").primaryKey(),
    notificationId: integer("notification_id")
      .notNull()
      .references(() => alertNotifications.id, { onDelete: "cascade" }),
    at: integer("at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    httpStatus: integer("http_status"),
    error: text("error"),
  },
  (t) => [index("alert_notification_attempts_notification").on(t.notificationId, t.id)],
);

/**
 * Things the control plane creates once per database (the default
 * thresholds): a row says it was done, so what the operator deleted or
 * changed afterwards is never made again.
 */
export const seeds = sqliteTable("seeds", {
  name: text("name").primaryKey(),
  appliedAt: integer("applied_at").notNull(),
});

/** Who defines a service: the admin API (and pages), or the Kubernetes sync (control/kube/), which alone may change it. */
export type ServiceSource = "api" | "kubernetes";

/**
 * Load-balanced services, one row per frontend VIP:port/protocol
 * (control/wire/services.ts). `id` is the smallest id free when the service
 * was made (agents index fixed-size kernel arrays with it, 1..LB_MAX_SERVICES)
 * and stays for the service's life. `version` is the lb version of the
 * service's latest change (lb_version), so a node that applied that version
 * has it. Ids are reused once free, so a service's (and a backend's)
 * counters are deleted with it.
 */
export const services = sqliteTable(
  "services",
  {
    id: integer("id").primaryKey(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    /** "" for an unnamed port. */
    portName: text("port_name").notNull(),
    vip: text("vip").notNull(),
    port: integer("port").notNull(),
    protocol: text("protocol").$type<LbProtocol>().notNull(),
    affinity: text("affinity").$type<Affinity>().notNull(),
    affinityTimeoutS: integer("affinity_timeout_s").notNull(),
    /** Slots of its Maglev table (control/wire/maglev.ts, nextTableSize): grows with the backends, never shrinks. */
    tableSize: integer("table_size").notNull(),
    /** ClusterIP, NodePort or LoadBalancer (control/wire/services.ts); the gateway module serves nodePort and externalIps. */
    type: text("type").$type<ServiceType>().notNull().default("ClusterIP"),
    nodePort: integer("node_port"),
    externalIps: text("external_ips", { mode: "json" }).$type<string[]>().notNull().default([]),
    source: text("source").$type<ServiceSource>().notNull(),
    /** The lb version that gave this service its id: counters a node read under an older version are not its own. */
    assignedVersion: integer("assigned_version").notNull(),
    version: integer("version").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (
    t,
  ) => [
    uniqueIndex("services_name").on(t.namespace, t.name, t.portName),
    uniqueIndex("services_frontend").on(t.vip, t.port, t.protocol),
  ],
);

/**
 * A service's backends. `id` is global (1..LB_MAX_BACKENDS), the smallest
 * free one when the backend appeared, and kept while the same (service, ip,
 * port) stays listed, so kernel state and counters follow it across updates.
 * Deleted with their service (by the code: no foreign keys are enforced).
 */
export const serviceBackends = sqliteTable(
  "service_backends",
  {
    id: integer("id").primaryKey(),
    serviceId: integer("service_id").notNull(),
    ip: text("ip").notNull(),
    port: integer("port").notNull(),
    weight: integer("weight").notNull(),
    state: text("state").$type<BackendState>().notNull(),
    podNamespace: text("pod_namespace"),
    podName: text("pod_name"),
    /** As services.assignedVersion. */
    assignedVersion: integer("assigned_version").notNull(),
  },
  (t) => [uniqueIndex("service_backends_endpoint").on(t.serviceId, t.ip, t.port)],
);

/** One row (id 1): the lb version, raised by one in the transaction of every change to services or backends; 0 without a row. */
export const lbVersion = sqliteTable("lb_version", {
  id: integer("id").primaryKey(),
  version: integer("version").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Per node: the lb version it has applied, i.e. the `after` of its latest
 * GET /api/v1/lb/state (null when it polled without one: it has none yet).
 * No foreign key to `nodes`: a node may poll before its first batch.
 */
export const lbNodes = sqliteTable("lb_nodes", {
  node: text("node").primaryKey(),
  appliedVersion: integer("applied_version"),
  /** Control-plane clock of the poll that last wrote this row (refreshed at most every LB_POLL_REFRESH_MS when unchanged). */
  polledAt: integer("polled_at").notNull(),
});

/**
 * Load-balancing counters per minute (bucket: its start, by the agent's
 * clock as in control/monitoring/rollup.ts), summed over nodes: one row per
 * service with backendId 0 (connections, refused), one per backend
 * (connections; refused 0). Ingest adds each batch in; retention follows
 * EBPF_K8S_RETENTION_1M.
 */
export const lbStats = sqliteTable(
  "lb_stats",
  {
    bucket: integer("bucket").notNull(),
    serviceId: integer("service_id").notNull(),
    backendId: integer("backend_id").notNull(),
    connections: integer("connections").notNull(),
    refused: integer("refused").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.bucket, t.backendId] }), index("lb_stats_bucket").on(t.bucket)],
);

/**
 * Gateway (XDP) traffic per service and minute, summed over nodes (bucket as
 * in lb_stats): packets and bytes (whole frames) from clients in, and of the
 * replies out. Retention follows EBPF_K8S_RETENTION_1M.
 */
export const gatewayStats = sqliteTable(
  "gateway_stats",
  {
    bucket: integer("bucket").notNull(),
    serviceId: integer("service_id").notNull(),
    packetsIn: integer("packets_in").notNull(),
    bytesIn: integer("bytes_in").notNull(),
    packetsOut: integer("packets_out").notNull(),
    bytesOut: integer("bytes_out").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.bucket] }), index("gateway_stats_bucket").on(t.bucket)],
);

/**
 * A gateway frontend of a service and its flow events (control/wire/services.ts
 * GATEWAY_FRONTEND_COUNTERS): address an external IP, or 0.0.0.0 for the
 * NodePort (port: the NodePort). The columns of the two tables below (fresh
 * builders for each).
 */
const gatewayFrontendColumns = () => ({
  serviceId: integer("service_id").notNull(),
  address: text("address").notNull(),
  port: integer("port").notNull(),
  flows: integer("flows").notNull(),
  evicted: integer("evicted").notNull(),
  snatBusy: integer("snat_busy").notNull(),
  noBackend: integer("no_backend").notNull(),
  toStack: integer("to_stack").notNull(),
  expired: integer("expired").notNull(),
});

/**
 * Gateway flow events per frontend and minute, summed over nodes (bucket as
 * in lb_stats). A service's own are the sums of its frontends. Retention
 * follows EBPF_K8S_RETENTION_1M.
 */
export const gatewayFrontendStats = sqliteTable(
  "gateway_frontend_stats",
  { bucket: integer("bucket").notNull(), ...gatewayFrontendColumns() },
  (t) => [
    primaryKey({ columns: [t.serviceId, t.address, t.port, t.bucket] }),
    index("gateway_frontend_stats_bucket").on(t.bucket),
  ],
);

/**
 * The same events since the service was made, never pruned (one row per
 * frontend of a service: bounded by the services): the counters of
 * /metrics, which must only grow. Deleted with the service.
 */
export const gatewayFrontendTotals = sqliteTable(
  "gateway_frontend_totals",
  gatewayFrontendColumns(),
  (t) => [primaryKey({ columns: [t.serviceId, t.address, t.port] })],
);

/**
 * Socket acceleration rules (control/wire/accel.ts): `id` the smallest free
 * (agents index a kernel array with it), `rule` the rule as the API took it
 * (JSON, without the id). A change raises the lb version (lb_version), so
 * agents get the rules with the services.
 */
export const accelRules = sqliteTable("accel_rules", {
  id: integer("id").primaryKey(),
  rule: text("rule", { mode: "json" }).$type<Omit<AccelRule, "id">>().notNull(),
  /** As services.assignedVersion: counters read under an older version belong to the id's previous rule. */
  assignedVersion: integer("assigned_version").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Acceleration counters per rule and minute (agent clock), summed over nodes; retention EBPF_K8S_RETENTION_1M. */
export const accelStats = sqliteTable(
  "accel_stats",
  {
    bucket: integer("bucket").notNull(),
    ruleId: integer("rule_id").notNull(),
    connections: integer("connections").notNull(),
    bytes: integer("bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.bucket] }), index("accel_stats_bucket").on(t.bucket)],
);

/**
 * Leases between control-plane replicas on one database (control/lease/): the
 * work that must run once (Kubernetes sync, rollups and retention, alert
 * evaluation) runs only on the replica named in the row, while `expires_at`
 * (holder's clock, ms) lies ahead. Taken and renewed by one conditional
 * upsert, so two replicas never hold it at once.
 */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  /** Replica id: host name and a random suffix per process start. */
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
  /** When this holder took it (unchanged by renewals). */
  acquiredAt: integer("acquired_at").notNull(),
});

export type NodeRow = typeof nodes.$inferSelect;
export type InterfaceRow = typeof interfaces.$inferSelect;
export type JoinTokenRow = typeof joinTokens.$inferSelect;
export type PodRow = typeof pods.$inferSelect;
export type ThresholdRow = typeof thresholds.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;
export type PendingRow = typeof alertPending.$inferSelect;
export type LeaseRow = typeof leases.$inferSelect;
export type ReceiverRow = typeof alertReceivers.$inferSelect;
export type NotificationRow = typeof alertNotifications.$inferSelect;
export type ServiceRow = typeof services.$inferSelect;
export type BackendRow = typeof serviceBackends.$inferSelect;
