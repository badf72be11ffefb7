import { describe, expect, it } from "vitest";
import { aggregateFlows } from "./flows.ts";
import { flow, index, tcp } from "./fixtures.test-support.ts";
import { serviceMap } from "./servicemap.ts";
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
        { id: "pod:u-db", label: "data/db", kind: "pod" },
        { id: "pod:u-web", label: "default/web", kind: "pod" },
      ],
      edges: [
        { source: "ip:203.0.113.1", target: "pod:u-db", bytes: 40, connections: 2, failures: 1 },
        { source: "pod:u-web", target: "pod:u-db", bytes: 5_300, connections: 4, failures: 1 },
      ],
    });
  });
});
