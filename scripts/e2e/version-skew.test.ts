// SPDX-License-Identifier: Apache-2.0
/**
 * Version skew between agents and the control plane, with real processes on
 * the real kernel (the rule: control/wire/version.ts). Builds of other wire
 * versions are stood in for by EBPF_K8S_TEST_WIRE_VERSION, which makes an
 * agent write, or a control plane speak, another version; the control plane
 * is "upgraded" by restarting it on the same database with another one.
 *
 *   1. control plane N−1, agent N: the agent asks GET /api/v1/wire before
 *      its first batch and writes its batches as N−1 at once (leaving out
 *      the fields N added), compact when N−1 may travel so (version 4 on).
 *   2. control plane N, agent N+1 (which cannot be written as N): every batch
 *      stays spooled, reported in logs and metrics; the control plane
 *      upgraded to N+1 gets all of them: every seq stored, totals exact.
 *   3. control plane N+1, agent N (one behind): accepted.
 *   4. both at once: control plane N, one agent of N−1 sending plain JSON
 *      (--wire-encoding json when N−1 could travel compact) and one of N
 *      (compact, gzipped), each node's batches all stored, totals exact.
 */
import { createClient } from "@libsql/client";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeSpec, PodSpec } from "../lab/topology.ts";
import { type ApiIf, Cluster, ping } from "../cluster.ts";
import { waitFor } from "../procs.ts";
import { WIRE_VERSION } from "../../control/wire/batch.ts";
import { ADDED_IN, fieldsNewerThan, TEST_WIRE_VERSION_ENV } from "../../control/wire/version.ts";
import { COMPACT_SINCE_VERSION } from "../../control/wire/compact/http.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing();
const N = WIRE_VERSION;
const SIZE = 200; // ICMP payload
/** The agent's default metrics port (agent/config.ts), served in its node's netns at the node's address. */
const METRICS_PORT = 9810;
/**
 * The inventory fields version N added (paths below `inventory`), which the node's API shows: absent from
 * a batch written as N−1, present in one written as N. (A version that added none elsewhere is seen by the
 * N−1 control plane taking the batches at all: it refuses with 400 a batch that carries a later field.)
 */
const INVENTORY_ADDED = (ADDED_IN[N] ?? []).filter((p) => p[0] === "inventory");
/** Whether the inventory carries what `path` of ADDED_IN names (a field, or array elements: "[name=dns]"). */
const carries = (inventory: unknown, path: readonly string[]) =>
  fieldsNewerThan({ inventory }, N - 1, { [N]: [path] }).length > 0;

