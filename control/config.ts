// SPDX-License-Identifier: Apache-2.0
/**
 * Control-plane settings from environment variables, validated with zod.
 * Pure: the entry point passes in its environment (process.env or Deno's).
 */
import { z } from "zod";
import { DEFAULT_DATABASE_URL } from "./db/client.ts";
import { DEFAULT_FLOW_STREAM_SETTINGS, type FlowStreamSettings } from "./flows-stream/hub.ts";
import type { AdmissionSettings } from "./ingest/admission.ts";
import { HELD_PARTS_NODES } from "./ingest/held-parts.ts";
import type { MonitoringSettings } from "./monitoring-store/settings.ts";
import { WIRE_VERSION, wireVersionFromEnv } from "./wire/version.ts";
import { RETRY_JITTER } from "./wire/retry.ts";
import { parseLabelSelector } from "./kube/label-selector.ts";
import { DEFAULT_SERVICE_SELECTOR } from "./kube/service-filter.ts";
import type { NotifySettings } from "./notify/settings.ts";

/** An unset variable and an empty one (`PORT= npm run control`) both mean "use the default". */
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);
const withDefault = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema);

/** Secrets people choose themselves: long enough that guessing is not an option. */
const Secret = z.string().min(16, "must be at least 16 characters");
const Seconds = z.coerce.number().positive();

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** A duration as people write it: "90s", "15m", "2h", "30d", or a plain number of seconds. In seconds. */
const Duration = z
  .string()
  .regex(/^\d+(\.\d+)?[smhd]?$/, 'must be a duration such as "90s", "15m", "2h" or "30d" (a plain number is seconds)')
  .transform((v) => {
    const unit = /[smhd]$/.test(v) ? v.slice(-1) : "s";
    return Number.parseFloat(v) * UNIT_SECONDS[unit]!;
  })
  .refine((seconds) => seconds > 0, "must be longer than zero");
