// SPDX-License-Identifier: Apache-2.0
/**
 * Two control-plane replicas (real processes) on one libSQL file behind a
 * TCP balancer (a stand-in for the Service), with a two-node lab whose
 * agents push one to each replica, and a Kubernetes API both follow:
 *
 * - exactly one replica holds the lease and runs the once-only work (only it
 *   lists Kubernetes); both serve reads, ingest, /readyz and long polls (a
 *   change made through one reaches a poll waiting on the other);
 * - kill -9 of the holder under traffic: the other takes over within two
 *   lease periods; an alert whose hold spans the kill fires exactly once (its
 *   hold continued across the take-over); interface totals stay exact, and
 *   the rolled-up minutes sum to exactly the raw rows (no double counting).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeKubeApi, fakeKubeApi } from "../../control/kube/fake-api.test-support.ts";
import { endpoint, kubeService, slice } from "../../control/kube/fixtures.test-support.ts";
import { parseExposition, type Sample } from "../../control/metrics/parse.test-support.ts";
import { ROLLED_BIT } from "../../control/monitoring-store/layouts.ts";
import { Cluster, pingArgs } from "../cluster.ts";
import type { NodeSpec, PodSpec } from "../lab/topology.ts";
import { controlArgv, type Proc, start, waitFor } from "../procs.ts";
import { type Balancer, tcpBalancer } from "./balancer.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing();
const run = promisify(execFile);

const LEASE_S = 3;
/** The alert's hold: begun before the kill, over well after the take-over. */
const HOLD_S = 15;
const PORT = 22_000 + (process.pid % 300) * 3; // the balancer; the replicas on the next two ports
const SIZE = 400;
const FRAME = SIZE + 42;

/** N pings from a pod, 50 ms apart, without blocking this process (the balancer runs in it). */
async function pingAsync(from: PodSpec, to: string, n: number): Promise<void> {
  await run("ip", pingArgs(from, to, n, SIZE, 0.05));
}

interface Replica {
  proc: Proc;
  url: string;
  id: string;
}

