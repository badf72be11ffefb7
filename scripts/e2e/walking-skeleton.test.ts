// SPDX-License-Identifier: Apache-2.0
/**
 * End to end on the real kernel: control plane and agent as real processes,
 * a quiet lab node, an exact number of packets of known size, and the totals
 * read back from the JSON API — equal to what we sent and to the kernel's own
 * interface statistics.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentArgv, start, waitFor } from "../procs.ts";
import { type ApiIf, Cluster, delta, kernelStats, pick, ping } from "../cluster.ts";
import { kernelMissing } from "./kernel.ts";
import { programExists } from "../lab/traffic.ts";

const missing = kernelMissing();
const N = 25; // packets each way
const SIZE = 300; // ICMP payload

/** Program ids attached as tc filters on this test's own devices (never a machine-wide list:
 * other test files load ifstats programs of their own at the same time). */
function attachedPrograms(netns: string, devs: string[]): number[] {
  return devs.flatMap((dev) =>
    (["ingress", "egress"] as const).flatMap((dir) =>
      (JSON.parse(
        execFileSync("ip", ["netns", "exec", netns, "tc", "-j", "filter", "show", "dev", dev, dir], {
          encoding: "utf8",
        })
          .trim() || "[]",
      ) as { options?: { prog?: { id: number } } }[]).flatMap((f) => f.options?.prog ? [f.options.prog.id] : [])
    )
  );
}

describe.skipIf(missing)("walking skeleton end to end", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = new Cluster({ name: "e2e", index: 9, nodes: 1, pods: 2, port: 18_000 + (process.pid % 400) });
    await c.startControl();
    await c.createJoinToken();
  }, 60_000);

  afterAll(async () => {
    await c?.down();
  });

  it("counts exactly what was sent, as the kernel does; SIGTERM hands over, uninstall cleans up", async () => {
    const node = c.node(0);
    const [p1, p2] = node.pods;
    const agent = c.startAgent(node, ["cni0", p1.hostVeth, p2.hostVeth]);
    await waitFor(
      "the agent's first batch",
      async () => (await c.interfaces(node).catch(() => ({}) as Record<string, ApiIf>))[p2.hostVeth],
      60_000,
    )
      .catch((e) => {
        throw new Error(`${e.message}\n${c.logs()}`);
      });

    const devs = [p1.hostVeth, p2.hostVeth, "cni0"];
    const ours = attachedPrograms(node.netns, devs);
    expect(ours.length, "the agent's tc programs on our devices").toBeGreaterThan(0);
    const before = devs.map((d) => kernelStats(node.netns, d));
    // pod 1 -> pod 2 (bridged: the two veths only) and pod 1 -> gateway (reaches cni0 itself).
    const frame = ping(p1, p2.ip, N, SIZE);
    ping(p1, node.gatewayIp, N, SIZE);
    const after = devs.map((d) => kernelStats(node.netns, d));

    const byName = await waitFor("totals to arrive", async () => {
      const m = await c.interfaces(node);
      return m[p1.hostVeth].rxPackets === 2 * N && m.cni0.rxPackets === N ? m : null;
    }, 20_000);

    // Exactly what we sent: requests enter the host side of pod 1's veth, replies leave it.
    expect(byName[p1.hostVeth]).toMatchObject({
      rxPackets: 2 * N,
      rxBytes: 2 * N * frame,
      txPackets: 2 * N,
      txBytes: 2 * N * frame,
      drops: 0,
    });
    expect(byName[p2.hostVeth]).toMatchObject({ rxPackets: N, rxBytes: N * frame, txPackets: N, txBytes: N * frame });
    // A bridge's own RX statistics leave out the Ethernet header (br_pass_frame_up); the agent follows the kernel.
    expect(byName.cni0).toMatchObject({ rxPackets: N, rxBytes: N * (frame - 14), txPackets: N, txBytes: N * frame });
    // And exactly what the kernel's own interface statistics counted over the same window.
    devs.forEach((d, i) => expect(delta(before[i], after[i])).toEqual(pick(byName[d] as ApiIf)));

    const nodes = await c.get<{ name: string; lastSeen: string }[]>("/api/v1/nodes");
    expect(nodes.map((n) => n.name)).toContain("e2e-n1");

    // SIGTERM: a last batch, exit 0, and the programs stay attached for the next agent (the datapath outlives it)...
    expect(await agent.stop()).toBe(0);
    expect(attachedPrograms(node.netns, devs).sort(), "left attached for a successor").toEqual([...ours].sort());
    // ...until the uninstall command removes every filter and qdisc it made, with no agent running.
    expect(await c.uninstallAgent(node, ["cni0", p1.hostVeth, p2.hostVeth])).toBe(0);
    for (const dev of devs) {
      expect(execFileSync("ip", ["netns", "exec", node.netns, "tc", "qdisc", "show", "dev", dev], { encoding: "utf8" }))
        .not.toMatch(/clsact/);
      expect(
        execFileSync("ip", ["netns", "exec", node.netns, "tc", "filter", "show", "dev", dev, "ingress"], {
          encoding: "utf8",
        }),
      ).toBe("");
    }
    // ...and the programs it had attached there are gone from the kernel, not only detached (a tc filter frees
    // its program after an RCU grace period, not at once).
    await waitFor("the agent's programs freed", async () => ours.every((id) => !programExists(id)), 10_000)
      .catch(() => {});
    expect(ours.filter(programExists)).toEqual([]);
  }, 120_000);

  it("refuses bad flags with a message naming the flag", async () => {
    const bad = start(
      "agent-bad",
      agentArgv({ control: "not-a-url", node: "Bad_Name", interfaces: ["lo"], interval: 1 }),
    );
    const code = await new Promise<number | null>((r) => bad.child.on("exit", r));
    expect(code).toBe(2);
    expect(bad.output()).toMatch(/--control: must be an http\(s\) URL/);
    expect(bad.output()).toMatch(/--node: must be a lowercase RFC 1123 name/);
  }, 60_000);

  it("refuses an interface that does not exist, naming it, and leaves nothing attached", async () => {
    const node = c.node(0);
    const cniBefore = attachedPrograms(node.netns, ["cni0"]);
    const bad = start(
      "agent-noif",
      agentArgv({
        netns: node.netns,
        control: c.url,
        node: "x",
        interfaces: ["cni0", "nosuch0"],
        interval: 1,
        joinToken: c.joinToken,
        stateDir: `${c.dir}/state-noif`,
        pinDir: c.pinDir,
      }),
    );
    const code = await new Promise<number | null>((r) => bad.child.on("exit", r));
    expect(code).toBe(1);
    expect(bad.output()).toMatch(/interfaces not found in this network namespace: nosuch0/);
    expect(attachedPrograms(node.netns, ["cni0"]).filter((id) => !cniBefore.includes(id))).toEqual([]);
    expect(existsSync(`${c.pinDir}/x`), "no pins of node x").toBe(false);
  }, 60_000);
});
