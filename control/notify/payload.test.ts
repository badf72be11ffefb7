// SPDX-License-Identifier: Apache-2.0
/**
 * The payload against Alertmanager's webhook shape as its documentation
 * gives it (prometheus.io/docs/alerting/latest/configuration/#webhook_config),
 * written out here independently of payload.ts, and the fingerprint against
 * Prometheus' definition (FNV-1a 64 of the sorted labels, 0xff separators).
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { AlertRow } from "../db/schema.ts";
import { T0 } from "../test-support.ts";
import { alertName, fingerprint, webhookAlert, webhookMessage, ZERO_TIME } from "./payload.ts";

const KV = z.record(z.string(), z.string());
const Time = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
/** Alertmanager's webhook message, version 4: every documented field, no other. */
const AlertmanagerWebhook = z.strictObject({
  version: z.literal("4"),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative(),
  status: z.enum(["resolved", "firing"]),
  receiver: z.string().min(1),
  groupLabels: KV,
  commonLabels: KV,
  commonAnnotations: KV,
  externalURL: z.url(),
  alerts: z.array(z.strictObject({
    status: z.enum(["resolved", "firing"]),
    labels: KV.refine((l) => typeof l.alertname === "string", "alertname is required"),
    annotations: KV,
    startsAt: Time,
    endsAt: Time,
    generatorURL: z.url(),
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  })).min(1),
});

const row = (over: Partial<AlertRow> = {}): AlertRow => ({
  id: 7,
  thresholdId: "0123456789abcdef",
  metric: "dropsPerSec",
  scopeKind: "all",
  target: "node-a",
  node: "node-a",
  bound: "upper",
  upper: 100,
  lower: null,
  holdSeconds: 60,
  description: "drops surge",
  breachedSince: T0,
  firedAt: T0 + 60_000,
  value: 250,
  peak: 300,
  trough: 200,
  lastValue: 40,
  resolvedAt: null,
  resolvedReason: null,
  ...over,
});

describe("Alertmanager webhook payload", () => {
  it("a firing alert: the documented shape, labels, annotations, zero endsAt, links under the external URL", () => {
    const m = webhookMessage(webhookAlert(row(), "firing"), "team-slack", "https://ek8s.example/");
    expect(AlertmanagerWebhook.parse(m)).toEqual(m);
    const [a] = m.alerts;
    expect(a!.labels).toEqual({
      alertname: "EbpfK8sDropsPerSecHigh",
      severity: "warning",
      node: "node-a",
      metric: "dropsPerSec",
      threshold_id: "0123456789abcdef",
    });
    expect(a!.annotations.summary).toBe("drops/s above 100 /s on node node-a");
    expect(a!.annotations.description).toMatch(/^drops surge: drops\/s was 250 \/s/);
    expect(a).toMatchObject({ status: "firing", startsAt: new Date(T0 + 60_000).toISOString(), endsAt: ZERO_TIME });
    expect(a!.generatorURL).toBe("https://ek8s.example/alerts?node=node-a");
    expect(m).toMatchObject({ status: "firing", receiver: "team-slack", externalURL: "https://ek8s.example" });
    expect(m.commonLabels).toEqual(a!.labels);
    expect(m.groupLabels).toEqual({ alertname: "EbpfK8sDropsPerSecHigh" });
  });

  it("resolved: endsAt is the resolution, the same labels and fingerprint as the firing; a pod names its namespace", () => {
    const pod = { scopeKind: "all-pods" as const, target: "shop/web-1", metric: "rxBytesPerSec" as const };
    const firing = webhookAlert(row(pod), "firing");
    const resolved = webhookAlert(row({ ...pod, resolvedAt: T0 + 90_000, resolvedReason: "recovered" }), "resolved");
    expect(AlertmanagerWebhook.parse(webhookMessage(resolved, "r", "http://127.0.0.1:8080"))).toBeTruthy();
    expect(resolved.endsAt).toBe(new Date(T0 + 90_000).toISOString());
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.labels).toMatchObject({ namespace: "shop", pod: "web-1", node: "node-a" });
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(resolved.annotations.description).toMatch(/resolved: recovered$/);
  });

  it("alertname from the metric and the limit crossed", () => {
    expect(alertName("heartbeatAgeSeconds", "upper")).toBe("EbpfK8sHeartbeatAgeSecondsHigh");
    expect(alertName("rxBytesPerSec", "lower")).toBe("EbpfK8sRxBytesPerSecLow");
  });

  it("fingerprint: Prometheus' FNV-1a of sorted labels", () => {
    expect(fingerprint({})).toBe("cbf29ce484222325"); // FNV-1a 64 offset basis: nothing hashed
    // Computed by hand from the definition: FNV-1a over "a" 0xff "b" 0xff.
    let h = 0xcbf29ce484222325n;
    for (const b of [0x61, 0xff, 0x62, 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    expect(fingerprint({ a: "b" })).toBe(h.toString(16).padStart(16, "0"));
    expect(fingerprint({ x: "1", a: "2" })).toBe(fingerprint({ a: "2", x: "1" }));
    expect(fingerprint({ a: "b" })).not.toBe(fingerprint({ a: "c" }));
  });
});
