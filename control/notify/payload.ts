// SPDX-License-Identifier: Apache-2.0
/**
 * The JSON a notification carries: exactly what Alertmanager itself POSTs to
 * a webhook receiver (its webhook_config, payload "version": "4"), so
 * anything that takes Alertmanager webhooks (Slack, PagerDuty and Teams
 * bridges, Alertmanager-aware tools) takes ours. One POST carries one event
 * (one alert firing or resolved): `groupKey` and the common labels are that
 * alert's, so a bridge that groups or dedupes by them keeps alerts apart.
 *
 * A receiver of format "alertmanager" gets the same alert in the body
 * Alertmanager's own API takes (POST /api/v2/alerts: alertmanagerAlerts), so
 * an Alertmanager can be the receiver itself and route, group and silence.
 *
 * The labels identify the alert and stay the same from firing to resolution
 * (and for a later alert of the same threshold and target): alertname (from
 * the metric and the limit crossed), severity, node, namespace and pod for a
 * pod, metric and threshold_id. `fingerprint` is Alertmanager's own: the
 * 64-bit FNV-1a of the sorted labels, so Alertmanager and its bridges
 * recognise a repeated event as the same alert.
 */
import type { AlertRow } from "../db/schema.ts";
import { METRICS } from "../alerts/model.ts";

/** One alert of the payload (Alertmanager's template.Alert). */
export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** Alertmanager's zero time while firing. */
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** The body of one POST (Alertmanager's webhook message, version 4). */
export interface WebhookMessage {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** What Alertmanager writes as the end of an alert that has not ended (Go's zero time). */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
/** Thresholds carry no severity: every notification says this one (docs/alerts.md). */
export const SEVERITY = "warning";

/** "dropsPerSec" crossing its upper limit → "EbpfK8sDropsPerSecHigh". */
export function alertName(metric: string, bound: "upper" | "lower"): string {
  return `EbpfK8s${metric[0]!.toUpperCase()}${metric.slice(1)}${bound === "upper" ? "High" : "Low"}`;
}

/** A number for a sentence: at most three significant digits below 1000, whole above. */
const readable = (v: number) => (Math.abs(v) >= 1000 ? String(Math.round(v)) : String(Number(v.toPrecision(3))));

/**
 * The alert as the payload carries it, at an event: "firing" when it fired,
 * "resolved" when it resolved. generatorURL is relative here; the deliverer
 * prefixes the external URL (withExternalUrl).
 */
export function webhookAlert(row: AlertRow, status: "firing" | "resolved"): WebhookAlert {
  const pod = row.scopeKind === "pod" || row.scopeKind === "all-pods" ? row.target.split("/") : undefined;
  const labels: Record<string, string> = {
    alertname: alertName(row.metric, row.bound),
    severity: SEVERITY,
    node: row.node,
    ...(pod ? { namespace: pod[0]!, pod: pod[1] ?? "" } : {}),
    metric: row.metric,
    threshold_id: row.thresholdId,
  };
  const info = METRICS[row.metric];
  const limit = (row.bound === "upper" ? row.upper : row.lower)!;
  const value = status === "firing" ? row.value : row.lastValue;
  const annotations: Record<string, string> = {
    summary: `${info.label} ${row.bound === "upper" ? "above" : "below"} ${readable(limit)} ${info.unit} on ${
      pod ? `pod ${row.target}` : `node ${row.node}`
    }`,
    description: `${row.description ? `${row.description}: ` : ""}${info.label} was ${readable(value)} ${info.unit} ` +
      `(${info.about}); limit ${readable(limit)} ${info.unit}, held ${row.holdSeconds} s` +
      (status === "resolved" && row.resolvedReason ? `; resolved: ${row.resolvedReason}` : ""),
    value: readable(value),
  };
  return {
    status,
    labels,
    annotations,
    startsAt: new Date(row.firedAt).toISOString(),
    endsAt: status === "resolved" && row.resolvedAt !== null ? new Date(row.resolvedAt).toISOString() : ZERO_TIME,
    generatorURL: `/alerts?node=${encodeURIComponent(row.node)}`,
    fingerprint: fingerprint(labels),
  };
}

/** The POST's body for one event to one receiver. */
export function webhookMessage(alert: WebhookAlert, receiver: string, externalUrl: string): WebhookMessage {
  const base = withoutSlash(externalUrl);
  return {
    version: "4",
    groupKey: `{}:{${sortedLabels(alert.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`,
    truncatedAlerts: 0,
    status: alert.status,
    receiver,
    groupLabels: { alertname: alert.labels.alertname! },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: base,
    alerts: [{ ...alert, generatorURL: `${base}${alert.generatorURL}` }],
  };
}

/** One alert as Alertmanager's own API takes it (POST /api/v2/alerts, postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/**
 * A firing alert is sent once, not re-sent the way Prometheus does, so it tells Alertmanager when it would end
 * by itself: this long after it fired (Alertmanager's own default, resolve_timeout, is 5 minutes). The
 * resolution ends it earlier.
 */
export const FIRING_HELD_MS = 7 * 86_400_000;

/** The body for a receiver of format "alertmanager": the event for Alertmanager's POST /api/v2/alerts. */
export function alertmanagerAlerts(alert: WebhookAlert, externalUrl: string): PostableAlert[] {
  const endsAt = alert.status === "resolved"
    ? alert.endsAt
    : new Date(Date.parse(alert.startsAt) + FIRING_HELD_MS).toISOString();
  const { labels, annotations, startsAt } = alert;
  return [{ labels, annotations, startsAt, endsAt, generatorURL: `${withoutSlash(externalUrl)}${alert.generatorURL}` }];
}

const withoutSlash = (url: string) => url.replace(/\/+$/, "");

const sortedLabels = (labels: Record<string, string>) =>
  Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const FNV_OFFSET = 14695981039346656037n;
const FNV_PRIME = 1099511628211n;
const MASK = (1n << 64n) - 1n;
/** Prometheus' label separator byte. */
const SEPARATOR = 0xff;

/** Alertmanager's fingerprint of a label set (prometheus/common model.LabelSet.Fingerprint), as 16 hex digits. */
export function fingerprint(labels: Record<string, string>): string {
  let h = FNV_OFFSET;
  const add = (byte: number) => {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK;
  };
  const encoder = new TextEncoder();
  for (const [name, value] of sortedLabels(labels)) {
    for (const b of encoder.encode(name)) add(b);
    add(SEPARATOR);
    for (const b of encoder.encode(value)) add(b);
    add(SEPARATOR);
  }
  return h.toString(16).padStart(16, "0");
}
