// SPDX-License-Identifier: Apache-2.0
/**
 * DNS visibility (issue 20) end to end on the real kernel, through the real
 * agents and the real control plane, read from GET /api/v1/dns only: a
 * resolver pod (Debian's dnsmasq serving a zone the test writes), clients on
 * its node and on the other node asking with dig, UDP and TCP, of several
 * query types, names that do not exist, a server answering SERVFAIL and
 * REFUSED, one that never answers, and glibc's resolver (getent) with a
 * search path whose first expansion is NXDOMAIN. Every count the API shows
 * equals what was sent; the latency is within what the clients measured;
 * the node, pod and server filters select exactly their records; switching
 * the dns module off for a node stops its counting, and on again resumes it.
 *
 * Pods (lab "dnse", index 15; namespace "lab"):
 *   dnse-n1: R = n1-p1 resolver (dnsmasq), A = n1-p2 dig client, F = n1-p3 responder (SERVFAIL, REFUSED)
 *   dnse-n2: B = n2-p1 dig client, G = n2-p2 glibc client, S = n2-p3 silent server (timeouts)
 * A asks R on its own node and S across; B asks R and F across; G asks R across.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dnsLab from "../../agent/modules/dns/dns_lab_commands.ts";
import { DNS_LATENCY_BOUNDS_US, DNS_QTYPES, DNS_RCODES } from "../../control/wire/dns.ts";
import { Cluster } from "../cluster.ts";
import { inPod, killRunning, waitListening } from "../lab/traffic.ts";
import type { NodeSpec, PodSpec } from "../lab/topology.ts";
import { waitFor } from "../procs.ts";
import { kernelMissing } from "./kernel.ts";

const exec = promisify(execFile);

const TOOLS = ["/usr/sbin/dnsmasq", "/usr/bin/dig", "/usr/bin/getent"];
const missing = kernelMissing() ?? (TOOLS.every(existsSync) ? null : `needs ${TOOLS.join(", ")} (scripts/setup.sh)`);

/** The agents' --dns-timeout-ms: an unanswered query is a timeout at the first read this long after it. */
const TIMEOUT_MS = 300;
/** The agents' read and push period. */
const INTERVAL_S = 0.5;
/** Names listed per pod: more than any pod here asks for, so the lists are whole. */
const LIMIT = 100;

const ZONE = "192.0.2.10";
const REVERSE = "10.2.0.192.in-addr.arpa";
/** A query of each type the zone answers, and the name it asks for. */
const TYPED: [string, string][] = [
  ["A", "www.lab"],
  ["AAAA", "v6.lab"],
  ["MX", "lab"],
  ["TXT", "txt.lab"],
  ["SRV", "_x._tcp.lab"],
  ["PTR", REVERSE],
];

type Qtype = typeof DNS_QTYPES[number];
type Rcode = typeof DNS_RCODES[number];

interface Endpoint {
  kind: string;
  label: string;
}
interface ApiLatency {
  answered: number;
  sumUs: number;
  meanUs: number | null;
  p50Us: number | null;
  p95Us: number | null;
  p99Us: number | null;
  aboveUs: number;
  buckets: { leUs: number | null; count: number }[];
}
interface ApiServer {
  pod: Endpoint | null;
  server: string;
  port: number;
  queries: Record<Qtype, number>;
  responses: Record<Rcode, number>;
  truncated: number;
  timeouts: number;
  tcp: number;
  latency: ApiLatency;
}
interface ApiName {
  name: string;
  queries: number;
  nxdomain: number;
}
interface ApiDns {
  servers: ApiServer[];
  names: { pod: Endpoint | null; byQueries: ApiName[]; byNxdomain: ApiName[] }[];
}