describe.skipIf(missing)("two control-plane replicas on one libSQL file", () => {
  let c: Cluster;
  let kube: FakeKubeApi;
  let balancer: Balancer | undefined;
  const replicas: Replica[] = [];
  let sent = 0;
  let thresholdId = "";
  let killedAt = 0;
  let tookOverAt = 0;

  const dbUrl = () => `file:${c.dir}/db.sqlite`;
  const podVethToo = (node: NodeSpec) => ["eth0", "cni0", node.pods[0].hostVeth];
  const kubeLists = () => kube.requests.filter((r) => r === "services list").length;

  async function startReplica(port: number): Promise<Replica> {
    const proc = start(`control :${port}`, controlArgv(), {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: dbUrl(),
      EBPF_K8S_ADMIN_TOKEN: c.adminToken,
      EBPF_K8S_LEASE: `${LEASE_S}s`,
      EBPF_K8S_LEASE_RENEW: `${LEASE_S / 3}s`,
      EBPF_K8S_MAINTENANCE_INTERVAL: "2s",
      EBPF_K8S_ALERT_INTERVAL: "1s",
      EBPF_K8S_KUBE_API: kube.url,
      EBPF_K8S_KUBE_TOKEN: kube.token,
    });
    const url = `http://127.0.0.1:${port}`;
    const ready = await waitFor(`${proc.name} ready`, async () => {
      const res = await fetch(`${url}/readyz`);
      return res.ok && ((await res.json()) as { lease: { self: { replica: string } } });
    }, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${proc.output()}`);
    });
    return { proc, url, id: ready.lease.self.replica };
  }

  async function metricsOf(r: Replica): Promise<Sample[]> {
    return parseExposition(await (await fetch(`${r.url}/metrics`)).text()).samples;
  }
  const heldBy = async (r: Replica) =>
    (await metricsOf(r)).find((s) => s.name === "ebpf_k8s_lease_held" && s.labels.replica === r.id)?.value === 1;
  const holderSays = async (r: Replica) =>
    (await metricsOf(r)).filter((s) => s.name === "ebpf_k8s_lease_holder_info").map((s) => s.labels.replica);

  const admin = (r: Replica, method: string, path: string, body?: unknown) =>
    fetch(`${r.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const logs = () =>
    [c.logs(), ...replicas.map((r) => `--- ${r.proc.name}:\n${r.proc.output().slice(-4000)}`)].join("\n");

  beforeAll(async () => {
    c = new Cluster({ name: "rep", index: 3, nodes: 2, pods: 1, port: PORT });
    kube = await fakeKubeApi("kube-token-for-the-replicas-test");
    kube.lists.services = {
      rv: "10",
      items: [
        kubeService("default", "kweb", "10.96.0.20", [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }]),
      ],
    };
    kube.lists.endpointslices = {
      rv: "10",
      items: [
        slice("default", "kweb", "kweb-1", [{ name: "http", port: 8080, protocol: "TCP" }], [
          endpoint("10.244.1.5", "kweb-a"),
        ]),
      ],
    };
    // The first replica takes the lease before the second starts: which one holds it is known.
    replicas.push(await startReplica(PORT + 1));
    await waitFor("the first replica holds the lease", () => heldBy(replicas[0]!), 20_000);
    replicas.push(await startReplica(PORT + 2));
    // Node n1's agent goes to the first replica, everything else to the second, each to the other when it is down.
    const n1 = c.node(0).ip;
    balancer = await tcpBalancer(
      "0.0.0.0",
      PORT,
      [PORT + 1, PORT + 2],
      (addr) => (addr.replace(/^::ffff:/, "") === n1 ? 0 : 1),
    );
    await c.createJoinToken();
    for (const node of c.lab.topology.nodes) c.startAgent(node, podVethToo(node));
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) await r.proc.stop();
    await c?.down();
    await balancer?.close();
    await kube?.close();
  });

  /** The pod veths of both nodes show exactly `sent` packets each way, read through replica `r`. */
  async function expectExactTotals(r: Replica, what: string) {
    const [n1, n2] = [c.node(0), c.node(1)];
    const veth = async (node: NodeSpec) => {
      const ifs = (await (await fetch(`${r.url}/api/v1/nodes/${c.nodeName(node)}/interfaces`)).json()) as {
        ifname: string;
        rxPackets: number;
        rxBytes: number;
        txPackets: number;
        txBytes: number;
      }[];
      return ifs.find((i) => i.ifname === node.pods[0].hostVeth);
    };
    let last: unknown;
    await waitFor(what, async () => {
      const [a, b] = [await veth(n1), await veth(n2)];
      last = { a, b };
      return a?.rxPackets === sent && b?.rxPackets === sent;
    }, 60_000).catch((e) => {
      throw new Error(`${e.message}\nlast: ${JSON.stringify(last)}\n${logs()}`);
    });
    const want = { rxPackets: sent, rxBytes: sent * FRAME, txPackets: sent, txBytes: sent * FRAME };
    expect(await veth(n1)).toMatchObject(want);
    expect(await veth(n2)).toMatchObject(want);
  }

  it("one replica holds the lease and alone runs the once-only work; both serve everything", async () => {
    const [a, b] = replicas as [Replica, Replica];
    expect(a.id).not.toBe(b.id);
    expect([await heldBy(a), await heldBy(b)]).toEqual([true, false]);
    expect(await holderSays(a)).toEqual([a.id]);
    expect(await holderSays(b)).toEqual([a.id]);
    expect(await (await fetch(`${b.url}/`)).text()).toContain(`runs on replica <code>${a.id}</code>`);
    // Only the holder follows Kubernetes, and its services are in the database for both.
    await waitFor("the Kubernetes service synced", async () => {
      const list = (await (await fetch(`${b.url}/api/v1/services`)).json()) as { services: { name: string }[] };
      return list.services.some((s) => s.name === "kweb");
    }, 20_000);
    expect(kubeLists()).toBe(1);

    // Ingest on both: each node's agent pushes to its own replica; both replicas read both nodes.
    await waitFor("both nodes Ready on both replicas", async () => {
      for (const r of replicas) {
        const nodes = (await (await fetch(`${r.url}/api/v1/nodes`)).json()) as { name: string; status: string }[];
        if (nodes.filter((n) => n.status === "Ready").length !== 2) return false;
      }
      return true;
    }, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    await pingAsync(c.node(0).pods[0], c.node(1).pods[0].ip, 30);
    sent += 30;
    await expectExactTotals(b, "totals through the standby");

    // A long poll waiting on the standby wakes for a change made through the holder.
    const token =
      ((await (await admin(b, "POST", "/api/v1/join-tokens", { ttlSeconds: 600 })).json()) as { token: string }).token;
    const joined = await fetch(`${b.url}/api/v1/join`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, node: "rep-poller" }),
    });
    const credential = ((await joined.json()) as { credential: string }).credential;
    const poll = (query: string) =>
      fetch(`${b.url}/api/v1/lb/state${query}`, { headers: { authorization: `Bearer ${credential}` } });
    const { version } = (await (await poll("?wait=0")).json()) as { version: number };
    const waiting = poll(`?after=${version}&wait=30`);
    await new Promise((r) => setTimeout(r, 500));
    const created = await admin(a, "POST", "/api/v1/services", {
      namespace: "default",
      name: "aweb",
      portName: "http",
      vip: "10.96.0.21",
      port: 80,
      protocol: "TCP",
      backends: [{ ip: "10.244.2.7", port: 8080 }],
    });
    expect(created.status).toBe(201);
    const madeAt = Date.now();
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { version: number }).version).toBe(version + 1);
    // Woken by the change, not by its 30 s wait (a bound far from both, so a loaded machine cannot fail it).
    expect(Date.now() - madeAt).toBeLessThan(15_000);
    for (const r of replicas) expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it("kill -9 of the holder under traffic: the other takes over within two lease periods", async () => {
    const [a, b] = replicas as [Replica, Replica];
    // Out of its limits from the first evaluation on (a heartbeat is never 1000 s old here); the hold spans the kill.
    const t = await admin(b, "POST", "/api/v1/thresholds", {
      metric: "heartbeatAgeSeconds",
      scope: { kind: "node", target: c.nodeName(c.node(1)) },
      lower: 1000,
      holdSeconds: HOLD_S,
      description: "replicas test",
    });
    expect(t.status).toBe(201);
    thresholdId = ((await t.json()) as { id: string }).id;
    const traffic = pingAsync(c.node(0).pods[0], c.node(1).pods[0].ip, 100); // 5 s, through the kill
    await new Promise((r) => setTimeout(r, 3_000)); // the first replica has begun the hold (alerts every 1 s)
    a.proc.kill("SIGKILL");
    killedAt = Date.now();
    await a.proc.stop();
    await waitFor("the second replica holds the lease", () => heldBy(b), 4 * LEASE_S * 1000).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    tookOverAt = Date.now();
    expect(tookOverAt - killedAt).toBeLessThan(2 * LEASE_S * 1000);
    expect(await holderSays(b)).toEqual([b.id]);
    await traffic;
    sent += 100;
    // The new holder follows Kubernetes now: one list of its own, and no change to what the first one wrote.
    await waitFor("the new holder listed Kubernetes", async () => kubeLists() === 2, 10_000);
    await pingAsync(c.node(0).pods[0], c.node(1).pods[0].ip, 20);
    sent += 20;
    await expectExactTotals(b, "totals after the take-over");
  }, 120_000);

  it("the alert whose hold spans the take-over fires exactly once", async () => {
    const b = replicas[1]!;
    type Alert = { thresholdId: string; breachedSince: string; firedAt: string; state: string };
    const alertsOf = async () =>
      (await (await fetch(`${b.url}/api/v1/alerts?state=all&threshold=${thresholdId}`)).json()) as Alert[];
    await waitFor("the alert", async () => (await alertsOf()).length > 0, 30_000);
    await new Promise((r) => setTimeout(r, 3_000)); // a few more evaluations: still one
    const alerts = await alertsOf();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.state).toBe("active");
    // The hold began on the first replica and ended, HOLD_S on, on the second: carried across, not restarted.
    expect(Date.parse(alerts[0]!.breachedSince)).toBeLessThan(killedAt);
    expect(Date.parse(alerts[0]!.firedAt)).toBeGreaterThanOrEqual(tookOverAt - 1_000);
    expect(Date.parse(alerts[0]!.firedAt) - Date.parse(alerts[0]!.breachedSince)).toBeLessThan((HOLD_S + 3) * 1000);
  }, 60_000);

  it("the rolled-up minutes add up to exactly the raw rows and the totals", async () => {
    for (const agent of c.agents.values()) await agent.stop(); // the last batches land
    const db = createClient({ url: dbUrl() });
    try {
      const one = async (sql: string, args: (string | number)[] = []) =>
        (await db.execute({ sql, args })).rows.map((r) => ({ ...r }));
      await waitFor("every raw row rolled into the minutes", async () => {
        const [left] = await one(`SELECT count(*) AS n FROM interface_history WHERE rolled & ? = 0`, [
          ROLLED_BIT["1m"],
        ]);
        return Number(left!.n) === 0;
      }, 30_000);
      const raw = await one(
        "SELECT node, sum(rx_packets) AS rx, sum(rx_bytes) AS rxb, sum(tx_packets) AS tx, sum(tx_bytes) AS txb " +
          "FROM interface_history GROUP BY node ORDER BY node",
      );
      const minutes = await one(
        "SELECT node, sum(rx_packets) AS rx, sum(rx_bytes) AS rxb, sum(tx_packets) AS tx, sum(tx_bytes) AS txb " +
          "FROM interface_stats WHERE level = '1m' AND ifname = '' GROUP BY node ORDER BY node",
      );
      expect(raw.map((r) => r.node)).toEqual(["rep-n1", "rep-n2"]);
      expect(minutes).toEqual(raw);
      for (const node of [c.node(0), c.node(1)]) {
        const [veth] = await one(
          "SELECT sum(rx_packets) AS rx, sum(rx_bytes) AS rxb FROM interface_stats WHERE level = '1m' AND node = ? AND ifname = ?",
          [c.nodeName(node), node.pods[0].hostVeth],
        );
        expect({ rx: Number(veth!.rx), rxb: Number(veth!.rxb) }).toEqual({ rx: sent, rxb: sent * FRAME });
      }
    } finally {
      db.close();
    }
  }, 60_000);
});