describe.skipIf(missing)("version skew: either side upgraded first, no batch lost", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = new Cluster({ name: "skew", index: 2, nodes: 2, pods: 2, port: 21_000 + (process.pid % 400) });
    await controlSpeaking(N - 1);
    await c.createJoinToken();
  }, 60_000);

  afterAll(async () => {
    await c?.down();
  });

  /** (Re)starts the control plane on the same database and port, speaking wire version `v`. */
  async function controlSpeaking(v: number): Promise<void> {
    await c.control?.stop();
    c.o.controlEnv = v === N ? {} : { [TEST_WIRE_VERSION_ENV]: String(v) };
    await c.startControl();
    expect(await c.get<{ version: number }>("/api/v1/wire")).toMatchObject({ version: v });
  }

  /** Starts the node's agent writing wire version `v`, counting its first pod's veth. */
  function agentWriting(node: NodeSpec, v: number, env: Record<string, string> = {}) {
    c.o.agentEnv = v === N ? {} : { [TEST_WIRE_VERSION_ENV]: String(v) };
    return c.startAgent(node, [node.pods[0].hostVeth], env);
  }

  /** The control plane's totals of the pod's host veth (undefined before the first stored batch). */
  async function stored(node: NodeSpec, pod: PodSpec): Promise<ApiIf | undefined> {
    const res = await fetch(`${c.url}/api/v1/nodes/${c.nodeName(node)}/interfaces`);
    if (res.status === 404) return undefined;
    const ifs = (await res.json()) as ApiIf[];
    return ifs.find((i) => i.ifname === pod.hostVeth);
  }

  /** Waits until the control plane holds exactly `pings` echo requests and replies on the pod's veth. */
  async function totalsReach(node: NodeSpec, pings: number, timeoutMs = 30_000): Promise<ApiIf> {
    const pod = node.pods[0];
    let last: ApiIf | undefined;
    return await waitFor(`${pings} pings stored for ${pod.name}`, async () => {
      const t = last = await stored(node, pod);
      return t && t.rxPackets === pings && t.txPackets === pings ? t : null;
    }, timeoutMs).catch((e) => {
      throw new Error(`${e.message} (last stored: ${JSON.stringify(last)})\n${c.logs()}`);
    });
  }

  async function agentMetric(node: NodeSpec, line: string): Promise<number> {
    const text = await (await fetch(`http://${node.ip}:${METRICS_PORT}/metrics`)).text();
    const found = text.split("\n").find((l) => l.startsWith(`${line} `));
    if (found === undefined) throw new Error(`no ${line} in the agent's metrics:\n${text}`);
    return Number(found.slice(line.length + 1));
  }

  const spooled = (node: NodeSpec) =>
    readdirSync(`${c.dir}/state-${node.name}/spool`).filter((f) => f.endsWith(".json"));
  const frame = SIZE + 8 + 20 + 14;
  const pingPods = (node: NodeSpec, n: number) => ping(node.pods[0], node.pods[1].ip, n, SIZE);

  /** The agent's bytes sent per encoding (ebpf_k8s_agent_batch_bytes_total). */
  async function bytesSent(node: NodeSpec) {
    const at = async (encoding: string) =>
      await agentMetric(node, `ebpf_k8s_agent_batch_bytes_total{node="skew-${node.name}",encoding="${encoding}"}`);
    return { compact: await at("compact"), json: await at("json") };
  }

  /** Every batch of the node's one boot is stored, none dropped: one history row per seq, 0..last. Its last seq. */
  async function everySeqStored(nodeName: string): Promise<number> {
    const db = createClient({ url: `file:${c.dir}/db.sqlite` });
    try {
      // One statement, one snapshot: an agent still running may store its next batch meanwhile.
      const boots = await db.execute({
        sql: "SELECT b.last_seq, (SELECT count(*) FROM interface_history h WHERE h.node = b.node AND " +
          "h.boot_id = b.boot_id) AS n FROM boots b WHERE b.node = ?",
        args: [nodeName],
      });
      expect(boots.rows.length).toBe(1);
      expect(Number(boots.rows[0].n)).toBe(Number(boots.rows[0].last_seq) + 1);
      return Number(boots.rows[0].last_seq);
    } finally {
      db.close();
    }
  }

  it("a control plane one version behind: the agent asks what it accepts first and writes N−1 at once", async () => {
    const node = c.node(1);
    agentWriting(node, N);
    await waitFor("the agent's first batch", () => stored(node, node.pods[0]), 60_000).catch((e) => {
      throw new Error(`${e.message}\n${c.logs()}`);
    });
    pingPods(node, 12);
    const t = await totalsReach(node, 12);
    expect(t).toMatchObject({ rxBytes: 12 * frame, txBytes: 12 * frame, drops: 0 });
    const nodeName = `skew-${node.name}`;
    const { inventory } = await c.get<{ inventory: unknown }>(`/api/v1/nodes/${nodeName}`);
    for (const p of INVENTORY_ADDED) {
      expect(carries(inventory, p), `written as N−1: without ${p.join(".")}, added by N`).toBe(false);
    }
    // Asked before its first batch (GET /api/v1/wire): written as N−1 without a 409 round trip.
    const labels = `{node="${nodeName}",reason="version"}`;
    expect(await agentMetric(node, `ebpf_k8s_agent_batches_refused_total${labels}`)).toBe(0);
    expect(await agentMetric(node, `ebpf_k8s_agent_wire_version_held{node="${nodeName}"}`)).toBe(0);
    const sent = await bytesSent(node);
    if (N - 1 < COMPACT_SINCE_VERSION) {
      expect(sent.json).toBeGreaterThan(0);
      expect(sent.compact, "N−1 travels as plain JSON").toBe(0);
    } else expect(sent.compact, "N−1 travels compact too").toBeGreaterThan(0);
  }, 120_000);

  it(
    "an agent one version ahead: its batches stay spooled, reported; the upgraded control plane gets every one",
    async () => {
      await controlSpeaking(N);
      const node = c.node(0);
      const nodeName = `skew-${node.name}`;
      const agent = agentWriting(node, N + 1);
      await waitFor(
        "the agent to hold its batches",
        async () => (await agentMetric(node, `ebpf_k8s_agent_wire_version_held{node="${nodeName}"}`)) === 1,
        60_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${c.logs()}`);
      });
      pingPods(node, 15);
      // a few more reads, all of them refused and kept: the last ones carry the pings
      const before = spooled(node).length;
      await waitFor("more batches spooled", async () => spooled(node).length >= before + 4, 20_000);
      expect(await stored(node, node.pods[0]), "nothing of this agent stored").toBeUndefined();
      expect(agent.output()).toContain(`stay spooled until it accepts version ${N + 1}`);
      expect(await agentMetric(node, `ebpf_k8s_agent_spool_batches{node="${nodeName}"}`)).toBeGreaterThanOrEqual(
        before + 4,
      );

      await controlSpeaking(N + 1); // the upgrade: the agent asks GET /api/v1/wire every interval
      const t = await totalsReach(node, 15);
      expect(t).toMatchObject({ rxBytes: 15 * frame, txBytes: 15 * frame, drops: 0 });
      pingPods(node, 5);
      await totalsReach(node, 20);
      expect(agent.output()).toContain("now accepts wire version");

      // Every batch of the boot is stored, none dropped. The backlog drains first (at the ingest rate limit, in
      // retries), so that what the stop's last push (finalPushMs) has to send is its last batch alone; and the
      // spool stays empty for a second, so the node's ingest bucket (5 batches a second, less the agent's 2) has
      // refilled: a stop right after the drain would meet a 429 and keep its last batch spooled (nothing lost,
      // but not what this step checks).
      let emptySince: number | undefined;
      await waitFor("the backlog sent, and the spool empty for a second", async () => {
        if (spooled(node).length > 0) emptySince = undefined;
        else emptySince ??= Date.now();
        return emptySince !== undefined && Date.now() - emptySince >= 1000;
      }, 30_000);
      expect(await agent.stop()).toBe(0); // its last batch delivered too
      expect(spooled(node), agent.output()).toEqual([]);
      expect(await everySeqStored(nodeName)).toBeGreaterThanOrEqual(before + 4);
    },
    180_000,
  );

  it(
    "an agent one version behind the (upgraded) control plane: accepted, totals exact across both restarts",
    async () => {
      const node = c.node(1); // its agent has run since the first test, now writing its own version again
      pingPods(node, 8);
      await totalsReach(node, 12 + 8);
      const { inventory } = await c.get<{ inventory: unknown }>(`/api/v1/nodes/skew-${node.name}`);
      for (const p of INVENTORY_ADDED) expect(carries(inventory, p), `written as N: with ${p.join(".")}`).toBe(true);
    },
    60_000,
  );

  it(
    "both at once: a control plane of N takes an agent of N−1 (plain JSON) and one of N (compact) side by side, every batch of each",
    async () => {
      await controlSpeaking(N); // rolled back from N+1: node 1's agent (N) meets a process that holds nothing
      const older = c.node(0); // its agent of N+1 stopped in the second test; one of N−1 adopts its boot
      const newer = c.node(1); // its agent of N has run since the first test
      const agent = agentWriting(older, N - 1, { EBPF_K8S_WIRE_ENCODING: "json" });
      await totalsReach(older, 20, 60_000); // what it counted before, delivered again by the successor's batches
      const compactBefore = (await bytesSent(newer)).compact;
      pingPods(older, 7);
      pingPods(newer, 6);
      expect(await totalsReach(older, 27)).toMatchObject({ rxBytes: 27 * frame, txBytes: 27 * frame, drops: 0 });
      expect(await totalsReach(newer, 26)).toMatchObject({ rxBytes: 26 * frame, txBytes: 26 * frame, drops: 0 });

      const sentOlder = await bytesSent(older), sentNewer = await bytesSent(newer);
      expect(sentOlder.compact, "N−1 travels as plain JSON").toBe(0);
      expect(sentOlder.json).toBeGreaterThan(0);
      expect(sentNewer.compact, "N travels compact").toBeGreaterThan(compactBefore);
      for (const node of [older, newer]) {
        const name = `skew-${node.name}`;
        expect(await agentMetric(node, `ebpf_k8s_agent_quarantined_batches{node="${name}"}`)).toBe(0);
        expect(await agentMetric(node, `ebpf_k8s_agent_wire_version_held{node="${name}"}`)).toBe(0);
      }
      expect(await agent.stop()).toBe(0);
      expect(spooled(older)).toEqual([]);
      await everySeqStored(`skew-${older.name}`);
      await everySeqStored(`skew-${newer.name}`);
    },
    120_000,
  );
});