/** What one (pod, server) record must show: counts by slot, and the clients' own measure of each answer. */
interface Expected {
  client: PodSpec;
  server: PodSpec;
  queries: Partial<Record<Qtype, number>>;
  responses: Partial<Record<Rcode, number>>;
  tcp: number;
  timeouts: number;
  /**
   * An upper bound in µs on each answer's time as the kernel measures it (between the query and the answer
   * passing the client's host veth): dig's "Query time" in µs + 1 (it prints whole µs, rounded down; dig -u,
   * dns_lab_commands.ts), one per answer; for glibc, each getent process's wall time, which covers its answers
   * one after the other. The kernel's clock (CLOCK_MONOTONIC) and dig's (CLOCK_REALTIME) run at the same rate.
   */
  bounds: { perAnswer: number[] } | { perProcess: number[] };
}

const all = <K extends string>(keys: readonly K[], at: Partial<Record<K, number>>) =>
  Object.fromEntries(keys.map((k) => [k, at[k] ?? 0])) as Record<K, number>;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const label = (p: PodSpec) => `lab/${p.name}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const queriesOf = (r: ApiDns) => sum(r.servers.map((s) => sum(Object.values(s.queries))));
const keyOf = (s: ApiServer) => `${s.pod?.label} ${s.server}`;

/** The rcodes of dig's results, in the API's slots (a status with no slot of its own is "other"). */
function rcodesOf(results: dnsLab.DigResult[]): Partial<Record<Rcode, number>> {
  const out: Partial<Record<Rcode, number>> = {};
  for (const r of results.filter((r) => r.status !== "timeout")) {
    const slot = (DNS_RCODES as readonly string[]).includes(r.status) ? r.status as Rcode : "other";
    out[slot] = (out[slot] ?? 0) + 1;
  }
  return out;
}

/** The lower bound of the latency bucket whose upper bound is `leUs` (0 for the first). */
function bucketFloorUs(leUs: number): number {
  const i = (DNS_LATENCY_BOUNDS_US as readonly number[]).indexOf(leUs);
  if (i < 0) throw new Error(`${leUs} µs is no bucket bound`);
  return i === 0 ? 0 : DNS_LATENCY_BOUNDS_US[i - 1]!;
}

describe.skipIf(missing)("DNS per pod and server through the agents and the control plane, on a two-node lab", () => {
  let c: Cluster;
  let n1: NodeSpec, n2: NodeSpec;
  let R: PodSpec, A: PodSpec, F: PodSpec, B: PodSpec, G: PodSpec, S: PodSpec;
  /** Files of the test's own: dnsmasq's hosts file and log, dig's batch files. */
  let dir = "";
  /** /etc/netns/<G's netns> (G's resolv.conf), and whether /etc/netns was made here. */
  let etc = "";
  let madeEtcNetns = false;

  const iso = (ms: number) => new Date(ms).toISOString();
  const dns = (query: string) => c.get<ApiDns>(`/api/v1/dns?limit=${LIMIT}&${query}`);

  beforeAll(async () => {
    c = new Cluster({
      name: "dnse",
      index: 15,
      nodes: 2,
      pods: 3,
      port: 25_000 + (process.pid % 400),
      interval: INTERVAL_S,
      agentEnv: { EBPF_K8S_DNS_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    [n1, n2] = [c.node(0), c.node(1)];
    [R, A, F] = n1.pods;
    [B, G, S] = n2.pods;
    try {
      dir = mkdtempSync(`${tmpdir()}/ek8s-dnse-`);
      chmodSync(dir, 0o755); // dnsmasq reads its hosts file as the unprivileged user it becomes
      const hostsFile = `${dir}/hosts`;
      writeFileSync(hostsFile, dnsLab.hostsText({ "www.lab": ZONE, "v6.lab": "2001:db8::10" }));
      const extra = ["--mx-host=lab,www.lab,10", "--txt-record=txt.lab,hello", "--srv-host=_x._tcp.lab,www.lab,80"];
      c.lab.spawnIn(
        R.netns,
        dnsLab.dnsmasqArgv({ ip: R.ip, hostsFile, logFile: `${dir}/dnsmasq.log`, extra }),
        "dnsmasq",
        R.cgroup,
      );
      c.lab.spawnIn(F.netns, dnsLab.responderArgv(F.ip), "dns responder", F.cgroup);
      c.lab.spawnIn(S.netns, dnsLab.silentArgv(S.ip), "silent dns server", S.cgroup);
      await Promise.all([
        waitListening(R, "udp", 53),
        waitListening(R, "tcp", 53),
        waitListening(F, "udp", 53),
        waitListening(S, "udp", 53),
      ]);
      // G's resolver configuration: R alone, and a search path whose first domain does not hold "www"
      etc = `/etc/netns/${G.netns}`;
      madeEtcNetns = !existsSync("/etc/netns");
      mkdirSync(etc, { recursive: true });
      writeFileSync(`${etc}/resolv.conf`, dnsLab.resolvConf(R.ip, ["svc.lab", "lab"]));

      await c.startControl();
      await c.createJoinToken();
      for (const node of [n1, n2]) c.startAgent(node);
      await waitFor("both agents counting DNS, their pods known", async () => {
        const pods = await c.get<{ pods: unknown[] }>("/api/v1/pods");
        for (const node of [n1, n2]) if ((await dnsModule(node))?.state !== "on") return false;
        return pods.pods.length === 6;
      }, 60_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${c?.logs()}`);
    }
  }, 120_000);

  afterAll(async () => {
    killRunning();
    await c?.down(); // the lab's processes (dnsmasq, responder, silent server) by pid, its namespaces
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (etc) rmSync(etc, { recursive: true, force: true });
    if (madeEtcNetns) {
      try {
        rmdirSync("/etc/netns");
      } catch { /* another test's namespace has a file there now */ }
    }
  }, 60_000);

  async function dnsModule(node: NodeSpec) {
    const modules = await c.get<{ name: string; desired: boolean; state: string | null; pending: boolean }[]>(
      `/api/v1/nodes/${c.nodeName(node)}/modules`,
    );
    return modules.find((m) => m.name === "dns");
  }

  /** dig in `pod`, one query at a time (dns_lab_commands.ts: +tries=1, so each line is one query on the wire). */
  async function dig(
    pod: PodSpec,
    server: PodSpec,
    queries: string[],
    options: string[] = [],
  ): Promise<dnsLab.DigResult[]> {
    const batch = `${dir}/dig-${randomUUID()}`;
    writeFileSync(batch, dnsLab.digBatch(server.ip, queries));
    const [cmd, ...args] = inPod(pod, dnsLab.digArgv(batch, options));
    try {
      return dnsLab.parseDig((await exec(cmd, args, { encoding: "utf8" })).stdout, queries.length);
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      if (typeof err.code === "number" && dnsLab.DIG_OK_EXITS.includes(err.code)) {
        return dnsLab.parseDig(err.stdout ?? "", queries.length);
      }
      throw new Error(`dig in ${pod.name} failed (exit ${err.code}): ${err.stderr}${err.stdout}`);
    } finally {
      rmSync(batch, { force: true });
    }
  }

  /**
   * `getent ahostsv4 <name>` in G (glibc's getaddrinfo, AF_INET: A queries only), through `ip netns exec`,
   * which mounts G's resolv.conf over /etc/resolv.conf. Resolves with its first line and its wall time in µs.
   */
  async function getent(name: string): Promise<{ line: string; wallUs: number }> {
    const t = process.hrtime.bigint();
    const { stdout } = await exec("timeout", ["30", "ip", "netns", "exec", G.netns, "getent", "ahostsv4", name], {
      encoding: "utf8",
    });
    const wallUs = Math.ceil(Number(process.hrtime.bigint() - t) / 1000);
    return { line: stdout.split("\n")[0]!.replace(/\s+/g, " ").trim(), wallUs };
  }

  /** The API's record of (client, server:53) in `got`, exactly one. */
  function recordOf(got: ApiDns, e: { client: PodSpec; server: PodSpec }): ApiServer {
    const found = got.servers.filter((s) => s.pod?.label === label(e.client) && s.server === e.server.ip);
    expect(found.length, `one record of ${e.client.name} with ${e.server.name} in ${JSON.stringify(got.servers)}`)
      .toBe(1);
    return found[0]!;
  }

  /** Every count of a record exact; its latency within the clients' bounds. */
  function expectRecord(s: ApiServer, e: Expected) {
    const what = `${e.client.name} → ${e.server.name}`;
    expect(
      [s.port, s.queries, s.responses, s.tcp, s.truncated, s.timeouts],
      what,
    ).toEqual([53, all(DNS_QTYPES, e.queries), all(DNS_RCODES, e.responses), e.tcp, 0, e.timeouts]);
    const l = s.latency;
    const answered = sum(Object.values(e.responses));
    expect([l.answered, sum(l.buckets.map((b) => b.count))], `${what}: every answer matched to its query`).toEqual([
      answered,
      answered,
    ]);
    expect(l.buckets.map((b) => b.leUs), what).toEqual([...DNS_LATENCY_BOUNDS_US, null]);
    if (answered === 0) {
      expect([l.sumUs, l.meanUs, l.p50Us, l.p95Us, l.p99Us], what).toEqual([0, null, null, null, null]);
      return;
    }
    // The kernel times each answer from its query to its answer at the client's host veth, inside the client's
    // own measure of it: the sum is within the sum of the bounds, and above 0 (every answer takes some time).
    const bounds = "perAnswer" in e.bounds ? e.bounds.perAnswer : e.bounds.perProcess;
    expect(l.sumUs, `${what}: ${l.sumUs} µs within the clients' ${JSON.stringify(bounds)}`).toBeLessThanOrEqual(
      sum(bounds),
    );
    expect(l.sumUs, what).toBeGreaterThan(0);
    expect(l.meanUs).toBe(Math.round(l.sumUs / answered));
    // With at most 100 answers p99 is the slowest answer's bucket, whose upper bound is at least their mean.
    if (answered <= 100) expect(l.p99Us, what).toBeGreaterThanOrEqual(l.meanUs!);
    if (!("perAnswer" in e.bounds)) return;
    // Per answer, kernel time ≤ dig's bound, so the kernel's q-quantile ≤ dig's q-quantile (same rank,
    // ceil(q·n), of values each no larger than their dig counterpart). The API gives the upper bound of the
    // bucket holding the kernel's quantile, and the quantile is above that bucket's lower bound: that lower
    // bound is below dig's quantile. (All answers came within dig's 1 s timeout: never the last, open bucket.)
    const sorted = [...e.bounds.perAnswer].sort((a, b) => a - b);
    for (const [q, p] of [[0.5, l.p50Us], [0.95, l.p95Us], [0.99, l.p99Us]] as const) {
      expect(p, `${what}: p${q * 100}`).not.toBeNull();
      const digQ = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
      expect(bucketFloorUs(p!), `${what}: p${q * 100} bucket ≤ ${p} µs, dig's ${digQ} µs`).toBeLessThan(digQ);
    }
  }

  /** The names of `pod` in `got`: name -> [queries, nxdomain], from byQueries; and byNxdomain's names. */
  function namesOf(got: ApiDns, pod: PodSpec) {
    const lists = got.names.filter((n) => n.pod?.label === label(pod));
    expect(lists.length, `one names entry of ${pod.name}`).toBeLessThanOrEqual(1);
    const byQueries = Object.fromEntries((lists[0]?.byQueries ?? []).map((n) => [n.name, [n.queries, n.nxdomain]]));
    const byNxdomain = Object.fromEntries((lists[0]?.byNxdomain ?? []).map((n) => [n.name, [n.queries, n.nxdomain]]));
    return { byQueries, byNxdomain };
  }

  it("every count equals what the clients sent; latency within theirs; node, pod and server filters", async () => {
    const t0 = Date.now() - 1_000;
    const N = 3, M = 4, K = 2; // A: N of each type, M names that do not exist, K over TCP
    const N2 = 2, M2 = 3, K2 = 3; // B: the same, other numbers
    const SF = 3, RF = 2, T = 2, L = 3; // SERVFAIL and REFUSED from F, timeouts at S, glibc look-ups

    const typed = (n: number) => TYPED.flatMap(([type, name]) => Array.from({ length: n }, () => `${name} ${type}`));
    const aR = [
      ...await dig(A, R, typed(N)),
      ...await dig(A, R, Array.from({ length: M }, (_, i) => `nx${i}.lab A`)),
      ...await dig(A, R, Array.from({ length: K }, () => "www.lab A"), ["+tcp"]),
    ];
    const bR = [
      ...await dig(B, R, typed(N2)),
      ...await dig(B, R, Array.from({ length: M2 }, (_, i) => `nxb${i}.lab A`)),
      ...await dig(B, R, Array.from({ length: K2 }, () => "txt.lab TXT"), ["+tcp"]),
    ];
    const bF = await dig(B, F, [
      ...Array.from({ length: SF }, (_, i) => `servfail-${i}.lab A`),
      ...Array.from({ length: RF }, (_, i) => `refused-${i}.lab AAAA`),
    ]);
    const aS = await dig(A, S, Array.from({ length: T }, (_, i) => `silent-${i}.lab A`));
    const gR = [];
    for (let i = 0; i < L; i++) gR.push(await getent("www"));

    // What the clients saw: the statuses asked for, and the search path resolved in its second domain.
    const statuses = (rs: dnsLab.DigResult[]) => rs.map((r) => r.status);
    const typedThenNx = (n: number, m: number, k: number) => [
      ...Array(TYPED.length * n).fill("NOERROR"),
      ...Array(m).fill("NXDOMAIN"),
      ...Array(k).fill("NOERROR"),
    ];
    expect(statuses(aR)).toEqual(typedThenNx(N, M, K));
    expect(statuses(bR)).toEqual(typedThenNx(N2, M2, K2));
    expect(statuses(bF)).toEqual([...Array(SF).fill("SERVFAIL"), ...Array(RF).fill("REFUSED")]);
    expect(statuses(aS)).toEqual(Array(T).fill("timeout"));
    expect(gR.map((g) => g.line)).toEqual(Array(L).fill(`${ZONE} STREAM www.lab`));

    const perType = (n: number) => Object.fromEntries(TYPED.map(([type]) => [type, n]));
    const answered = (rs: dnsLab.DigResult[]) => rs.filter((r) => r.us >= 0).map((r) => r.us + 1);
    const expected: Expected[] = [
      {
        client: A,
        server: R,
        queries: { ...perType(N), A: N + M + K },
        responses: rcodesOf(aR),
        tcp: K,
        timeouts: 0,
        bounds: { perAnswer: answered(aR) },
      },
      {
        client: B,
        server: R,
        queries: { ...perType(N2), A: N2 + M2, TXT: N2 + K2 },
        responses: rcodesOf(bR),
        tcp: K2,
        timeouts: 0,
        bounds: { perAnswer: answered(bR) },
      },
      {
        client: B,
        server: F,
        queries: { A: SF, AAAA: RF },
        responses: { SERVFAIL: SF, REFUSED: RF },
        tcp: 0,
        timeouts: 0,
        bounds: { perAnswer: answered(bF) },
      },
      { client: A, server: S, queries: { A: T }, responses: {}, tcp: 0, timeouts: T, bounds: { perAnswer: [] } },
      {
        client: G,
        server: R,
        queries: { A: 2 * L }, // www.svc.lab (NXDOMAIN), then www.lab
        responses: { NOERROR: L, NXDOMAIN: L },
        tcp: 0,
        timeouts: 0,
        bounds: { perProcess: gR.map((g) => g.wallUs) },
      },
    ];

    // Wait for the whole: every record's queries, answers and timeouts reported (timeouts come last).
    const q = `since=${iso(t0)}`;
    const total = (s: ApiServer) => [sum(Object.values(s.queries)), sum(Object.values(s.responses)), s.timeouts];
    const want = (e: Expected) => [sum(Object.values(e.queries)), sum(Object.values(e.responses)), e.timeouts];
    await waitFor("every record whole", async () => {
      const got = await dns(q);
      return expected.every((e) => {
        const s = got.servers.find((s) => s.pod?.label === label(e.client) && s.server === e.server.ip);
        return s !== undefined && JSON.stringify(total(s)) === JSON.stringify(want(e));
      });
    }, 30_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${JSON.stringify((await dns(q)).servers)}\n${c.logs()}`);
    });
    await sleep(3 * INTERVAL_S * 1000); // a few more batches: nothing counted twice, nothing more

    const got = await dns(q);
    expect(got.servers.map((s) => `${s.pod?.label} → ${s.server}:${s.port}`).sort(), "nothing else").toEqual(
      expected.map((e) => `${label(e.client)} → ${e.server.ip}:53`).sort(),
    );
    for (const e of expected) expectRecord(recordOf(got, e), e);

    // Names per pod, exact; NXDOMAIN per name. Names carry no server: a pod's names are those of all its servers.
    const typedNames = (n: number) => Object.fromEntries(TYPED.map(([, name]) => [name, [n, 0]]));
    const nx = (prefix: string, m: number) =>
      Object.fromEntries(Array.from({ length: m }, (_, i) => [`${prefix}${i}.lab`, [1, 1]]));
    const ones = (prefix: string, m: number) =>
      Object.fromEntries(Array.from({ length: m }, (_, i) => [`${prefix}-${i}.lab`, [1, 0]]));
    const namesA = { ...typedNames(N), "www.lab": [N + K, 0], ...nx("nx", M), ...ones("silent", T) };
    const namesB = {
      ...typedNames(N2),
      "txt.lab": [N2 + K2, 0],
      ...nx("nxb", M2),
      ...ones("servfail", SF),
      ...ones("refused", RF),
    };
    const namesG = { "www.svc.lab": [L, L], "www.lab": [L, 0] };
    expect(namesOf(got, A)).toEqual({ byQueries: namesA, byNxdomain: nx("nx", M) });
    expect(namesOf(got, B)).toEqual({ byQueries: namesB, byNxdomain: nx("nxb", M2) });
    expect(namesOf(got, G)).toEqual({ byQueries: namesG, byNxdomain: { "www.svc.lab": [L, L] } });
    expect(got.names.map((n) => n.pod?.label).sort(), "names of the clients alone").toEqual(
      [A, B, G].map(label).sort(),
    );
    // Each list in order: most queries (or NXDOMAIN answers) first, ties by name.
    for (const n of got.names) {
      const order = (xs: ApiName[], by: "queries" | "nxdomain") =>
        xs.every((x, i) => i === 0 || xs[i - 1]![by] > x[by] || (xs[i - 1]![by] === x[by] && xs[i - 1]!.name < x.name));
      expect(order(n.byQueries, "queries") && order(n.byNxdomain, "nxdomain"), JSON.stringify(n)).toBe(true);
    }

    // The filters: a pod's records are its own; a node's are its pods'; a server's are those asking it.
    const keys = (r: ApiDns) => r.servers.map(keyOf).sort();
    for (const p of [A, B, G]) {
      const mine = await dns(`${q}&pod=${label(p)}`);
      expect(mine.servers, p.name).toEqual(got.servers.filter((s) => s.pod?.label === label(p)));
      expect(mine.names, p.name).toEqual(got.names.filter((n) => n.pod?.label === label(p)));
    }
    for (const p of [R, F, S]) {
      expect(await dns(`${q}&pod=${label(p)}`), `${p.name} serves: it asks nothing`).toMatchObject({
        servers: [],
        names: [],
      });
    }
    for (const [node, pods] of [[n1, [A]], [n2, [B, G]]] as const) {
      const ofNode = await dns(`${q}&node=${c.nodeName(node)}`);
      const ofPods = await Promise.all(pods.map((p) => dns(`${q}&pod=${label(p)}`)));
      expect(keys(ofNode), node.name).toEqual(ofPods.flatMap((r) => r.servers.map(keyOf)).sort());
      expect(ofNode.servers, node.name).toEqual(got.servers.filter((s) => pods.some((p) => s.pod?.label === label(p))));
      expect(ofNode.names, node.name).toEqual(got.names.filter((n) => pods.some((p) => n.pod?.label === label(p))));
      // the node's totals are the sum of its pods'
      expect(queriesOf(ofNode), node.name).toBe(sum(ofPods.map(queriesOf)));
    }
    expect(queriesOf(await dns(`${q}&node=${c.nodeName(n1)}`))).toBe(TYPED.length * N + M + K + T);
    expect(queriesOf(await dns(`${q}&node=${c.nodeName(n2)}`))).toBe(TYPED.length * N2 + M2 + K2 + SF + RF + 2 * L);
    expect(keys(await dns(`${q}&server=${R.ip}`))).toEqual([A, B, G].map((p) => `${label(p)} ${R.ip}`).sort());
    expect(keys(await dns(`${q}&server=${F.ip}`))).toEqual([`${label(B)} ${F.ip}`]);
    expect(keys(await dns(`${q}&pod=${label(A)}&server=${R.ip}`))).toEqual([`${label(A)} ${R.ip}`]);
    expect(keys(await dns(`${q}&node=${c.nodeName(n1)}&server=${F.ip}`))).toEqual([]);
  }, 120_000);

  it("switching the dns module off for a node stops its counting there; on again resumes it", async () => {
    const t1 = Date.now();
    const q = `since=${iso(t1)}`;
    await switchDns(n1, false);
    // While n1's module is off: A's queries go uncounted; B's, on n2, are counted.
    const OFF = 4, ON = 3, B_ON = 2;
    expect((await dig(A, R, Array.from({ length: OFF }, () => "off.lab A"))).map((r) => r.status)).toEqual(
      Array(OFF).fill("NXDOMAIN"),
    );
    expect((await dig(B, R, Array.from({ length: B_ON }, () => "www.lab A"))).map((r) => r.status)).toEqual(
      Array(B_ON).fill("NOERROR"),
    );
    await waitFor("B's queries counted on n2", async () => queriesOf(await dns(`${q}&pod=${label(B)}`)) === B_ON);
    await switchDns(n1, true);
    expect((await dig(A, R, Array.from({ length: ON }, () => "on.lab TXT"))).map((r) => r.status)).toEqual(
      Array(ON).fill("NXDOMAIN"),
    );
    await waitFor(
      "A's queries after the switch on counted",
      async () => queriesOf(await dns(`${q}&pod=${label(A)}`)) >= ON,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${JSON.stringify(await dns(q))}\n${c.logs()}`);
    });
    await sleep(3 * INTERVAL_S * 1000); // a few more batches: the off queries are not coming late

    const got = await dns(q);
    expect(got.servers.map(keyOf).sort()).toEqual([`${label(A)} ${R.ip}`, `${label(B)} ${R.ip}`]);
    const a = got.servers.find((s) => s.pod?.label === label(A))!;
    expect([a.queries, a.responses, a.latency.answered]).toEqual([
      all(DNS_QTYPES, { TXT: ON }),
      all(DNS_RCODES, { NXDOMAIN: ON }),
      ON,
    ]);
    const b = got.servers.find((s) => s.pod?.label === label(B))!;
    expect([b.queries, b.responses]).toEqual([all(DNS_QTYPES, { A: B_ON }), all(DNS_RCODES, { NOERROR: B_ON })]);
    expect(namesOf(got, A)).toEqual({ byQueries: { "on.lab": [ON, ON] }, byNxdomain: { "on.lab": [ON, ON] } });
    expect(namesOf(got, B).byQueries).toEqual({ "www.lab": [B_ON, 0] });
  }, 60_000);

  /** Switches n's dns module through the API and waits until its agent reports it applied. */
  async function switchDns(n: NodeSpec, enabled: boolean) {
    const res = await c.admin("PUT", `/api/v1/nodes/${c.nodeName(n)}/modules/dns`, { enabled });
    if (!res.ok) throw new Error(`switching dns ${enabled ? "on" : "off"}: ${res.status} ${await res.text()}`);
    await waitFor(`dns ${enabled ? "on" : "off"} on ${n.name}`, async () => {
      const m = await dnsModule(n);
      return m?.desired === enabled && !m.pending && m.state === (enabled ? "on" : "off");
    }, 20_000);
  }
});
