// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { aggregateDrops, dropsByPodAndReason, dropsByReason } from "./drops.ts";
import { drop, index, WEB } from "./fixtures.test-support.ts";

describe("aggregateDrops", () => {
  it("sums per (node, pod, interface, reason); a record without pod is the node's", () => {
    const rows = aggregateDrops(
      [
        {
          node: "node-a",
          record: drop({ pod: "u-web", ifname: "veth1", reason: "TCP_INVALID_SEQUENCE", packets: 2, bytes: 120 }),
        },
        {
          node: "node-a",
          record: drop({ pod: "u-web", ifname: "veth1", reason: "TCP_INVALID_SEQUENCE", packets: 3, bytes: 180 }),
        },
        {
          node: "node-a",
          record: drop({ pod: "u-web", ifname: "veth1", reason: "NETFILTER_DROP", packets: 1, bytes: 60 }),
        },
        { node: "node-a", record: drop({ ifname: "eth0", reason: "NETFILTER_DROP", packets: 7, bytes: 420 }) },
        { node: "node-b", record: drop({ reason: "NO_SOCKET", packets: 4, bytes: 240 }) },
      ],
      index(),
    );
    expect(rows).toEqual([
      { node: "node-a", pod: WEB, ifname: "veth1", reason: "NETFILTER_DROP", packets: 1, bytes: 60 },
      { node: "node-a", pod: WEB, ifname: "veth1", reason: "TCP_INVALID_SEQUENCE", packets: 5, bytes: 300 },
      { node: "node-a", ifname: "eth0", reason: "NETFILTER_DROP", packets: 7, bytes: 420 },
      { node: "node-b", reason: "NO_SOCKET", packets: 4, bytes: 240 },
    ]);
    expect(dropsByReason(rows)).toEqual([
      { reason: "NETFILTER_DROP", packets: 8, bytes: 480 },
      { reason: "TCP_INVALID_SEQUENCE", packets: 5, bytes: 300 },
      { reason: "NO_SOCKET", packets: 4, bytes: 240 },
    ]);
  });

  it("a record's service is part of the key: the same pod, interface and reason split by service", () => {
    const web = { pod: "u-web", ifname: "veth1", reason: "NETFILTER_DROP" };
    const rows = aggregateDrops(
      [
        { node: "node-a", record: drop({ ...web, service: "data/db", packets: 2, bytes: 120 }) },
        { node: "node-a", record: drop({ ...web, packets: 4, bytes: 240 }) },
        { node: "node-a", record: drop({ ...web, service: "data/db", packets: 3, bytes: 180 }) },
        { node: "node-a", record: drop({ ...web, service: "shop/api", packets: 1, bytes: 60 }) },
      ],
      index(),
    );
    const at = { node: "node-a", pod: WEB, ifname: "veth1", reason: "NETFILTER_DROP" };
    expect(rows).toEqual([
      { ...at, packets: 4, bytes: 240 },
      { ...at, service: { kind: "service", namespace: "data", name: "db" }, packets: 5, bytes: 300 },
      { ...at, service: { kind: "service", namespace: "shop", name: "api" }, packets: 1, bytes: 60 },
    ]);
    // Over nodes, interfaces and services, per pod and reason (a service's page).
    expect(dropsByPodAndReason([...rows, { node: "node-b", reason: "NO_SOCKET", packets: 20, bytes: 1 }])).toEqual([
      { reason: "NO_SOCKET", packets: 20, bytes: 1 },
      { pod: WEB, reason: "NETFILTER_DROP", packets: 10, bytes: 600 },
    ]);
  });

  it("a pod the index no longer knows stays named by its uid", () => {
    const [row] = aggregateDrops([{ node: "node-b", record: drop({ pod: "u-gone" }) }], index());
    expect(row.pod).toEqual({ kind: "pod", uid: "u-gone", namespace: "", name: "", node: "node-b" });
  });
});
