// SPDX-License-Identifier: Apache-2.0
/**
 * Alert notifications end to end, with real processes: a control plane
 * (scripts/e2e/control-process.ts: its own database, fed real batches over
 * HTTP as a node's agent feeds it) and a webhook receiver process
 * (scripts/e2e/webhook-receiver.mjs) that appends every POST it gets to a
 * file. A threshold on node-a's RX rate fires on the batches sent and
 * resolves on the next ones. After each step the receiver's file holds
 * exactly one firing per alert and one resolution per resolved alert (by
 * the alert's startsAt and status, from the API's list of alerts), through
 * a receiver down and back, a control-plane restart (SIGTERM) with events
 * pending, and a receiver answering 500 before 200; then a thousand events,
 * every one delivered once and the outbox pruned.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlProcess } from "../../scripts/e2e/control-process.ts";
import { type Proc, start, waitFor } from "../../scripts/procs.ts";
import type { AlertView } from "../alerts/alerts.ts";
import { iface, T0 } from "../test-support.ts";
import type { NotificationView } from "./deliveries.ts";
import { freePort } from "./receiver.test-support.ts";
import type { WebhookMessage } from "./payload.ts";

/** Fast settings: evaluation and delivery several times a second, retries from 0.3 s up to 1 s. */
const FAST = {
  EBPF_K8S_ALERT_INTERVAL: "0.2s",
  EBPF_K8S_NOTIFY_INTERVAL: "0.2s",
  EBPF_K8S_NOTIFY_RETRY_MIN: "0.3s",
  EBPF_K8S_NOTIFY_RETRY_MAX: "1s",
  EBPF_K8S_NOTIFY_TIMEOUT: "2s",
};
const STEP_MS = 120_000;

interface Post {
  status: number;
  headers: Record<string, string>;
  body: WebhookMessage;
}

/** The receiver process on a fixed port, so it can go down and come back where the control plane sends. */
class Receiver {
  proc?: Proc;
  constructor(readonly port: number, readonly file: string) {}

  async start(answers: number[] = []) {
    const argv = ["node", "scripts/e2e/webhook-receiver.mjs", String(this.port), this.file, answers.join(",")];
    const proc = this.proc = start("receiver", argv);
    await waitFor("the receiver to listen", async () => proc.output().includes("receiver listening"), 20_000);
  }

  async stop() {
    await this.proc?.stop();
    this.proc = undefined;
  }

  posts(): Post[] {
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return [];
    }
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }

  /** Delivered events (answered 2xx), by "startsAt status fingerprint". */
  delivered(): string[] {
    return this.posts().filter((p) => p.status < 300).map((p) => eventKey(p.body.alerts[0]!));
  }
}

const eventKey = (a: { startsAt: string; status: string; fingerprint: string }) =>
  `${a.startsAt} ${a.status} ${a.fingerprint}`;

/** A node's agent: batches one second apart (agent clock), RX counted so far. */
function agent(cp: () => ControlProcess, node: string) {
  let seq = 0, rx = 0;
  return (rxDelta: number) => {
    seq++;
    rx += rxDelta;
    return cp().postBatch({ node, seq, ts: T0 + seq * 1_000, interfaces: [iface({ rxBytes: rx })] });
  };
}

