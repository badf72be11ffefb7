// SPDX-License-Identifier: Apache-2.0
/**
 * Services in the monitoring views (issue 19), end to end on the real
 * kernel: a client pod reaches a service by its VIP through the socket load
 * balancer (its connections are translated to a backend at connect time, so
 * the flow programs see the backend's address), another pod dials a backend
 * pod straight; the flows API, the TCP API and the service map name the
 * service for both, with bytes equal to the kernel's veth statistics of the
 * client pods and connections equal to what the clients made; followers of
 * the live stream, filtered by service and by pod, receive each record once,
 * in order, and only what their filter asks for.
 *
 * A client outside the cluster (the lab's outside namespace X, on the nodes'
 * subnet) reaches the service at svf-n1's NodePort: the gateway module on
 * svf-n1's eth0 translates its connections to a backend on svf-n2 (SNAT to
 * svf-n1's address); the flows the backends' veths see name the service,
 * with bytes equal to X's own veth statistics.
 *
 * A drop names its service too: B dials a backend of shop/closed whose port
 * nothing listens on; each SYN is dropped by C's kernel (NO_SOCKET), and the
 * drops API shows exactly those, at C, under shop/closed.
 *
 * Pods (lab "svf"): A = n1-p1 (through the VIP), B = n1-p2 (straight to a
 * backend) on svf-n1; the backends C = n2-p1, D = n2-p2 on svf-n2, each
 * running build/tools/lbprobe as a TCP server that answers with its name.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, type Counters, delta, kernelStats } from "../cluster.ts";
import { cgroupPath, inCgroup } from "../lab/cgroup.ts";
import { inNetns } from "../lab/shell.ts";
import type { NodeSpec, OutsideSpec, PodSpec } from "../lab/topology.ts";
import { inPod, killRunning, podView, run, waitListening } from "../lab/traffic.ts";
import { waitFor } from "../procs.ts";
import { kernelMissing } from "./kernel.ts";

const LBPROBE = `${process.cwd()}/build/tools/lbprobe`;
const missing = kernelMissing() ??
  (existsSync(LBPROBE) ? undefined : `${LBPROBE} is not built (npm run setup builds it)`);

const VIP = "10.96.0.10";
const PORT = 80, BACKEND = 8080, NODE_PORT = 30080, CLOSED_PORT = 9;
const VIA_VIP = 20, DIRECT = 10, VIA_GATEWAY = 12, REFUSED = 6;
/** A SYN as the kernel holds it where it drops one that no socket wants: its TCP header with options. */
const SYN_TCP = 40;

interface Endpoint {
  kind: string;
  label: string;
  namespace?: string;
  name?: string;
}
interface Dir {
  packets: number;
  bytes: number;
}
interface ApiFlow {
  source: Endpoint;
  destination: Endpoint;
  service: Endpoint | null;
  port: number;
  forward: Dir;
  reverse: Dir;
}
interface ApiConn {
  local: Endpoint;
  remote: Endpoint;
  service: Endpoint | null;
  role: string;
  opened: number;
}
/** A line of /api/v1/flows/stream (NDJSON). */
interface StreamLine extends ApiFlow {
  type: "flow" | "keepalive" | "dropped";
  seq: number;
  node: string;
}
interface ApiDrop {
  pod: Endpoint | null;
  reason: string;
  service: Endpoint | null;
  packets: number;
  bytes: number;
}
interface MapEdge {
  source: string;
  target: string;
  bytes: number;
  connections: number;
  failures: number;
}

const pickKeys = <T extends object>(o: T, like: T): T =>
  Object.fromEntries(Object.keys(like).map((k) => [k, o[k as keyof T]])) as T;

