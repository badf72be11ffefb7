/**
 * End to end on the real kernel: control plane and agent as real processes,
 * a quiet lab node, an exact number of packets of known size, and the totals
 * read back from the JSON API — equal to what we sent and to the kernel's own
 * interface statistics.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, labUp } from "../lab/lab.ts";
import { agentArgv, controlArgv, type Proc, start, waitFor } from "../procs.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing();
const PORT = 18_000 + (process.pid % 1000);
const N = 25; // packets each way
const SIZE = 300; // ICMP payload: frame = SIZE + 8 (ICMP) + 20 (IPv4) + 14 (Ethernet)
const FRAME = SIZE + 8 + 20 + 14;

interface ApiIf { ifname: string; rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; drops: number }

const kernelStats = (netns: string, ifname: string) => {
  const [link] = JSON.parse(execFileSync("ip", ["-n", netns, "-s", "-j", "link", "show", ifname], { encoding: "utf8" }));
  const s = link.stats64;
  return { rxPackets: s.rx.packets, rxBytes: s.rx.bytes, txPackets: s.tx.packets, txBytes: s.tx.bytes };
};

describe.skipIf(missing)("walking skeleton end to end", () => {
  let lab: Lab;
  let control: Proc;
  let agent: Proc;
  let dir: string;
  const api = (path: string) => fetch(`http://127.0.0.1:${PORT}${path}`).then((r) => r.json());

  beforeAll(async () => {
    dir = mkdtempSync(`${tmpdir()}/ek8s-e2e-`);
    lab = labUp({ name: "e2e", index: 9, nodes: 1, podsPerNode: 2 });
    control = start("control", controlArgv(), { PORT: String(PORT), HOST: "0.0.0.0", DATABASE_URL: `file:${dir}/db.sqlite` });
    await waitFor("control plane", async () => (await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok, 30_000);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await control?.stop();
    lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts exactly what was sent, as the kernel does, and cleans up on SIGTERM", async () => {
    const node = lab.topology.nodes[0];
    const [p1, p2] = node.pods;
    agent = start("agent", agentArgv({
      netns: node.netns, control: `http://${lab.topology.hostIp}:${PORT}`, node: "e2e-n1",
      interfaces: ["cni0", p1.hostVeth, p2.hostVeth], interval: 0.5,
    }));
    await waitFor("the agent's first batch", async () => {
      const ifs = (await api("/api/v1/nodes/e2e-n1/interfaces")) as ApiIf[];
      return Array.isArray(ifs) && ifs.length === 3;
    }, 60_000).catch((e) => { throw new Error(`${e.message}\nagent output:\n${agent.output()}\ncontrol output:\n${control.output()}`); });

    const before = { v1: kernelStats(node.netns, p1.hostVeth), v2: kernelStats(node.netns, p2.hostVeth), br: kernelStats(node.netns, "cni0") };
    // pod 1 -> pod 2 (bridged: vethp1 and vethp2 only) and pod 1 -> gateway (reaches cni0 itself).
    execFileSync("ip", ["netns", "exec", p1.netns, "ping", "-q", "-c", String(N), "-i", "0.01", "-s", String(SIZE), p2.ip]);
    execFileSync("ip", ["netns", "exec", p1.netns, "ping", "-q", "-c", String(N), "-i", "0.01", "-s", String(SIZE), node.gatewayIp]);
    const after = { v1: kernelStats(node.netns, p1.hostVeth), v2: kernelStats(node.netns, p2.hostVeth), br: kernelStats(node.netns, "cni0") };

    const byName = await waitFor("totals to arrive", async () => {
      const ifs = (await api("/api/v1/nodes/e2e-n1/interfaces")) as ApiIf[];
      const m = Object.fromEntries(ifs.map((i) => [i.ifname, i]));
      return m[p1.hostVeth].rxPackets === 2 * N && m.cni0.rxPackets === N ? m : null;
    }, 20_000);

    // Exactly what we sent: requests enter the host side of pod 1's veth, replies leave it.
    expect(byName[p1.hostVeth]).toMatchObject({ rxPackets: 2 * N, rxBytes: 2 * N * FRAME, txPackets: 2 * N, txBytes: 2 * N * FRAME, drops: 0 });
    expect(byName[p2.hostVeth]).toMatchObject({ rxPackets: N, rxBytes: N * FRAME, txPackets: N, txBytes: N * FRAME });
    // A bridge's own RX statistics leave out the Ethernet header (br_pass_frame_up); the agent follows the kernel.
    expect(byName.cni0).toMatchObject({ rxPackets: N, rxBytes: N * (FRAME - 14), txPackets: N, txBytes: N * FRAME });
    // And exactly what the kernel's own interface statistics counted over the same window.
    const delta = (a: ReturnType<typeof kernelStats>, b: typeof a) =>
      ({ rxPackets: b.rxPackets - a.rxPackets, rxBytes: b.rxBytes - a.rxBytes, txPackets: b.txPackets - a.txPackets, txBytes: b.txBytes - a.txBytes });
    expect(delta(before.v1, after.v1)).toEqual(pick(byName[p1.hostVeth]));
    expect(delta(before.v2, after.v2)).toEqual(pick(byName[p2.hostVeth]));
    expect(delta(before.br, after.br)).toEqual(pick(byName.cni0));

    const nodes = (await api("/api/v1/nodes")) as { name: string; lastSeen: string }[];
    expect(nodes.map((n) => n.name)).toContain("e2e-n1");

    // SIGTERM: the agent detaches everything it attached and exits 0.
    expect(await agent.stop()).toBe(0);
    for (const dev of ["cni0", p1.hostVeth, p2.hostVeth]) {
      expect(execFileSync("ip", ["netns", "exec", node.netns, "tc", "qdisc", "show", "dev", dev], { encoding: "utf8" })).not.toMatch(/clsact/);
      expect(execFileSync("ip", ["netns", "exec", node.netns, "tc", "filter", "show", "dev", dev, "ingress"], { encoding: "utf8" })).toBe("");
    }
    expect(ourPrograms()).toEqual([]);
  }, 120_000);

  it("refuses bad flags with a message naming the flag", async () => {
    const bad = start("agent-bad", agentArgv({ control: "not-a-url", node: "Bad_Name", interfaces: ["lo"], interval: 1 }));
    const code = await new Promise<number | null>((r) => bad.child.on("exit", r));
    expect(code).toBe(2);
    expect(bad.output()).toMatch(/--control: must be an http\(s\) URL/);
    expect(bad.output()).toMatch(/--node: must be a lowercase RFC 1123 name/);
  }, 60_000);

  it("refuses an interface that does not exist, naming it, and leaves nothing attached", async () => {
    const node = lab.topology.nodes[0];
    const progsBefore = ourPrograms();
    const bad = start("agent-noif", agentArgv({ netns: node.netns, control: "http://127.0.0.1:1", node: "x", interfaces: ["cni0", "nosuch0"], interval: 1 }));
    const code = await new Promise<number | null>((r) => bad.child.on("exit", r));
    expect(code).toBe(1);
    expect(bad.output()).toMatch(/interfaces not found in this network namespace: nosuch0/);
    expect(ourPrograms()).toEqual(progsBefore);
  }, 60_000);
});

const pick = (i: ApiIf) => ({ rxPackets: i.rxPackets, rxBytes: i.rxBytes, txPackets: i.txPackets, txBytes: i.txBytes });

/** ids of loaded ifstats programs, machine-wide. */
const ourPrograms = () =>
  (JSON.parse(execFileSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" })) as { id: number; name?: string }[])
    .filter((p) => p.name?.startsWith("ifstats_")).map((p) => p.id);