describe("alert notifications to a real receiver process", () => {
  let dir: string;
  let cp: ControlProcess;
  let rx: Receiver;
  let thresholdId: string;
  const send = agent(() => cp, "node-a");

  const alerts = async () => (await cp.call("GET", `/api/v1/alerts?state=all&threshold=${thresholdId}`)) as AlertView[];
  const records = async (q = "") => (await cp.call("GET", `/api/v1/notifications${q}`)) as NotificationView[];
  /** The events the alerts call for: each alert's firing, and its resolution once resolved. */
  const expected = async () => {
    const all = await alerts();
    const fp = all.length === 0 ? "" : rx.posts()[0]?.body.alerts[0]?.fingerprint ?? "";
    return all.flatMap((a) => [
      `${a.firedAt} firing ${fp}`,
      ...(a.state === "resolved" ? [`${a.firedAt} resolved ${fp}`] : []),
    ]).sort();
  };
  /** Waits until nothing is pending, then: every event delivered, none twice. */
  const exactlyOnce = async () => {
    await waitFor("nothing pending", async () => (await records("?state=pending")).length === 0, STEP_MS);
    const delivered = rx.delivered();
    expect(new Set(delivered).size, "nothing delivered twice").toBe(delivered.length);
    expect(delivered.sort()).toEqual(await expected());
  };
  const fire = async () => {
    const before = (await alerts()).length;
    await send(100_000); // 100,000 B/s
    await waitFor("the alert to fire", async () => (await alerts()).length === before + 1, STEP_MS);
  };
  const resolve = async () => {
    await send(10); // 10 B/s
    await waitFor("the alert to resolve", async () => (await alerts()).every((a) => a.state === "resolved"), STEP_MS);
  };

  beforeAll(async () => {
    dir = mkdtempSync(`${tmpdir()}/ek8s-notify-`);
    rx = new Receiver(await freePort(), `${dir}/posts.jsonl`);
    await rx.start();
    cp = await ControlProcess.start("notify", FAST);
    await cp.call("POST", "/api/v1/receivers", {
      name: "proc-rx",
      url: `http://127.0.0.1:${rx.port}/hook`,
      bearerToken: "receiver-token-1",
    });
    thresholdId = (await cp.call("POST", "/api/v1/thresholds", {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      upper: 1_000,
      holdSeconds: 0,
    })).id;
    await send(0);
  });

  afterAll(async () => {
    await rx?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the first start made the default thresholds", async () => {
    const list = (await cp.call("GET", "/api/v1/thresholds")) as { metric: string; description: string }[];
    expect(list.filter((t) => t.description?.includes("(default threshold)")).map((t) => t.metric)).toEqual([
      "heartbeatAgeSeconds",
      "dropsPerSec",
    ]);
  });

  it("fires and resolves: one POST each, Alertmanager's payload with the receiver's token", async () => {
    await fire();
    await resolve();
    await exactlyOnce();
    const [firing, resolved] = rx.posts();
    expect(firing!.headers.authorization).toBe("Bearer receiver-token-1");
    expect(firing!.body).toMatchObject({
      version: "4",
      status: "firing",
      receiver: "proc-rx",
      truncatedAlerts: 0,
      externalURL: cp.url,
      groupLabels: { alertname: "EbpfK8sRxBytesPerSecHigh" },
    });
    expect(firing!.body.alerts[0]).toMatchObject({
      status: "firing",
      labels: { alertname: "EbpfK8sRxBytesPerSecHigh", node: "node-a", severity: "warning", threshold_id: thresholdId },
      annotations: { summary: "RX bytes/s above 1000 B/s on node node-a" },
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: `${cp.url}/alerts?node=node-a`,
    });
    expect(resolved!.body.alerts[0]).toMatchObject({
      status: "resolved",
      fingerprint: firing!.body.alerts[0]!.fingerprint,
    });
    expect(Date.parse(resolved!.body.alerts[0]!.endsAt)).toBeGreaterThan(Date.parse(firing!.body.alerts[0]!.startsAt));
    await new Promise((r) => setTimeout(r, 1_000)); // a few more runs of the deliverer: nothing again
    expect(rx.posts()).toHaveLength(2);
  }, STEP_MS);

  it("a receiver down: the event waits and is retried; back, it is delivered once", async () => {
    await rx.stop();
    await fire();
    await waitFor("retries", async () => (await records("?state=pending"))[0]?.attempts! >= 2, STEP_MS);
    const [waiting] = await records("?state=pending");
    expect(waiting!.attemptLog.every((a) => a.httpStatus === null && a.error !== null)).toBe(true);
    await rx.start();
    await resolve();
    await exactlyOnce();
    const [record] = await records(`?alert=${waiting!.alertId}`).then((r) => r.filter((n) => n.status === "firing"));
    expect(record!.state).toBe("delivered");
    expect(record!.attempts, "the failed attempts and the delivery").toBeGreaterThan(waiting!.attempts);
    expect(record!.attemptLog.map((a) => a.httpStatus)).toEqual([...Array(record!.attempts - 1).fill(null), 200]);
  }, STEP_MS);

  it("a control-plane restart with events pending: each sent once after it, nothing delivered sent again", async () => {
    await rx.stop();
    await fire();
    await waitFor("a failed attempt", async () => (await records("?state=pending"))[0]?.attempts! >= 1, STEP_MS);
    const sentBefore = rx.posts().length;
    expect(await cp.restart(), "SIGTERM: a clean exit").toBe(0);
    await rx.start();
    await resolve();
    await exactlyOnce();
    expect(rx.posts().length - sentBefore, "the pending firing and the resolution").toBe(2);
  }, STEP_MS);

  it("a receiver answering 500 then 200: one delivery record with both attempts", async () => {
    await rx.stop();
    await rx.start([500]);
    await fire();
    await exactlyOnce();
    const firing = (await records()).filter((n) => n.status === "firing");
    expect(firing[0]).toMatchObject({ state: "delivered", attempts: 2 });
    expect(firing[0]!.attemptLog.map((a) => a.httpStatus)).toEqual([500, 200]);
    expect(rx.posts().filter((p) => eventKey(p.body.alerts[0]!) === rx.delivered().at(-1))).toHaveLength(2);
    await resolve();
    await exactlyOnce();
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    const delivered = rx.delivered().length;
    expect(metrics).toContain(
      `ebpf_k8s_alert_notifications_total{receiver="proc-rx",outcome="delivered"} ${delivered}`,
    );
    expect(metrics).toContain(`ebpf_k8s_alert_notifications_pending{receiver="proc-rx"} 0`);
  }, STEP_MS);
});

