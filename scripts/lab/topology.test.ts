// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { findPod, topology } from "./topology.ts";

describe("lab topology", () => {
  const t = topology({ name: "lab", index: 2, nodes: 3, podsPerNode: 4, outside: true });
  const out = t.outside!;

  it("gives every node its own pod CIDR and a subnet address", () => {
    expect(t.nodes.map((n) => n.podCidr)).toEqual(["10.244.33.0/24", "10.244.34.0/24", "10.244.35.0/24"]);
    expect(t.nodes.map((n) => n.ip)).toEqual(["10.250.2.11", "10.250.2.12", "10.250.2.13"]);
    expect(t.hostIp).toBe("10.250.2.1");
  });

  it("keeps every address and MAC unique and every interface name within 15 bytes", () => {
    const pods = t.nodes.flatMap((n) => n.pods);
    const ips = [t.hostIp, out.ip, ...t.nodes.flatMap((n) => [n.ip, n.gatewayIp]), ...pods.map((p) => p.ip)];
    const macs = [
      t.hostBridgeMac,
      out.mac,
      out.uplinkPeerMac,
      ...t.nodes.flatMap((n) => [n.mac, n.uplinkPeerMac, n.bridgeMac]),
      ...pods.flatMap((p) => [p.mac, p.hostVethMac]),
    ];
    expect(new Set(ips).size).toBe(ips.length);
    expect(new Set(macs).size).toBe(macs.length);
    for (const m of macs) expect(m).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    const names = [t.subnetBridge, out.uplinkPeer, ...t.nodes.map((n) => n.uplinkPeer), ...pods.map((p) => p.hostVeth)];
    for (const n of names) expect(n.length).toBeLessThanOrEqual(15);
  });

  it("names namespaces under the lab's prefix so teardown can find them", () => {
    for (const n of t.nodes) {
      expect(n.netns.startsWith("ek8s-lab-")).toBe(true);
      for (const p of n.pods) expect(p.netns.startsWith(`${n.netns}-`)).toBe(true);
    }
    expect(out.netns.startsWith("ek8s-lab-")).toBe(true);
    expect(findPod(t, "n2-p3").pod.ip).toBe("10.244.34.13");
    expect(() => findPod(t, "n9-p1")).toThrow(/no pod 'n9-p1'/);
  });

  it("has an outside client on the nodes' subnet only when asked, past any node's address", () => {
    expect(out.ip).toBe("10.250.2.200");
    expect(topology({ name: "lab", index: 2, nodes: 15, podsPerNode: 0 }).outside).toBeNull();
    expect(topology({ name: "lab", index: 2, nodes: 15, podsPerNode: 0, outside: true }).nodes.at(-1)!.ip)
      .toBe("10.250.2.25");
  });

  it("refuses options that would collide or overflow names", () => {
    expect(() => topology({ name: "toolongname", index: 0, nodes: 1, podsPerNode: 1 })).toThrow(/1-5 characters/);
    expect(() => topology({ name: "lab", index: 16, nodes: 1, podsPerNode: 1 })).toThrow(/0..15/);
    expect(() => topology({ name: "lab", index: 0, nodes: 0, podsPerNode: 1 })).toThrow(/1..15/);
  });
});
