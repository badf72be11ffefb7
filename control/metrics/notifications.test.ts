// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { alertReceivers } from "../db/schema.ts";
import { AS_ADMIN, send, useTestApp } from "../test-support.ts";
import { METRIC_LABELS } from "../wire/metric-labels.ts";
import { parseExposition, valueOf } from "./parse.test-support.ts";

const s = useTestApp();

describe("GET /metrics: alert notifications", () => {
  it("counts each receiver's outcomes from its row and its pending notifications, with allowed labels only", async () => {
    await send(s.app, "POST", "/api/v1/receivers", { name: "team", url: "http://127.0.0.1:9/" }, AS_ADMIN);
    await s.db.update(alertReceivers).set({ delivered: 7, failedAttempts: 3, gaveUp: 1 });
    const { samples, types } = parseExposition(await (await s.app.request("/metrics")).text());
    const total = "ebpf_k8s_alert_notifications_total";
    expect(types.get(total)).toBe("counter");
    expect(valueOf(samples, total, { receiver: "team", outcome: "delivered" })).toBe(7);
    expect(valueOf(samples, total, { receiver: "team", outcome: "failed" })).toBe(3);
    expect(valueOf(samples, total, { receiver: "team", outcome: "gave_up" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_alert_notifications_pending", { receiver: "team" })).toBe(0);
    const mine = samples.filter((x) => x.name.startsWith("ebpf_k8s_alert_notifications"));
    for (const x of mine) for (const k of Object.keys(x.labels)) expect(METRIC_LABELS).toContain(k);
  });
});
