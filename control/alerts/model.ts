// SPDX-License-Identifier: Apache-2.0
/**
 * Thresholds: upper and lower limits on a metric, for one node, one pod,
 * every node or every pod. The metric catalogue and the input schema are
 * defined once here for the API (control/routes/alerts.ts), the threshold
 * form (web/) and the evaluation (evaluate.ts).
 */
import { z } from "zod";
import { NodeName } from "../wire/batch.ts";
import { Rfc1123Name } from "../wire/scalars.ts";
import { LATENCY_ABOVE_US } from "../monitoring/dns-latency.ts";

/** A field's message, and "required" when it is missing (a schema's own message would hide that). */
const orRequired =
  (message: string) => (issue: { input: unknown }) => (issue.input === undefined ? "required" : message);

export const METRIC_NAMES = [
  "rxBytesPerSec",
  "txBytesPerSec",
  "dropsPerSec",
  "retransmitsPerSec",
  "failedConnectionsPerSec",
  "heartbeatAgeSeconds",
  "dnsNxdomainPerSec",
  "dnsServfailPerSec",
  "dnsLatencyP95Ms",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The units metric values are in (the API's `unit`, the pages' formatting). */
export const METRIC_UNITS = ["B/s", "/s", "s", "ms"] as const;

export interface MetricInfo {
  label: string;
  unit: (typeof METRIC_UNITS)[number];
  /** What a node's (and a pod's) value is, in words, for the form and the README. */
  about: string;
  /** Heartbeats belong to agents, so to nodes only. */
  nodesOnly?: true;
  /** Limits must be below this: the values stop at it (a reading past it is shown as it). */
  limitBelow?: number;
}

/** A DNS latency p95 past the histogram's last bound reads as that bound, in ms (values.ts). */
export const DNS_LATENCY_P95_MAX_MS = LATENCY_ABOVE_US / 1000;

export const METRICS: Record<MetricName, MetricInfo> = {
  rxBytesPerSec: {
    label: "RX bytes/s",
    unit: "B/s",
    about: "a node: the sum of its interfaces' RX rates; a pod: what it received",
  },
  txBytesPerSec: {
    label: "TX bytes/s",
    unit: "B/s",
    about: "a node: the sum of its interfaces' TX rates; a pod: what it sent",
  },
  dropsPerSec: { label: "drops/s", unit: "/s", about: "packets dropped over the last minute, per second" },
  retransmitsPerSec: { label: "retransmits/s", unit: "/s", about: "TCP retransmits over the last minute, per second" },
  failedConnectionsPerSec: {
    label: "failed connections/s",
    unit: "/s",
    about: "TCP connections refused, timed out or failed otherwise over the last minute, per second",
  },
  heartbeatAgeSeconds: {
    label: "heartbeat age",
    unit: "s",
    about: "seconds since the node's last batch (nodes only)",
    nodesOnly: true,
  },
  dnsNxdomainPerSec: {
    label: "DNS NXDOMAIN/s",
    unit: "/s",
    about: "DNS answers NXDOMAIN over the last minute, per second (a node: every pod on it; a pod: its own)",
  },
  dnsServfailPerSec: {
    label: "DNS SERVFAIL/s",
    unit: "/s",
    about: "DNS answers SERVFAIL over the last minute, per second (a node: every pod on it; a pod: its own)",
  },
  dnsLatencyP95Ms: {
    label: "DNS latency p95",
    unit: "ms",
    about: "95th percentile of the DNS answers' latency over the last minute, as the upper bound of its " +
      `histogram bucket; no value without answers; ${DNS_LATENCY_P95_MAX_MS} when past the last bound`,
    limitBelow: DNS_LATENCY_P95_MAX_MS,
  },
};

/** "all": every node; "all-pods": every pod; "node" and "pod" name one as their target. */
export const SCOPE_KINDS = ["all", "node", "pod", "all-pods"] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];
export type TargetKind = "node" | "pod";

export const SCOPE_LABELS: Record<ScopeKind, string> = {
  all: "every node",
  node: "one node",
  pod: "one pod",
  "all-pods": "every pod",
};

export function targetKindOf(kind: ScopeKind): TargetKind {
  return kind === "all" || kind === "node" ? "node" : "pod";
}

/** "namespace/name", as the monitoring API's `pod=` takes it. */
export const PodTarget = z.string().refine((v) => {
  const parts = v.split("/");
  return parts.length === 2 && parts.every((p) => Rfc1123Name.safeParse(p).success);
}, 'must be "namespace/name" (two lowercase RFC 1123 names)');

export const Scope = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({ kind: z.literal("all") }),
    z.strictObject({ kind: z.literal("all-pods") }),
    z.strictObject({ kind: z.literal("node"), target: NodeName }),
    z.strictObject({ kind: z.literal("pod"), target: PodTarget }),
  ],
  { error: orRequired(`must be one of ${SCOPE_KINDS.map((k) => `"${k}"`).join(", ")}`) },
);
export type Scope = z.output<typeof Scope>;

const Limit = z.number({ error: "must be a number" }).min(0, "must not be negative");
const MAX_HOLD_SECONDS = 7 * 86_400;

/** POST /api/v1/thresholds and PUT /api/v1/thresholds/:id (a whole threshold: what is left out is unset). */
export const ThresholdInput = z
  .strictObject({
    metric: z.enum(METRIC_NAMES, { error: orRequired(`must be one of ${METRIC_NAMES.join(", ")}`) }),
    scope: Scope,
    upper: Limit.nullish(),
    lower: Limit.nullish(),
    holdSeconds: z
      .number({ error: "must be a number" })
      .int("must be whole seconds")
      .min(0, "must not be negative")
      .max(MAX_HOLD_SECONDS, `must be at most ${MAX_HOLD_SECONDS} (7 days)`)
      .default(60),
    description: z.string().trim().max(256).nullish(),
    enabled: z.boolean().default(true),
  })
  .superRefine((t, ctx) => {
    if (t.upper == null && t.lower == null) {
      ctx.addIssue({ code: "custom", path: ["upper"], message: "give an upper or a lower limit (or both)" });
    }
    if (t.upper != null && t.lower != null && t.lower >= t.upper) {
      ctx.addIssue({ code: "custom", path: ["lower"], message: "must be below the upper limit" });
    }
    const below = METRICS[t.metric].limitBelow;
    for (const field of ["upper", "lower"] as const) {
      const limit = t[field];
      if (below === undefined || limit == null || limit < below) continue;
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: `must be below ${below} for ${t.metric}: a value past ${below} reads as ${below}`,
      });
    }
    if (METRICS[t.metric].nodesOnly && targetKindOf(t.scope.kind) === "pod") {
      ctx.addIssue({
        code: "custom",
        path: ["scope", "kind"],
        message: `${t.metric} applies to nodes only ("all" or "node")`,
      });
    }
  });
export type ThresholdInput = z.output<typeof ThresholdInput>;

/** Which limit a value crosses: strictly above the upper, strictly below the lower; null within (or with no value). */
export function crossed(
  limits: { upper: number | null; lower: number | null },
  value: number | null,
): "upper" | "lower" | null {
  if (value === null) return null;
  if (limits.upper !== null && value > limits.upper) return "upper";
  if (limits.lower !== null && value < limits.lower) return "lower";
  return null;
}
