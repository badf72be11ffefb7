// SPDX-License-Identifier: Apache-2.0
/**
 * Service load balancing in the kernel (issue 6) on a lab cluster, end to
 * end: services made through the admin API reach the agents, whose cgroup
 * connect/sendmsg/recvmsg/getpeername programs send a client pod's
 * connections to a VIP to the backends, and whose counters come back
 * through the API equal to what the client saw.
 *
 * Pods (lab "lbe"): n1-p1 is the client; the backends are n1-p2 (same node),
 * n2-p1 and n2-p2 (the other node), each running build/tools/lbprobe as a
 * TCP server that answers with its pod name and a UDP echo that prefixes it.
 * Client runs use the same compiled tool, in the client pod's netns and
 * cgroup (the lb programs act on sockets by cgroup).
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maglevTable } from "../../control/wire/maglev.ts";
import type { ServicesView, ServiceView } from "../../control/services/views.ts";
import type { BackendInput, ServiceInput } from "../../control/wire/services.ts";
import { Cluster } from "../cluster.ts";
import { cgroupPath, inCgroup } from "../lab/cgroup.ts";
import type { PodSpec } from "../lab/topology.ts";
import { inPod, killRunning, run, waitListening } from "../lab/traffic.ts";
import { waitFor } from "../procs.ts";
import { kernelMissing } from "./kernel.ts";

const LBPROBE = `${process.cwd()}/build/tools/lbprobe`;
const missing = kernelMissing() ??
  (existsSync(LBPROBE) ? undefined : `${LBPROBE} is not built (npm run setup builds it)`);

const VIP = "10.96.0.10";
const TCP_PORT = 80, UDP_PORT = 53, BACKEND_TCP = 8080, BACKEND_UDP = 8081;

/** What lbprobe prints for a client run. */
interface Probe {
  attempts: number;
  backends: Record<string, number>;
  errors: Record<string, number>;
  peerMismatch: number;
  fromMismatch: number;
}

