// SPDX-License-Identifier: Apache-2.0
/**
 * The service registry on a two-node lab: agents join with a token, both
 * nodes register, cross-node pod traffic is counted on both; nothing is lost
 * or doubled when the control plane is killed for 30 s or an agent is killed
 * with SIGKILL and restarted; a silent node turns Stale, then Lost.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../procs.ts";
import { Cluster, ping } from "../cluster.ts";
import type { NodeSpec } from "../lab/topology.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing();
/** The node's interfaces and its pod's veth: the interface counters are what this test reads. */
const podVethToo = (node: NodeSpec) => ["eth0", "cni0", node.pods[0].hostVeth];
const OUTAGE_MS = Number(process.env.E2E_OUTAGE_MS ?? 30_000);

describe.skipIf(missing)("registry on a two-node lab", () => {
  let c: Cluster;
  /** Packets sent so far from n1-p1 to n2-p1 (each answered), and their frame size. */
  let sent = 0;
  const SIZE = 400;
  const FRAME = SIZE + 42;

  /** Waits until both ends of the cross-node pod traffic show exactly `sent` packets each way. */
  async function expectExactTotals(what: string) {
    const [n1, n2] = [c.node(0), c.node(1)];
    const want = { rxPackets: sent, rxBytes: sent * FRAME, txPackets: sent, txBytes: sent * FRAME };
    let last: unknown;
    await waitFor(what, async () => {
      const [a, b] = [await c.interfaces(n1), await c.interfaces(n2)];
      last = { n1: a[n1.pods[0].hostVeth], n2: b[n2.pods[0].hostVeth] };
      return a[n1.pods[0].hostVeth]?.rxPackets === sent && b[n2.pods[0].hostVeth]?.rxPackets === sent;
    }, 60_000).catch((e) => {
      throw new Error(`${e.message}\nlast: ${JSON.stringify(last)}\n${c.logs()}`);
    });
    expect(await c.interfaces(n1).then((m) => m[n1.pods[0].hostVeth])).toMatchObject(want);
    expect(await c.interfaces(n2).then((m) => m[n2.pods[0].hostVeth])).toMatchObject(want);
  }

  const statusOf = async (node: string) =>
    (await c.get<{ name: string; status: string }[]>("/api/v1/nodes")).find((n) => n.name === node)?.status;

  beforeAll(async () => {
    c = new Cluster({
      name: "reg",
      index: 10,
      nodes: 2,
      pods: 1,
      port: 18_500 + (process.pid % 400),
      controlEnv: { EBPF_K8S_STALE_AFTER: "3", EBPF_K8S_LOST_AFTER: "6" },
    });
    await c.startControl();
    await c.createJoinToken();
  }, 60_000);

  afterAll(async () => {
    await c?.down();
  });

  it("every node joins and registers; cross-node pod traffic is counted exactly on both nodes", async () => {
    for (const node of c.lab.topology.nodes) c.startAgent(node, podVethToo(node));
    await waitFor(
      "both nodes Ready",
      async () => (await statusOf("reg-n1")) === "Ready" && (await statusOf("reg-n2")) === "Ready",
      60_000,
    )
      .catch((e) => {
        throw new Error(`${e.message}\n${c.logs()}`);
      });
    ping(c.node(0).pods[0], c.node(1).pods[0].ip, 30, SIZE);
    sent += 30;
    await expectExactTotals("cross-node totals");
  }, 120_000);

  it("loses nothing while the control plane is down (SIGKILL, 30 s) and doubles nothing after", async () => {
    c.control!.kill("SIGKILL");
    await c.control!.stop();
    await expect(fetch(`${c.url}/healthz`)).rejects.toThrow(); // really down
    ping(c.node(0).pods[0], c.node(1).pods[0].ip, 20, SIZE);
    sent += 20;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    ping(c.node(0).pods[0], c.node(1).pods[0].ip, 10, SIZE);
    sent += 10;
    await c.startControl();
    await expectExactTotals("totals after the control plane came back");
  }, OUTAGE_MS + 120_000);

  it("loses nothing when an agent is SIGKILLed and restarted, and does not attach twice", async () => {
    const n2 = c.node(1);
    c.agents.get(n2.name)!.kill("SIGKILL");
    await c.agents.get(n2.name)!.stop();
    // The programs stay attached and keep counting into the pinned maps meanwhile.
    ping(c.node(0).pods[0], n2.pods[0].ip, 15, SIZE);
    sent += 15;
    c.startAgent(n2, podVethToo(n2));
    await expectExactTotals("totals after the agent restarted");
    const filters = (dir: string) =>
      execFileSync("ip", ["netns", "exec", n2.netns, "tc", "filter", "show", "dev", n2.pods[0].hostVeth, dir], {
        encoding: "utf8",
      })
        .split("\n").filter((l) => l.includes(" handle ")).length;
    // One filter per module and direction (ifstats, flows, dns): the restart replaced, it did not add.
    expect(filters("ingress")).toBe(3);
    expect(filters("egress")).toBe(3);
    ping(c.node(0).pods[0], n2.pods[0].ip, 5, SIZE);
    sent += 5;
    await expectExactTotals("totals after more traffic");
  }, 120_000);

  it("a node whose agent stopped turns Stale, then Lost; uninstall after the stop leaves nothing behind", async () => {
    const n1 = c.node(0);
    expect(await c.agents.get(n1.name)!.stop()).toBe(0);
    await waitFor("reg-n1 Stale", async () => (await statusOf("reg-n1")) === "Stale", 20_000);
    await waitFor("reg-n1 Lost", async () => (await statusOf("reg-n1")) === "Lost", 20_000);
    expect(await statusOf("reg-n2")).toBe("Ready");
    // SIGTERM handed the datapath over to a successor that never came; the operator's removal
    expect(existsSync(`${c.pinDir}/reg-n1`), "SIGTERM leaves the pins").toBe(true);
    expect(await c.uninstallAgent(n1)).toBe(0);
    for (const dev of ["eth0", "cni0", n1.pods[0].hostVeth]) {
      expect(execFileSync("ip", ["netns", "exec", n1.netns, "tc", "qdisc", "show", "dev", dev], { encoding: "utf8" }))
        .not.toMatch(/clsact/);
    }
    const pins = `${c.pinDir}/reg-n1`;
    expect(existsSync(pins) ? readdirSync(pins) : []).toEqual([]);
  }, 60_000);
});