const KeyCap = z.coerce.number().int().min(1).max(1_000_000);
/** "kube-system, monitoring": Kubernetes namespaces (RFC 1123 labels), comma-separated. */
const NamespaceList = z.string().transform((v, ctx) => {
  const names = v.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const bad = names.filter((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
  if (bad.length > 0) {
    ctx.addIssue({ code: "custom", message: `not namespace names (lowercase RFC 1123 labels): ${bad.join(", ")}` });
    return z.NEVER;
  }
  return names;
});
/** "off", or a Duration (in seconds); null for "off". */
const OffOrDuration = z.string().transform((v, ctx) => {
  if (v === "off") return null;
  const d = Duration.safeParse(v);
  if (d.success) return d.data;
  ctx.addIssue({ code: "custom", message: `must be "off" or a duration such as "7d", "12h" or "90m" (got "${v}")` });
  return z.NEVER;
});

export const Config = z
  .object({
    PORT: withDefault(z.coerce.number().int().min(0).max(65535).default(8080)),
    HOST: withDefault(z.string().default("0.0.0.0")),
    /** HTTPS: PEM files of the server's certificate (its chain) and key, read at start; both or neither. */
    EBPF_K8S_TLS_CERT: withDefault(z.string().regex(/^\//, "must be an absolute path").optional()),
    EBPF_K8S_TLS_KEY: withDefault(z.string().regex(/^\//, "must be an absolute path").optional()),
    DATABASE_URL: withDefault(z.string().default(DEFAULT_DATABASE_URL)),
    /** Only for libsql:// servers that require one (Turso, sqld with auth). */
    DATABASE_AUTH_TOKEN: withDefault(z.string().optional()),
    /** Admin token; when unset one is generated at first start, printed once and stored hashed. */
    EBPF_K8S_ADMIN_TOKEN: withDefault(Secret.optional()),
    /** "open": anyone who reaches the server may read; "token": reads need the admin or the read token. */
    EBPF_K8S_READ_AUTH: withDefault(z.enum(["open", "token"]).default("open")),
    EBPF_K8S_READ_TOKEN: withDefault(Secret.optional()),
    /** A node is Stale after this many seconds without a batch, and Lost after EBPF_K8S_LOST_AFTER. */
    EBPF_K8S_STALE_AFTER: withDefault(Seconds.default(30)),
    EBPF_K8S_LOST_AFTER: withDefault(Seconds.default(120)),
    /** Nodes Lost for longer than this are deleted (control/registry/node-removal.ts); "off" (the default): never. */
    EBPF_K8S_REMOVE_LOST_NODES_AFTER: withDefault(OffOrDuration.prefault("off")),
    /** Per node: batches per second (sustained) and how many may come at once (an agent emptying its spool). */
    EBPF_K8S_INGEST_RATE: withDefault(z.coerce.number().positive().default(5)),
    EBPF_K8S_INGEST_BURST: withDefault(z.coerce.number().int().min(1).default(20)),
    EBPF_K8S_REQUEST_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1).default(10_000)),
    /**
     * Overload shedding (control/ingest/admission.ts): batches read, parsed and stored at once, how many more may
     * wait for a slot and for how long; beyond that a batch is answered 503 with a Retry-After (seconds) of at
     * least EBPF_K8S_INGEST_RETRY_AFTER, spread up to EBPF_K8S_INGEST_MAX_RETRY_AFTER while refusals run
     * (control/ingest/retry-schedule.ts). Defaults measured with control/bench/ingest.ts on 2 cores (README
     * "Control-plane settings").
     */
    /** Default: by the database (ingestInFlight below). */
    EBPF_K8S_INGEST_MAX_IN_FLIGHT: withDefault(z.coerce.number().int().min(1).optional()),
    EBPF_K8S_INGEST_MAX_QUEUED: withDefault(z.coerce.number().int().min(0).default(16)),
    /** Batches read and valid that hand their slot on while they wait to share a commit (0: they keep it). */
    EBPF_K8S_INGEST_MAX_STORING: withDefault(z.coerce.number().int().min(0).default(2)),
    EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1).default(50)),
    EBPF_K8S_INGEST_RETRY_AFTER: withDefault(z.coerce.number().int().min(1).max(3600).default(2)),
    EBPF_K8S_INGEST_MAX_RETRY_AFTER: withDefault(z.coerce.number().int().min(1).max(3600).default(60)),
    /** Live flows (GET /api/v1/flows/stream): followers at once per replica, records queued for a slow one before it is dropped. */
    EBPF_K8S_STREAM_MAX_FOLLOWERS: withDefault(
      z.coerce.number().int().min(1).default(DEFAULT_FLOW_STREAM_SETTINGS.maxFollowers),
    ),
    EBPF_K8S_STREAM_MAX_QUEUED: withDefault(
      z.coerce.number().int().min(1).default(DEFAULT_FLOW_STREAM_SETTINGS.maxQueued),
    ),
    /** How long flow, TCP and drop statistics are kept per level: per batch, per minute, per hour. */
    EBPF_K8S_RETENTION_RAW: withDefault(Duration.prefault("2h")),
    EBPF_K8S_RETENTION_1M: withDefault(Duration.prefault("48h")),
    EBPF_K8S_RETENTION_1H: withDefault(Duration.prefault("30d")),
    /** How long a pod that vanished stays listed (marked vanished) before it is dropped. */
    EBPF_K8S_POD_GRACE: withDefault(Duration.prefault("5m")),
    /** Cardinality caps: distinct keys stored per node per bucket; the rest is summed into one "other" row and counted. */
    EBPF_K8S_MAX_FLOW_KEYS: withDefault(KeyCap.default(2_000)),
    EBPF_K8S_MAX_TCP_KEYS: withDefault(KeyCap.default(2_000)),
    EBPF_K8S_MAX_DROP_KEYS: withDefault(KeyCap.default(500)),
    /** The same for DNS (pod, name) and (pod, server, port) keys; the rest is summed into the node's "other" records. */
    EBPF_K8S_MAX_DNS_NAME_KEYS: withDefault(KeyCap.default(2_000)),
    EBPF_K8S_MAX_DNS_SERVER_KEYS: withDefault(KeyCap.default(2_000)),
    /** How often raw statistics are rolled up into 1 min and 1 h buckets and retention applied. */
    EBPF_K8S_MAINTENANCE_INTERVAL: withDefault(Duration.prefault("60s")),
    /** How often thresholds are evaluated: a hold time is only as precise as this. */
    EBPF_K8S_ALERT_INTERVAL: withDefault(Duration.prefault("5s")),
    /**
     * Alert notifications (control/notify/, docs/alerts.md): how often the outbox is sent, each POST's timeout, the
     * retry backoff's first and longest wait, when a notification is given up, how long finished records are kept,
     * and the pending notifications per receiver beyond which the oldest are given up (counted).
     */
    EBPF_K8S_NOTIFY_INTERVAL: withDefault(Duration.prefault("1s")),
    EBPF_K8S_NOTIFY_TIMEOUT: withDefault(Duration.prefault("5s")),
    EBPF_K8S_NOTIFY_RETRY_MIN: withDefault(Duration.prefault("1s")),
    EBPF_K8S_NOTIFY_RETRY_MAX: withDefault(Duration.prefault("5m")),
    EBPF_K8S_NOTIFY_GIVE_UP: withDefault(Duration.prefault("24h")),
    EBPF_K8S_NOTIFY_RETENTION: withDefault(Duration.prefault("7d")),
    EBPF_K8S_NOTIFY_MAX_PENDING: withDefault(z.coerce.number().int().min(1).max(1_000_000).default(10_000)),
    /** The control plane's address as people reach it: the notifications' links (default: where it listens). */
    EBPF_K8S_EXTERNAL_URL: withDefault(
      z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    ),
    /** "on": the first start on a database creates the default thresholds (agent silent, drops surge); "off": never. */
    EBPF_K8S_DEFAULT_THRESHOLDS: withDefault(z.enum(["on", "off"]).default("on")),
    /** Replicas on one database: how long the lease of the once-only work lasts, and how often it is renewed (control/lease/). */
    EBPF_K8S_LEASE: withDefault(Duration.prefault("15s")),
    EBPF_K8S_LEASE_RENEW: withDefault(Duration.prefault("5s")),
    /** Services from Kubernetes (control/kube/): "auto" syncs when in a cluster or EBPF_K8S_KUBE_API is set; "off" never. */
    EBPF_K8S_KUBE_SYNC: withDefault(z.enum(["auto", "off"]).default("auto")),
    /** An API server to use instead of the in-cluster one (`kubectl proxy`, tests), with its bearer token and CA (a PEM file). */
    EBPF_K8S_KUBE_API: withDefault(
      z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    ),
    EBPF_K8S_KUBE_TOKEN: withDefault(z.string().optional()),
    EBPF_K8S_KUBE_CA: withDefault(z.string().optional()),
    /**
     * Which Kubernetes Services are imported (control/kube/service-filter.ts): a label selector (default: all but
     * those labelled service.kubernetes.io/service-proxy-name, as kube-proxy and Cilium), and comma-separated
     * namespaces to take (default: all) and to leave.
     */
    EBPF_K8S_KUBE_SERVICE_SELECTOR: withDefault(
      z.string().default(DEFAULT_SERVICE_SELECTOR).transform((v, ctx) => {
        try {
          return parseLabelSelector(v);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: `not a Kubernetes label selector: ${(e as Error).message}` });
          return z.NEVER;
        }
      }),
    ),
    EBPF_K8S_KUBE_SERVICE_NAMESPACES: withDefault(NamespaceList.default([])),
    EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: withDefault(NamespaceList.default([])),
    /** Tests only (version-skew tests): the wire version this control plane speaks instead of WIRE_VERSION. */
    EBPF_K8S_TEST_WIRE_VERSION: withDefault(
      z.string().optional().transform((v, ctx) => {
        try {
          return v === undefined ? undefined : wireVersionFromEnv(v);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message });
          return z.NEVER;
        }
      }),
    ),
    /** Set by Kubernetes in every pod: the API server's service address. */
    KUBERNETES_SERVICE_HOST: withDefault(z.string().optional()),
    KUBERNETES_SERVICE_PORT: withDefault(z.coerce.number().int().min(1).max(65535).optional()),
  })
  .refine((c) => c.EBPF_K8S_RETENTION_RAW > c.EBPF_K8S_MAINTENANCE_INTERVAL, {
    path: ["EBPF_K8S_RETENTION_RAW"],
    message: "must be longer than EBPF_K8S_MAINTENANCE_INTERVAL (raw rows are kept until they are rolled up)",
  })
  .refine((c) => c.EBPF_K8S_LEASE >= 3 * c.EBPF_K8S_LEASE_RENEW, {
    path: ["EBPF_K8S_LEASE_RENEW"],
    message: "must be at most a third of EBPF_K8S_LEASE (a holder stops its work one renewal before the lease expires)",
  })
  .refine((c) => c.EBPF_K8S_NOTIFY_RETRY_MAX >= c.EBPF_K8S_NOTIFY_RETRY_MIN, {
    path: ["EBPF_K8S_NOTIFY_RETRY_MAX"],
    message: "must be at least EBPF_K8S_NOTIFY_RETRY_MIN",
  })
  .refine((c) => c.EBPF_K8S_LOST_AFTER > c.EBPF_K8S_STALE_AFTER, {
    path: ["EBPF_K8S_LOST_AFTER"],
    message: "must be greater than EBPF_K8S_STALE_AFTER",
  })
  .refine(
    (c) =>
      c.EBPF_K8S_KUBE_API !== undefined || (c.EBPF_K8S_KUBE_TOKEN === undefined && c.EBPF_K8S_KUBE_CA === undefined),
    {
      path: ["EBPF_K8S_KUBE_API"],
      message:
        "must be set when EBPF_K8S_KUBE_TOKEN or EBPF_K8S_KUBE_CA is (in a cluster the service account's are used)",
    },
  )
  .refine(
    (c) => !c.EBPF_K8S_KUBE_SERVICE_NAMESPACES.some((n) => c.EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES.includes(n)),
    {
      path: ["EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES"],
      message: "names a namespace EBPF_K8S_KUBE_SERVICE_NAMESPACES takes: a namespace is taken or left, not both",
    },
  )
  .refine((c) => (c.EBPF_K8S_TLS_CERT === undefined) === (c.EBPF_K8S_TLS_KEY === undefined), {
    path: ["EBPF_K8S_TLS_KEY"],
    message: "EBPF_K8S_TLS_CERT and EBPF_K8S_TLS_KEY go together (HTTPS needs both, plain HTTP neither)",
  })
  .refine((c) => c.EBPF_K8S_READ_TOKEN === undefined || c.EBPF_K8S_READ_AUTH === "token", {
    path: ["EBPF_K8S_READ_TOKEN"],
    message: "is only used with EBPF_K8S_READ_AUTH=token",
  });
