// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { buildPodIndex, endpointKey, endpointLabel, PodDirectory, type ServiceLookup } from "./attribution.ts";
import { DB, index, pod, REPORTS, WEB } from "./fixtures.test-support.ts";

describe("buildPodIndex", () => {
  it("resolves pod IPs of every node, v4 and v6 (any case), and the rest to the world", () => {
    const ix = index();
    expect(ix.resolve("10.0.1.2")).toEqual(WEB);
    expect(ix.resolve("FD00::2")).toEqual(DB);
    expect(ix.resolve("1.1.1.1", 443)).toEqual({ kind: "world", ip: "1.1.1.1" });
    expect(ix.byUid("u-db")).toEqual(DB);
    expect(ix.pods().map((p) => p.name)).toEqual(["db", "cache", "web"]);
    expect(ix.conflicts).toBe(0);
  });

  it("asks the service hook for non-pod addresses, with the port", () => {
    const services: ServiceLookup = (ip, port) =>
      ip === "10.96.0.10" && port === 53 ? { kind: "service", namespace: "kube-system", name: "dns" } : undefined;
    const ix = buildPodIndex(REPORTS, services);
    expect(ix.resolve("10.96.0.10", 53)).toEqual({ kind: "service", namespace: "kube-system", name: "dns" });
    expect(ix.resolve("10.96.0.10", 80)).toEqual({ kind: "world", ip: "10.96.0.10" });
    expect(ix.resolve("10.96.0.10")).toEqual({ kind: "world", ip: "10.96.0.10" });
  });

  it("leaves host-network pods out of the IP index but finds them by uid", () => {
    const ix = buildPodIndex([{
      node: "n",
      ts: 1,
      pods: [pod("u-h", "kube-proxy", ["192.168.1.10"], { hostNetwork: true })],
    }]);
    expect(ix.pod("192.168.1.10")).toBeUndefined();
    expect(ix.byUid("u-h")?.name).toBe("kube-proxy");
  });

  it("gives a reused IP to the newest report, whatever the order, and counts the conflict", () => {
    const old = { node: "node-a", ts: 1_000, pods: [pod("u-old", "old", ["10.0.9.9"])] };
    const fresh = { node: "node-b", ts: 2_000, pods: [pod("u-new", "new", ["10.0.9.9"])] };
    for (const reports of [[old, fresh], [fresh, old]]) {
      const ix = buildPodIndex(reports);
      expect(ix.pod("10.0.9.9")?.uid).toBe("u-new");
      expect(ix.conflicts).toBe(1);
    }
    // Same time: the node that sorts first wins.
    const tie = buildPodIndex([{ ...fresh, ts: 1_000 }, old]);
    expect(tie.pod("10.0.9.9")?.uid).toBe("u-old");
  });

  it("keys and labels", () => {
    expect(endpointKey(WEB)).toBe("pod:u-web");
    expect(endpointKey({ kind: "world", ip: "1.2.3.4" })).toBe("ip:1.2.3.4");
    expect(endpointKey({ kind: "service", namespace: "a", name: "b" })).toBe("svc:a/b");
    expect(endpointLabel(DB)).toBe("data/db");
  });
});

describe("PodDirectory", () => {
  it("replaces what a node reported before, ignores an older report, and hands a reused IP back when its newer claim goes", () => {
    const d = new PodDirectory();
    d.setNode("node-a", 1_000, [pod("u-web", "web", ["10.0.1.2"]), pod("u-cache", "cache", ["10.0.1.3"])]);
    d.setNode("node-b", 2_000, [pod("u-new", "new", ["10.0.1.3"])]);
    expect(d.pod("10.0.1.3")?.uid).toBe("u-new");
    expect(d.conflicts).toBe(1);
    // node-a's next report no longer lists cache: its IP and uid are gone from node-a's claims.
    d.setNode("node-a", 3_000, [pod("u-web", "web", ["10.0.1.2"])]);
    expect(d.byUid("u-cache")).toBeUndefined();
    expect(d.conflicts).toBe(0);
    // An older report of node-a (a resend) changes nothing.
    expect(d.setNode("node-a", 2_500, [])).toBe(false);
    expect(d.pod("10.0.1.2")?.uid).toBe("u-web");
    // node-b's pod goes; the address is nobody's now.
    d.setNode("node-b", 4_000, []);
    expect(d.resolve("10.0.1.3")).toEqual({ kind: "world", ip: "10.0.1.3" });
    expect(d.pods().map((p) => p.uid)).toEqual(["u-web"]);
  });
});
