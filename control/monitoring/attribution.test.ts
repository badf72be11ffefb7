import { describe, expect, it } from "vitest";
import { buildPodIndex, endpointKey, endpointLabel, type ServiceLookup } from "./attribution.ts";
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
    const ix = buildPodIndex([{ node: "n", ts: 1, pods: [pod("u-h", "kube-proxy", ["192.168.1.10"], { hostNetwork: true })] }]);
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