export type Config = z.output<typeof Config>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = Config.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`bad environment: ${problems.join("; ")}`);
}

/** What the app needs from the settings, in the units it works in. Secrets are handled by control/auth. */
export interface AppSettings {
  readAuth: "open" | "token";
  staleAfterMs: number;
  lostAfterMs: number;
  /** Nodes Lost for longer than this are deleted by the once-only work; null: never (EBPF_K8S_REMOVE_LOST_NODES_AFTER). */
  removeLostNodesAfterMs: number | null;
  ingestRatePerSec: number;
  ingestBurst: number;
  requestTimeoutMs: number;
  /** The bound on ingest work in progress, and the refusal beyond it. */
  ingestAdmission: AdmissionSettings;
  /** Failed joins and logins per client address (token guessing): sustained per second, and burst. */
  authFailureRatePerSec: number;
  authFailureBurst: number;
  monitoring: MonitoringSettings;
  /** How often thresholds are evaluated (control/alerts/evaluate.ts). */
  alertIntervalMs: number;
  /** Alert notifications' delivery (control/notify/settings.ts). */
  notify: NotifySettings;
  /** The wire version spoken: batches of it and the one before are accepted (control/wire/version.ts). */
  wireVersion: number;
  /** Nodes whose inventory and pods' metadata are held for compact batches (control/ingest/held-parts.ts). */
  heldPartsNodes: number;
  /** Live flows' bounds (control/flows-stream/hub.ts). */
  flowStream: FlowStreamSettings;
}