describe("the thousandth notification", () => {
  const NODES = 10, THRESHOLDS = 10, CYCLES = 5; // 100 alerts a cycle, each firing and resolving: 1,000 events
  let dir: string;
  let cp: ControlProcess;
  let rx: Receiver;

  beforeAll(async () => {
    dir = mkdtempSync(`${tmpdir()}/ek8s-notify-1000-`);
    rx = new Receiver(await freePort(), `${dir}/posts.jsonl`);
    await rx.start();
    cp = await ControlProcess.start("notify-1000", { ...FAST, EBPF_K8S_NOTIFY_RETENTION: "2s" });
  });

  afterAll(async () => {
    await rx?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("1,000 firings and resolutions: each delivered once, the outbox pruned after", async () => {
    await cp.call("POST", "/api/v1/receivers", { name: "bulk", url: `http://127.0.0.1:${rx.port}/hook` });
    for (let n = 0; n < NODES; n++) await agent(() => cp, `node-${n}`)(0);
    // A heartbeat older than 0 s: every node is out as soon as the threshold is on; switching it off resolves.
    const body = (enabled: boolean) => ({
      metric: "heartbeatAgeSeconds",
      scope: { kind: "all" },
      upper: 0,
      holdSeconds: 0,
      enabled,
    });
    const ids: string[] = [];
    for (let t = 0; t < THRESHOLDS; t++) ids.push((await cp.call("POST", "/api/v1/thresholds", body(false))).id);
    const active = async () => (await cp.call("GET", "/api/v1/alerts?state=active&limit=5000")).length;
    for (let c = 0; c < CYCLES; c++) {
      for (const id of ids) await cp.call("PUT", `/api/v1/thresholds/${id}`, body(true));
      await waitFor("every node out on every threshold", async () => (await active()) === NODES * THRESHOLDS, STEP_MS);
      for (const id of ids) await cp.call("PUT", `/api/v1/thresholds/${id}`, body(false));
      expect(await active()).toBe(0);
    }
    const events = NODES * THRESHOLDS * CYCLES * 2;
    await waitFor("every event at the receiver", async () => rx.delivered().length >= events, 4 * STEP_MS);
    await waitFor(
      "the outbox pruned",
      async () => (await cp.call("GET", "/api/v1/notifications?limit=5000")).length === 0,
      STEP_MS,
    );
    const delivered = rx.delivered();
    expect(delivered).toHaveLength(events);
    expect(new Set(delivered).size).toBe(events);
    expect(delivered.filter((k) => k.includes(" resolved "))).toHaveLength(events / 2);
    const [receiver] = await cp.call("GET", "/api/v1/receivers");
    expect(receiver).toMatchObject({ delivered: events, pending: 0, gaveUp: 0 });
  }, 6 * STEP_MS);
});