describe.skipIf(missing)("services named in flows, TCP and the service map, on a two-node lab", () => {
  let c: Cluster;
  let A: PodSpec, B: PodSpec, C: PodSpec, D: PodSpec;
  let n1: NodeSpec;
  let X: OutsideSpec;
  const base = new Map<string, Counters>();
  let t0 = 0;

  const iso = (ms: number) => new Date(ms).toISOString();
  const key = (p: PodSpec) => `pod:lab-${p.netns}`;
  const SVC = "svc:shop/web";

  beforeAll(async () => {
    c = new Cluster({ name: "svf", index: 7, nodes: 2, pods: 2, outside: true, port: 24_000 + (process.pid % 400) });
    n1 = c.node(0);
    X = c.lab.topology.outside!;
    [A, B] = n1.pods;
    [C, D] = c.node(1).pods;
    try {
      await c.startControl();
      await c.createJoinToken();
      for (const node of c.lab.topology.nodes) {
        // svf-n1 is also the gateway: outside clients' packets and the backends' replies both reach its eth0.
        const gateway = { EBPF_K8S_GATEWAY_INTERFACES: "eth0", EBPF_K8S_GATEWAY_ADDRESSES: node.ip };
        c.startAgent(node, undefined, node === n1 ? gateway : {});
        for (const m of node === n1 ? ["lb", "gateway"] : ["lb"]) {
          const res = await c.admin("PUT", `/api/v1/nodes/${c.nodeName(node)}/modules/${m}`, { enabled: true });
          if (!res.ok) throw new Error(`switching ${m} on: ${res.status} ${await res.text()}`);
        }
      }
      for (const b of [C, D]) {
        c.lab.spawnIn(b.netns, [LBPROBE, "serve-tcp", String(BACKEND), b.name], `tcp backend ${b.name}`, b.cgroup);
      }
      for (const b of [C, D]) await waitListening(b, "tcp", BACKEND);
      const res = await c.admin("POST", "/api/v1/services", {
        namespace: "shop",
        name: "web",
        type: "NodePort",
        vip: VIP,
        port: PORT,
        nodePort: NODE_PORT,
        protocol: "TCP",
        backends: [C, D].map((b) => ({ ip: b.ip, port: BACKEND, weight: 1, state: "active" })),
      });
      if (!res.ok) throw new Error(`creating shop/web: ${res.status} ${await res.text()}`);
      const closed = await c.admin("POST", "/api/v1/services", {
        namespace: "shop",
        name: "closed",
        vip: "10.96.0.11",
        port: PORT,
        protocol: "TCP",
        backends: [{ ip: C.ip, port: CLOSED_PORT }],
      });
      if (!closed.ok) throw new Error(`creating shop/closed: ${closed.status} ${await closed.text()}`);
      const { version } = (await closed.json()) as { version: number };
      await waitFor(`both nodes at lb version ${version} with their pods known`, async () => {
        const v = await c.get<{ nodes: { appliedVersion: number | null }[] }>("/api/v1/services");
        const pods = await c.get<{ pods: unknown[] }>("/api/v1/pods");
        const modules = await c.get<{ name: string; state: string }[]>(`/api/v1/nodes/${c.nodeName(n1)}/modules`);
        return v.nodes.length === 2 && v.nodes.every((n) => (n.appliedVersion ?? -1) >= version) &&
          pods.pods.length === 4 && modules.find((m) => m.name === "gateway")?.state === "on";
      }, 60_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${c?.logs()}`);
    }
  }, 120_000);

  afterAll(async () => {
    killRunning();
    await c?.down();
  }, 60_000);

  /**
   * lbprobe's TCP client in `p`'s netns and cgroup (the socket LB acts on sockets by cgroup),
   * or in the outside namespace.
   */
  async function dial(p: PodSpec | OutsideSpec, ip: string, port: number, n: number): Promise<Record<string, number>> {
    const got = await probe(p, ip, port, n);
    expect(got.errors).toEqual({});
    return got.backends;
  }

  async function probe(p: PodSpec | OutsideSpec, ip: string, port: number, n: number) {
    const argv = [LBPROBE, "tcp", ip, String(port), String(n)];
    const out = await run(
      "cgroup" in p ? inPod(p, inCgroup(cgroupPath(p.cgroup), argv)) : inNetns(p.netns, ["timeout", "30", ...argv]),
    );
    return JSON.parse(out.stdout) as { backends: Record<string, number>; errors: Record<string, number> };
  }

  /**
   * A follower of /api/v1/flows/stream with `query`, reading NDJSON lines into
   * `lines` until stopped (fetch's body, line by line: what `curl -N` shows).
   */
  function follow(query: string) {
    const lines: StreamLine[] = [];
    const abort = new AbortController();
    const done = (async () => {
      const res = await fetch(`${c.url}/api/v1/flows/stream?${query}`, { signal: abort.signal });
      expect(res.status, query).toBe(200);
      const decoder = new TextDecoder();
      let held = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        held += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = held.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(held.slice(0, nl)) as StreamLine);
          held = held.slice(nl + 1);
        }
      }
    })().catch((e) => {
      if ((e as Error).name !== "AbortError") throw e;
    });
    return { lines, flows: () => lines.filter((l) => l.type === "flow"), stop: () => (abort.abort(), done) };
  }

  it("flows, TCP rows and the service map name the service, with bytes equal to the veth statistics", async () => {
    // Followers from before the traffic: one of the service, one of B alone.
    const ofService = follow("service=shop/web");
    const ofB = follow(`pod=lab/${B.name}`);
    await waitFor("both followers connected", async () => {
      const text = await (await fetch(`${c.url}/metrics`)).text();
      return /^ebpf_k8s_flow_stream_followers\s+2$/m.test(text);
    }, 10_000);
    for (const p of [A, B]) base.set(p.name, podView(n1, p));
    t0 = Date.now() - 1_000;
    const viaVip = await dial(A, VIP, PORT, VIA_VIP);
    expect(Object.values(viaVip).reduce((a, b) => a + b, 0)).toBe(VIA_VIP);
    expect(await dial(B, C.ip, BACKEND, DIRECT)).toEqual({ [C.name]: DIRECT });
    // The lab is silent but for the test: all A and B sent and received since is these connections.
    const sent = new Map([A, B].map((p) => [p.name, delta(base.get(p.name)!, podView(n1, p))]));

    const q = `since=${iso(t0)}`;
    const of = (fs: ApiFlow[], p: PodSpec) => fs.filter((f) => f.source.label === `lab/${p.name}`);
    const sum = (fs: ApiFlow[], d: "forward" | "reverse") => fs.reduce((s, f) => s + f[d].bytes, 0);
    const flows = await waitFor("the clients' flows reported, whole", async () => {
      const got = (await c.get<{ flows: ApiFlow[] }>(`/api/v1/flows?${q}`)).flows;
      const whole = [A, B].every((p) =>
        sum(of(got, p), "forward") === sent.get(p.name)!.txBytes &&
        sum(of(got, p), "reverse") === sent.get(p.name)!.rxBytes
      );
      return whole ? got : null;
    }, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\nveth: ${JSON.stringify([...sent])}\n${c.logs()}`);
    });
    const web = { kind: "service", label: "shop/web", namespace: "shop", name: "web" };
    for (const p of [A, B]) {
      const rows = of(flows, p);
      expect(rows.length, `${p.name}'s flows`).toBeGreaterThan(0);
      for (const f of rows) {
        expect([f.destination.kind, f.port, f.service], `${p.name} → ${f.destination.label}`).toEqual([
          "pod",
          BACKEND,
          web,
        ]);
      }
    }
    // A's connections went to the backends the socket LB chose, as the probe saw them.
    expect(of(flows, A).map((f) => f.destination.label).sort()).toEqual(
      Object.keys(viaVip).map((n) => `lab/${n}`).sort(),
    );

    const conns = await waitFor("the clients' connections reported", async () => {
      const got = (await c.get<{ connections: ApiConn[] }>(`/api/v1/tcp?${q}`)).connections
        .filter((r) => r.role === "client" && [A, B].some((p) => r.local.label === `lab/${p.name}`));
      const opened = (p: PodSpec) =>
        got.filter((r) => r.local.label === `lab/${p.name}`).reduce((s, r) => s + r.opened, 0);
      return opened(A) === VIA_VIP && opened(B) === DIRECT ? got : null;
    }, 30_000);
    for (const r of conns) expect(r.service, `${r.local.label} → ${r.remote.label}`).toEqual(web);

    const map = await c.get<{ edges: MapEdge[] }>(`/api/v1/servicemap?${q}&service=shop/web`);
    const edge = (s: string, t: string) => map.edges.find((e) => e.source === s && e.target === t);
    const total = (p: PodSpec) => sent.get(p.name)!.txBytes + sent.get(p.name)!.rxBytes;
    expect(edge(key(A), SVC)).toMatchObject({ bytes: total(A), connections: VIA_VIP, failures: 0 });
    expect(edge(key(B), SVC)).toMatchObject({ bytes: total(B), connections: DIRECT, failures: 0 });
    const toBackends = map.edges.filter((e) => e.source === SVC);
    expect(toBackends.map((e) => e.target).sort()).toEqual(
      [...new Set([...Object.keys(viaVip), C.name])].map((n) => key(n === C.name ? C : D)).sort(),
    );
    expect(toBackends.reduce((s, e) => s + e.bytes, 0)).toBe(total(A) + total(B));
    expect(toBackends.reduce((s, e) => s + e.connections, 0)).toBe(VIA_VIP + DIRECT);

    // The stream: every record of the service once (its bytes add up to the veths'), in order, filtered.
    const streamed = (f: { flows: () => StreamLine[] }, p: PodSpec, d: "forward" | "reverse") =>
      f.flows().filter((l) => l.source.label === `lab/${p.name}`).reduce((s, l) => s + l[d].bytes, 0);
    await waitFor(
      "the streams delivered every record",
      async () =>
        [A, B].every((p) =>
          streamed(ofService, p, "forward") === sent.get(p.name)!.txBytes &&
          streamed(ofService, p, "reverse") === sent.get(p.name)!.rxBytes
        ) &&
        streamed(ofB, B, "forward") === sent.get(B.name)!.txBytes,
      20_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(ofService.lines.slice(-20))}`);
    });
    await Promise.all([ofService.stop(), ofB.stop()]);
    for (const f of [ofService, ofB]) {
      const seqs = f.flows().map((l) => l.seq);
      expect(seqs.every((q, i) => i === 0 || q > seqs[i - 1]!), `strictly increasing: ${seqs}`).toBe(true);
      expect(f.lines.filter((l) => l.type === "dropped")).toEqual([]);
    }
    expect(new Set(ofService.flows().map((l) => JSON.stringify(l.service)))).toEqual(new Set([JSON.stringify(web)]));
    expect(new Set(ofB.flows().map((l) => [l.source.label, l.destination.label].includes(`lab/${B.name}`))))
      .toEqual(new Set([true]));
  }, 120_000);

  it("an outside client through the gateway: the backends' flows name the service, with X's bytes", async () => {
    const before = kernelStats(X.netns, "eth0");
    const t1 = Date.now() - 1_000;
    const viaGateway = await dial(X, n1.ip, NODE_PORT, VIA_GATEWAY);
    expect(Object.values(viaGateway).reduce((a, b) => a + b, 0)).toBe(VIA_GATEWAY);
    // X is outside the cluster and silent but for these connections: its veth counts them whole.
    const sent = delta(before, kernelStats(X.netns, "eth0"));

    // The backends see svf-n1's address (the gateway's SNAT), which is no pod: an address outside the pods.
    const q = `since=${iso(t1)}`;
    const snat = (fs: ApiFlow[]) => fs.filter((f) => f.source.label === n1.ip);
    const flows = await waitFor("the gateway's flows reported, whole", async () => {
      const got = snat((await c.get<{ flows: ApiFlow[] }>(`/api/v1/flows?${q}`)).flows);
      const sum = (d: "forward" | "reverse") => got.reduce((s, f) => s + f[d].bytes, 0);
      return sum("forward") === sent.txBytes && sum("reverse") === sent.rxBytes ? got : null;
    }, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\nX's veth: ${JSON.stringify(sent)}\n${c.logs()}`);
    });
    const web = { kind: "service", label: "shop/web", namespace: "shop", name: "web" };
    for (const f of flows) {
      expect([f.source.kind, f.destination.kind, f.port, f.service], `${f.source.label} → ${f.destination.label}`)
        .toEqual(["world", "pod", BACKEND, web]);
    }
    // The backends the gateway chose, as the client saw them.
    expect(flows.map((f) => f.destination.label).sort()).toEqual(Object.keys(viaGateway).map((n) => `lab/${n}`).sort());

    // The gateway's own counters of the service: X's frames both ways, whole.
    const gateway = {
      packetsIn: sent.txPackets,
      bytesIn: sent.txBytes,
      packetsOut: sent.rxPackets,
      bytesOut: sent.rxBytes,
    };
    await waitFor("the gateway's counters reported", async () => {
      const [svc] = (await c.get<{ services: { gateway: typeof gateway }[] }>(`/api/v1/services/shop/web?${q}`))
        .services;
      return JSON.stringify(gateway) === JSON.stringify(pickKeys(svc!.gateway, gateway)) ? svc : null;
    }, 30_000).catch(async (e) => {
      const got = await c.get(`/api/v1/services/shop/web?${q}`);
      throw new Error(`${(e as Error).message}: ${JSON.stringify(got)} against ${JSON.stringify(gateway)}`);
    });

    // The backends' sockets: each connection accepted once, from the node's address, naming the service.
    const accepted = await waitFor("the backends' connections reported", async () => {
      const got = (await c.get<{ connections: ApiConn[] }>(`/api/v1/tcp?${q}`)).connections
        .filter((r) => r.role === "server" && r.remote.label === n1.ip);
      return got.reduce((s, r) => s + r.opened, 0) === VIA_GATEWAY ? got : null;
    }, 30_000);
    for (const r of accepted) expect(r.service, `${r.local.label} ← ${r.remote.label}`).toEqual(web);

    // On the service map: the node's address → the service → the backends, with X's bytes.
    const map = await c.get<{ edges: MapEdge[] }>(`/api/v1/servicemap?${q}&service=shop/web`);
    const from = map.edges.filter((e) => e.target === SVC && e.source.endsWith(n1.ip));
    expect(from.map((e) => e.bytes), JSON.stringify(map.edges)).toEqual([sent.txBytes + sent.rxBytes]);
  }, 60_000);

  it("a drop names its service: SYNs to shop/closed's backend, dropped by C's kernel, exactly", async () => {
    const t2 = Date.now() - 1_000;
    expect((await probe(B, C.ip, CLOSED_PORT, REFUSED)).errors).toEqual({ ECONNREFUSED: REFUSED });
    const q = `since=${iso(t2)}&service=shop/closed`;
    const drops = await waitFor("C's drops reported", async () => {
      const got = (await c.get<{ drops: ApiDrop[] }>(`/api/v1/drops?${q}`)).drops;
      return got.reduce((n, d) => n + d.packets, 0) >= REFUSED ? got : null;
    }, 30_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(await c.get(`/api/v1/drops?since=${iso(t2)}`))}`);
    });
    expect(drops.map((d) => [d.pod?.label, d.reason, d.service?.label, d.packets, d.bytes])).toEqual([
      [`lab/${C.name}`, "NO_SOCKET", "shop/closed", REFUSED, REFUSED * SYN_TCP],
    ]);
    // C's NO_SOCKET drops over the window are these, all of them named shop/closed: none went to another service.
    const atC = (await c.get<{ drops: ApiDrop[] }>(`/api/v1/drops?since=${iso(t2)}&pod=lab/${C.name}`)).drops
      .filter((d) => d.reason === "NO_SOCKET");
    expect(atC.map((d) => [d.service?.label ?? null, d.packets])).toEqual([["shop/closed", REFUSED]]);
  }, 60_000);
});