export function appSettings(config: Config): AppSettings {
  return {
    readAuth: config.EBPF_K8S_READ_AUTH,
    staleAfterMs: config.EBPF_K8S_STALE_AFTER * 1000,
    lostAfterMs: config.EBPF_K8S_LOST_AFTER * 1000,
    removeLostNodesAfterMs: config.EBPF_K8S_REMOVE_LOST_NODES_AFTER === null
      ? null
      : config.EBPF_K8S_REMOVE_LOST_NODES_AFTER * 1000,
    ingestRatePerSec: config.EBPF_K8S_INGEST_RATE,
    ingestBurst: config.EBPF_K8S_INGEST_BURST,
    requestTimeoutMs: config.EBPF_K8S_REQUEST_TIMEOUT_MS,
    ingestAdmission: {
      maxInFlight: config.EBPF_K8S_INGEST_MAX_IN_FLIGHT ?? ingestInFlight(config.DATABASE_URL),
      maxStoring: config.EBPF_K8S_INGEST_MAX_STORING,
      maxQueued: config.EBPF_K8S_INGEST_MAX_QUEUED,
      maxQueueMs: config.EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS,
      retryAfterSeconds: config.EBPF_K8S_INGEST_RETRY_AFTER,
      maxRetryAfterSeconds: maxRetryAfter(config),
    },
    // Ten wrong tokens at once, then one every 5 s: harmless to a person's typo, useless for guessing 256 bits.
    authFailureRatePerSec: 0.2,
    authFailureBurst: 10,
    monitoring: {
      retention: {
        raw: config.EBPF_K8S_RETENTION_RAW * 1000,
        "1m": config.EBPF_K8S_RETENTION_1M * 1000,
        "1h": config.EBPF_K8S_RETENTION_1H * 1000,
      },
      podGraceMs: config.EBPF_K8S_POD_GRACE * 1000,
      caps: {
        flows: config.EBPF_K8S_MAX_FLOW_KEYS,
        tcp: config.EBPF_K8S_MAX_TCP_KEYS,
        drops: config.EBPF_K8S_MAX_DROP_KEYS,
        dnsNames: config.EBPF_K8S_MAX_DNS_NAME_KEYS,
        dnsServers: config.EBPF_K8S_MAX_DNS_SERVER_KEYS,
      },
      maintenanceIntervalMs: config.EBPF_K8S_MAINTENANCE_INTERVAL * 1000,
    },
    alertIntervalMs: config.EBPF_K8S_ALERT_INTERVAL * 1000,
    notify: {
      intervalMs: config.EBPF_K8S_NOTIFY_INTERVAL * 1000,
      timeoutMs: config.EBPF_K8S_NOTIFY_TIMEOUT * 1000,
      retryMinMs: config.EBPF_K8S_NOTIFY_RETRY_MIN * 1000,
      retryMaxMs: config.EBPF_K8S_NOTIFY_RETRY_MAX * 1000,
      giveUpAfterMs: config.EBPF_K8S_NOTIFY_GIVE_UP * 1000,
      retentionMs: config.EBPF_K8S_NOTIFY_RETENTION * 1000,
      maxPending: config.EBPF_K8S_NOTIFY_MAX_PENDING,
      externalUrl: config.EBPF_K8S_EXTERNAL_URL,
    },
    wireVersion: config.EBPF_K8S_TEST_WIRE_VERSION ?? WIRE_VERSION,
    heldPartsNodes: HELD_PARTS_NODES,
    flowStream: {
      ...DEFAULT_FLOW_STREAM_SETTINGS,
      maxFollowers: config.EBPF_K8S_STREAM_MAX_FOLLOWERS,
      maxQueued: config.EBPF_K8S_STREAM_MAX_QUEUED,
    },
  };
}