describe.skipIf(missing)("service load balancing in the kernel on a lab cluster", () => {
  let c: Cluster;
  let client: PodSpec;
  let backends: PodSpec[];

  const logged = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error && c) e.message += `\n${c.logs()}`;
      throw e;
    }
  };

  /** lbprobe run by the client pod: in its netns and its cgroup. */
  async function probe(...args: (string | number)[]): Promise<Probe> {
    const argv = inPod(client, inCgroup(cgroupPath(client.cgroup), [LBPROBE, ...args.map(String)]));
    return JSON.parse((await run(argv)).stdout) as Probe;
  }

  const tcpService = (b: BackendInput[], more: Partial<ServiceInput> = {}) => ({
    namespace: "shop",
    name: "web",
    vip: VIP,
    port: TCP_PORT,
    protocol: "TCP",
    backends: b,
    ...more,
  });
  const backend = (pod: PodSpec, weight = 1, port = BACKEND_TCP): BackendInput => ({
    ip: pod.ip,
    port,
    weight,
    state: "active",
    pod: { namespace: "lab", name: pod.name },
  });

  async function admin(method: string, path: string, body?: unknown): Promise<ServiceView> {
    const res = await c.admin(method, path, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as ServiceView;
  }

  /** Until every node has programmed `version` (they say so by polling with it). */
  async function applied(version: number): Promise<void> {
    await waitFor(`both nodes at lb version ${version}`, async () => {
      const v = await c.get<ServicesView>("/api/v1/services");
      return v.nodes.length === 2 && v.nodes.every((n) => (n.appliedVersion ?? -1) >= version);
    }, 20_000);
  }

  const view = async (path = "shop/web/-") => c.get<ServiceView>(`/api/v1/services/${path}`);

  /** Connections per backend pod name as the API counts them over every node. */
  const counted = (v: ServiceView) =>
    Object.fromEntries(v.backends.filter((b) => b.connections > 0).map((b) => [b.pod!.name, b.connections]));

  /**
   * Until the API's counters have grown by exactly what the client saw
   * (`seen`), from `before`. Every test that dials shop/web ends with this,
   * so the next one's `before` holds everything reported so far.
   */
  async function countersGrewBy(before: ServiceView, seen: Record<string, number>, refused = 0): Promise<void> {
    const want = { ...counted(before) };
    for (const [name, n] of Object.entries(seen)) want[name] = (want[name] ?? 0) + n;
    const total = Object.values(seen).reduce((a, b) => a + b, 0);
    const v = await waitFor("the lb counters reported", async () => {
      const now = await view();
      return now.connections === before.connections + total && now.refused === before.refused + refused ? now : null;
    }, 20_000);
    expect(counted(v)).toEqual(want);
  }

  /** Shares within ±10 % of what was expected (relative to the expected share). */
  function expectSpread(seen: Record<string, number>, expected: Record<string, number>, n: number): void {
    expect(Object.keys(seen).sort()).toEqual(Object.keys(expected).filter((k) => expected[k] > 0).sort());
    for (const [name, share] of Object.entries(expected)) {
      if (share === 0) continue;
      expect(Math.abs((seen[name] ?? 0) / n - share) / share, `${name}: ${seen[name]} of ${n}, expected share ${share}`)
        .toBeLessThanOrEqual(0.1);
    }
  }

  beforeAll(async () => {
    c = new Cluster({ name: "lbe", index: 14, nodes: 2, pods: 2, port: 20_500 + (process.pid % 400) });
    client = c.node(0).pods[0];
    backends = [c.node(0).pods[1], c.node(1).pods[0], c.node(1).pods[1]];
    try {
      await c.startControl();
      await c.createJoinToken();
      for (const node of c.lab.topology.nodes) {
        c.startAgent(node);
        const res = await c.admin("PUT", `/api/v1/nodes/${c.nodeName(node)}/modules/lb`, { enabled: true });
        if (!res.ok) throw new Error(`switching lb on: ${res.status} ${await res.text()}`);
      }
      for (const b of backends) {
        c.lab.spawnIn(b.netns, [LBPROBE, "serve-tcp", String(BACKEND_TCP), b.name], `tcp backend ${b.name}`, b.cgroup);
        c.lab.spawnIn(b.netns, [LBPROBE, "serve-udp", String(BACKEND_UDP), b.name], `udp backend ${b.name}`, b.cgroup);
      }
      for (const b of backends) await waitListening(b, "tcp", BACKEND_TCP);
      await waitFor("the lb module on at both nodes", async () => {
        const states = await Promise.all(
          c.lab.topology.nodes.map(async (n) =>
            (await c.get<{ name: string; state: string }[]>(`/api/v1/nodes/${c.nodeName(n)}/modules`)).find((m) =>
              m.name === "lb"
            )?.state
          ),
        );
        return states.every((s) => s === "on");
      }, 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${c?.logs()}`);
    }
  }, 90_000);

  afterAll(async () => {
    killRunning();
    await c?.down();
  }, 60_000);

  it(
    "spreads 3,000 connections to the VIP within ±10 % of the backends' weights; each sees the VIP as its peer; the API counts each one",
    logged(async () => {
      const [b1, b2, b3] = backends;
      const created = await admin(
        "POST",
        "/api/v1/services",
        tcpService([backend(b1, 1), backend(b2, 1), backend(b3, 2)]),
      );
      await applied(created.version);
      const before = await view();

      const seen = await probe("tcp", VIP, TCP_PORT, 3000);
      expect(seen.errors).toEqual({});
      expect(seen.peerMismatch, "getpeername() returned something else than the VIP").toBe(0);
      expect(Object.values(seen.backends).reduce((a, b) => a + b, 0)).toBe(3000);
      expectSpread(seen.backends, { [b1.name]: 0.25, [b2.name]: 0.25, [b3.name]: 0.5 }, 3000);
      await countersGrewBy(before, seen.backends);
    }),
    60_000,
  );

  it(
    "answers UDP from the VIP: replies come back with the VIP as their source",
    logged(async () => {
      const created = await admin("POST", "/api/v1/services", {
        namespace: "shop",
        name: "dns",
        vip: VIP,
        port: UDP_PORT,
        protocol: "UDP",
        backends: backends.map((b) => backend(b, 1, BACKEND_UDP)),
      });
      await applied(created.version);
      const seen = await probe("udp", VIP, UDP_PORT, 300);
      expect(seen.errors).toEqual({});
      expect(seen.fromMismatch, "replies whose source was not the VIP").toBe(0);
      expect(Object.values(seen.backends).reduce((a, b) => a + b, 0)).toBe(300);
      // each datagram of an unconnected socket is balanced on its own
      expect(Object.keys(seen.backends).sort()).toEqual(backends.map((b) => b.name).sort());
    }),
    60_000,
  );

  it(
    "pins a client to one backend with client affinity",
    logged(async () => {
      const changed = await admin(
        "PUT",
        "/api/v1/services/shop/web",
        tcpService(backends.map((b) => backend(b)), { affinity: "client", affinityTimeoutS: 600 }),
      );
      await applied(changed.version);
      const before = await view();
      const seen = await probe("tcp", VIP, TCP_PORT, 200);
      expect(seen.errors).toEqual({});
      expect(Object.values(seen.backends), JSON.stringify(seen.backends)).toEqual([200]);
      const pinned = Object.keys(seen.backends)[0];
      const again = await probe("tcp", VIP, TCP_PORT, 50);
      expect(again.backends).toEqual({ [pinned]: 50 });
      await countersGrewBy(before, { [pinned]: 250 });
    }),
    60_000,
  );

  it(
    "removing one backend moves only its share: the others keep their Maglev slots and the connections follow the new table",
    logged(async () => {
      const all = backends.map((b) => backend(b));
      const before = await admin("PUT", "/api/v1/services/shop/web", tcpService(all));
      await applied(before.version);
      const gone = backends[2];
      const after = await admin("PUT", "/api/v1/services/shop/web", tcpService(all.filter((b) => b.ip !== gone.ip)));
      await applied(after.version);
      expect(after.tableSize, "the table keeps its size").toBe(before.tableSize);

      const table = (v: ServiceView) =>
        maglevTable(
          v.backends.filter((b) => b.state === "active").map((b) => ({
            id: b.id,
            key: `${b.ip}:${b.port}`,
            weight: b.weight,
          })),
          v.tableSize,
        );
      const [t0, t1] = [table(before), table(after)];
      const goneId = before.backends.find((b) => b.ip === gone.ip)!.id;
      let moved = 0, others = 0;
      for (let i = 0; i < t0.length; i++) {
        if (t0[i] === goneId) continue;
        others++;
        if (t1[i] !== t0[i]) moved++;
      }
      expect(moved / others, "slots of the remaining backends that changed owner").toBeLessThan(0.05);

      const counts = await view();
      const seen = await probe("tcp", VIP, TCP_PORT, 3000);
      expect(seen.errors).toEqual({});
      await countersGrewBy(counts, seen.backends);
      const slots = (pod: PodSpec) =>
        t1.filter((id) => id === after.backends.find((b) => b.ip === pod.ip)!.id).length / t1.length;
      expectSpread(seen.backends, Object.fromEntries(backends.slice(0, 2).map((p) => [p.name, slots(p)])), 3000);
    }),
    60_000,
  );

  it(
    "sends no new connection to a terminating backend",
    logged(async () => {
      const [b1, b2] = backends;
      const changed = await admin("PATCH", `/api/v1/services/shop/web/-/backends/${b2.ip}:${BACKEND_TCP}`, {
        state: "terminating",
      });
      await applied(changed.version);
      const before = await view();
      const seen = await probe("tcp", VIP, TCP_PORT, 300);
      expect(seen.errors).toEqual({});
      expect(seen.backends).toEqual({ [b1.name]: 300 });
      await countersGrewBy(before, seen.backends);
    }),
    60_000,
  );

  it(
    "refuses at once (ECONNREFUSED, not a timeout) when no backend is usable, and counts the refusals",
    logged(async () => {
      const emptied = await admin("PUT", "/api/v1/services/shop/web", tcpService([]));
      await applied(emptied.version);
      const before = await view();
      const seen = await probe("tcp", VIP, TCP_PORT, 5);
      expect(seen.errors).toEqual({ ECONNREFUSED: 5 });
      await countersGrewBy(before, {}, 5);
    }),
    60_000,
  );
});
