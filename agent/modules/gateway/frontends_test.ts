// SPDX-License-Identifier: Apache-2.0
/** What the gateway programs of an LbState: external IPs at the port, NodePorts on any node address; ClusterIP-only services nothing. */
import type { LbService } from "../../../control/wire/services.ts";
import { assertEquals } from "../../testing/assert.ts";
import { ANY_NODE_ADDRESS, externalAddresses, gatewayState } from "./frontends.ts";

const base: LbService = {
  id: 1,
  namespace: "d",
  name: "a",
  portName: "",
  vip: "10.96.0.1",
  port: 80,
  protocol: "TCP",
  affinity: "none",
  affinityTimeoutS: 10800,
  tableSize: 251,
  backends: [],
  type: "ClusterIP",
  externalIPs: [],
};

Deno.test("gatewayState: frontends of external IPs and NodePorts, same id, table size and backends", () => {
  const state = {
    version: 4,
    services: [
      base,
      {
        ...base,
        id: 2,
        name: "b",
        type: "LoadBalancer" as const,
        nodePort: 30080,
        externalIPs: ["203.0.113.7", "203.0.113.8"],
      },
      { ...base, id: 3, name: "c", type: "ClusterIP" as const, externalIPs: ["203.0.113.9"], protocol: "UDP" as const },
    ],
  };
  const gw = gatewayState(state);
  assertEquals(gw.version, 4);
  assertEquals(gw.services.map((s) => [s.id, s.vip, s.port, s.protocol, s.tableSize]), [
    [2, "203.0.113.7", 80, "TCP", 251],
    [2, "203.0.113.8", 80, "TCP", 251],
    [2, ANY_NODE_ADDRESS, 30080, "TCP", 251],
    [3, "203.0.113.9", 80, "UDP", 251],
  ]);
  assertEquals(externalAddresses(gw), ["203.0.113.7", "203.0.113.8", "203.0.113.9"]);
});