export const DEFAULT_APP_SETTINGS: AppSettings = appSettings(parseConfig({}));

/**
 * The longest Retry-After: as configured, but never so long that a refused agent, which waits up to half as long
 * again (control/wire/retry.ts), would count as Lost before it is back; never shorter than the first.
 */
function maxRetryAfter(c: Config): number {
  const backBeforeLost = Math.floor(c.EBPF_K8S_LOST_AFTER / (1 + RETRY_JITTER)) - 1;
  return Math.max(c.EBPF_K8S_INGEST_RETRY_AFTER, Math.min(c.EBPF_K8S_INGEST_MAX_RETRY_AFTER, backBeforeLost));
}

/**
 * Batches stored at once, by default. An embedded database (file:, :memory:) runs every statement on the event
 * loop: a second batch at once only interleaves with the first, and both take twice as long. Measured with the ingest
 * bench at three times capacity on 2 cores (README "Control-plane settings"): accepted p99 146 ms with 1, 246 ms
 * with 2, 335 ms with 4. A libSQL server (libsql://, http(s)://) answers over the network: batches at once overlap
 * their round trips.
 */
export function ingestInFlight(databaseUrl: string): number {
  return databaseUrl.startsWith("file:") || databaseUrl === ":memory:" ? 1 : 4;
}
