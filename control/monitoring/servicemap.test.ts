// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { buildPodIndex, type ServiceEndpoint } from "./attribution.ts";
import { aggregateFlows } from "./flows.ts";
import { flow, index, REPORTS, tcp } from "./fixtures.test-support.ts";
import { serviceMap, subnetOf } from "./servicemap.ts";
import { aggregateTcp } from "./tcp.ts";

describe("serviceMap", () => {
  it("one edge per client → server: bytes both ways, connections once, failures", () => {
    const ix = index();
    const flows = aggregateFlows(
      [
        { node: "node-a", record: flow({ bytes: 300 }) },
        { node: "node-b", record: flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, bytes: 5_000 }) },
        { node: "node-b", record: flow({ src: "203.0.113.1", dst: "10.0.2.2", obs: "rx", bytes: 40 }) },
      ],
      ix,
      { dedup: true },
    );
    const tcpRows = aggregateTcp(
      [
        { node: "node-a", record: tcp({ opened: 4, failedRefused: 1 }) },
        // the server's view of the same connections: not counted again
        {
          node: "node-b",
          record: tcp({ pod: "u-db", local: "10.0.2.2", remote: "10.0.1.2", role: "server", opened: 4 }),
        },
        // a world client seen only by the server
        {
          node: "node-b",
          record: tcp({
            pod: "u-db",
            local: "10.0.2.2",
            remote: "203.0.113.1",
            role: "server",
            opened: 2,
            failedTimeout: 1,
          }),
        },
      ],
      ix,
    );
    expect(serviceMap(flows, tcpRows)).toEqual({
      nodes: [
        { id: "ip:203.0.113.1", label: "203.0.113.1", kind: "world" },
        { id: "pod:u-db", label: "data/db", kind: "pod", namespace: "data" },
        { id: "pod:u-web", label: "default/web", kind: "pod", namespace: "default" },
      ],
      edges: [
        { source: "ip:203.0.113.1", target: "pod:u-db", bytes: 40, connections: 2, failures: 1, avgSrttUs: null },
        { source: "pod:u-web", target: "pod:u-db", bytes: 5_300, connections: 4, failures: 1, avgSrttUs: null },
      ],
      dns: [],
    });
  });

  // data/db: VIP 10.96.0.30:5432, its backend the db pod 10.0.2.2:5432.
  const DB_SVC: ServiceEndpoint = { kind: "service", namespace: "data", name: "db" };
  const withService = () =>
    buildPodIndex(
      REPORTS,
      (ip, port) => (ip === "10.96.0.30" && port === 5432 ? DB_SVC : undefined),
      (ip, port) => (ip === "10.0.2.2" && port === 5432 ? DB_SVC : undefined),
    );

  it("clients → service → backends: a backend's traffic passes through its service; a VIP's stops there", () => {
    const ix = withService();
    const flows = aggregateFlows(
      [
        { node: "node-a", record: flow({ bytes: 300 }) }, // web → backend (socket LB or direct)
        { node: "node-a", record: flow({ dst: "10.96.0.30", bytes: 70 }) }, // web → VIP: no backend known
        { node: "node-b", record: flow({ src: "203.0.113.1", dst: "10.0.2.2", obs: "rx", bytes: 40 }) }, // gateway
        { node: "node-a", record: flow({ dst: "10.0.2.2", port: 9000, bytes: 5 }) }, // not a service port
      ],
      ix,
      { dedup: true },
    );
    const tcpRows = aggregateTcp(
      [
        { node: "node-a", record: tcp({ opened: 4, failedRefused: 1, srttUsSum: 800, srttSamples: 4 }) },
        {
          node: "node-b",
          record: tcp({ pod: "u-db", local: "10.0.2.2", remote: "203.0.113.1", role: "server", opened: 2 }),
        },
      ],
      ix,
    );
    const edge = (source: string, target: string, bytes: number, connections = 0, failures = 0, avgSrttUs = null) => ({
      source,
      target,
      bytes,
      connections,
      failures,
      avgSrttUs,
    });
    const map = serviceMap(flows, tcpRows);
    expect(map.edges).toEqual([
      edge("ip:203.0.113.1", "svc:data/db", 40, 2),
      edge("pod:u-web", "pod:u-db", 5),
      { ...edge("pod:u-web", "svc:data/db", 370, 4, 1), avgSrttUs: 200 },
      { ...edge("svc:data/db", "pod:u-db", 340, 6, 1), avgSrttUs: 200 },
    ]);
    expect(map.nodes.find((n) => n.id === "svc:data/db")).toEqual({
      id: "svc:data/db",
      label: "data/db",
      kind: "service",
      namespace: "data",
    });
    // A service's own edges: its clients and its backends.
    expect(serviceMap(flows, tcpRows, { service: { namespace: "data", name: "db" } }).edges.map((e) => e.source))
      .toEqual(["ip:203.0.113.1", "pod:u-web", "svc:data/db"]);
    expect(serviceMap(flows, tcpRows, { service: { namespace: "data", name: "other" } })).toEqual({
      nodes: [],
      edges: [],
      dns: [],
    });
  });

  it("groups addresses outside the pods by subnet when there are many, then as one world node", () => {
    const ix = index();
    const clients = (n: number, net: (i: number) => string) =>
      aggregateFlows(
        [...Array(n).keys()].map((i) => ({
          node: "node-b",
          record: flow({ src: net(i), dst: "10.0.2.2", obs: "rx", bytes: 10 }),
        })),
        ix,
      );
    const few = serviceMap(clients(3, (i) => `198.51.100.${i + 1}`), [], { maxWorldNodes: 3 });
    expect(few.nodes.filter((n) => n.kind === "world")).toHaveLength(3);

    const bySubnet = serviceMap(clients(8, (i) => `198.51.${100 + (i % 2)}.${i + 1}`), [], { maxWorldNodes: 3 });
    expect(bySubnet.edges).toEqual([
      { source: "net:198.51.100.0/24", target: "pod:u-db", bytes: 40, connections: 0, failures: 0, avgSrttUs: null },
      { source: "net:198.51.101.0/24", target: "pod:u-db", bytes: 40, connections: 0, failures: 0, avgSrttUs: null },
    ]);
    expect(bySubnet.nodes[0]).toEqual({
      id: "net:198.51.100.0/24",
      label: "198.51.100.0/24 (4 addresses)",
      kind: "world",
    });

    // Grouped after filtering: a namespace's few outside clients stay themselves, whatever the cluster holds.
    const others = aggregateFlows(
      [...Array(8).keys()].map((i) => ({
        node: "node-a",
        record: flow({ src: "10.0.1.2", dst: `203.0.113.${i + 1}`, port: 443 }),
      })),
      ix,
    );
    const data = serviceMap([...clients(2, (i) => `198.51.100.${i + 1}`), ...others], [], {
      maxWorldNodes: 3,
      namespace: "data",
    });
    expect(data.nodes.map((n) => n.id)).toEqual(["ip:198.51.100.1", "ip:198.51.100.2", "pod:u-db"]);

    const world = serviceMap(clients(8, (i) => `198.51.${100 + i}.1`), [], { maxWorldNodes: 3 });
    expect(world.edges).toEqual([
      { source: "world", target: "pod:u-db", bytes: 80, connections: 0, failures: 0, avgSrttUs: null },
    ]);
    expect(world.nodes.find((n) => n.id === "world")?.label).toBe("outside the cluster (8 addresses)");
  });

  it("subnets: IPv4 /24, IPv6 /64 whatever the abbreviation", () => {
    expect(subnetOf("203.0.113.77")).toBe("203.0.113.0/24");
    expect(subnetOf("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(subnetOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(subnetOf("::1")).toBe("0:0:0:0::/64");
    expect(subnetOf("2001:db8::5:6:7:8:9")).toBe("2001:db8:0:5::/64");
  });
});
