// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { aggregateFlows, dedupFlows, keepFlow, type NodeFlow } from "./flows.ts";
import { CACHE, DB, flow, index, WEB } from "./fixtures.test-support.ts";

const ix = index();
const at = (node: string, ...records: ReturnType<typeof flow>[]): NodeFlow[] =>
  records.map((record) => ({ node, record }));
const ACK = 16, SYN = 2, FIN = 1;

describe("keepFlow: each packet once", () => {
  it.each([
    ["tx of a pod", flow({ obs: "tx" }), true],
    ["rx from a pod", flow({ obs: "rx" }), false],
    ["rx from the world", flow({ obs: "rx", src: "8.8.8.8", dst: "10.0.1.2" }), true],
    ["host from a pod", flow({ obs: "host", src: "10.0.1.2", dst: "8.8.8.8" }), false],
    ["host to a pod", flow({ obs: "host", src: "8.8.8.8", dst: "10.0.1.2" }), false],
    ["host, neither a pod", flow({ obs: "host", src: "192.168.1.10", dst: "8.8.8.8" }), true],
  ])("%s", (_what, r, keep) => {
    expect(keepFlow(r, ix)).toBe(keep);
  });
});

describe("aggregateFlows", () => {
  it("pod → pod on one node: tx and rx of the same packets count once; replies fold into the reverse direction", () => {
    // web (client) → cache:6379 and back, both pods on node-a: node-a sees each packet twice.
    const q = {
      src: "10.0.1.2",
      dst: "10.0.1.3",
      port: 6379,
      toServer: true,
      packets: 10,
      bytes: 1_000,
      tcpFlags: SYN | ACK,
    };
    const a = {
      src: "10.0.1.3",
      dst: "10.0.1.2",
      port: 6379,
      toServer: false,
      packets: 8,
      bytes: 64_000,
      tcpFlags: ACK | FIN,
    };
    const flows = at(
      "node-a",
      flow({ ...q, obs: "tx" }),
      flow({ ...q, obs: "rx" }),
      flow({ ...a, obs: "tx" }),
      flow({ ...a, obs: "rx" }),
    );
    expect(dedupFlows(flows, ix).duplicates).toBe(2);
    expect(aggregateFlows(flows, ix, { dedup: true })).toEqual([
      {
        node: "node-a",
        client: WEB,
        server: CACHE,
        port: 6379,
        proto: 6,
        fwdPackets: 10,
        fwdBytes: 1_000,
        revPackets: 8,
        revBytes: 64_000,
        tcpFlags: SYN | ACK | FIN,
      },
    ]);
  });

  it("pod → pod across nodes: both nodes' records given, counted once (forward from the client's node, reverse from the server's)", () => {
    const q = { src: "10.0.1.2", dst: "10.0.2.2", toServer: true, packets: 3, bytes: 300 };
    const a = { src: "10.0.2.2", dst: "10.0.1.2", toServer: false, packets: 2, bytes: 5_000 };
    const flows = [
      ...at(
        "node-a",
        flow({ ...q, obs: "tx" }),
        flow({ ...a, obs: "rx" }),
        flow({ ...q, obs: "host" }),
        flow({ ...a, obs: "host" }),
      ),
      ...at(
        "node-b",
        flow({ ...q, obs: "rx" }),
        flow({ ...a, obs: "tx" }),
        flow({ ...q, obs: "host" }),
        flow({ ...a, obs: "host" }),
      ),
    ];
    const rows = aggregateFlows(flows, ix, { dedup: true });
    expect(rows).toEqual([
      {
        node: "node-a",
        client: WEB,
        server: DB,
        port: 5432,
        proto: 6,
        fwdPackets: 3,
        fwdBytes: 300,
        revPackets: 0,
        revBytes: 0,
        tcpFlags: 0,
      },
      {
        node: "node-b",
        client: WEB,
        server: DB,
        port: 5432,
        proto: 6,
        fwdPackets: 0,
        fwdBytes: 0,
        revPackets: 2,
        revBytes: 5_000,
        tcpFlags: 0,
      },
    ]);
  });

  it("world → pod: the pod's rx is kept, the host interface's copy is not", () => {
    const q = { src: "203.0.113.7", dst: "10.0.1.2", port: 443, toServer: true, packets: 4, bytes: 400 };
    const a = { src: "10.0.1.2", dst: "203.0.113.7", port: 443, toServer: false, packets: 5, bytes: 9_000 };
    const flows = at(
      "node-a",
      flow({ ...q, obs: "host" }),
      flow({ ...q, obs: "rx" }),
      flow({ ...a, obs: "tx" }),
      flow({ ...a, obs: "host" }),
    );
    expect(aggregateFlows(flows, ix, { dedup: true })).toEqual([
      {
        node: "node-a",
        client: { kind: "world", ip: "203.0.113.7" },
        server: WEB,
        port: 443,
        proto: 6,
        fwdPackets: 4,
        fwdBytes: 400,
        revPackets: 5,
        revBytes: 9_000,
        tcpFlags: 0,
      },
    ]);
  });

  it("pod → world (UDP): the pod's tx and the world's reply via rx", () => {
    const q = { src: "10.0.2.2", dst: "1.1.1.1", port: 53, proto: 17, toServer: true, packets: 1, bytes: 70 };
    const a = { src: "1.1.1.1", dst: "10.0.2.2", port: 53, proto: 17, toServer: false, packets: 1, bytes: 120 };
    const flows = at(
      "node-b",
      flow({ ...q, obs: "tx" }),
      flow({ ...q, obs: "host" }),
      flow({ ...a, obs: "host" }),
      flow({ ...a, obs: "rx" }),
    );
    expect(aggregateFlows(flows, ix, { dedup: true })).toEqual([
      {
        node: "node-b",
        client: DB,
        server: { kind: "world", ip: "1.1.1.1" },
        port: 53,
        proto: 17,
        fwdPackets: 1,
        fwdBytes: 70,
        revPackets: 1,
        revBytes: 120,
        tcpFlags: 0,
      },
    ]);
  });

  it("records the agent already folded by service port sum into one row; other ports, protocols and IPv6 stay apart", () => {
    const flows = at(
      "node-a",
      flow({ packets: 2, bytes: 200 }), // from client port A, folded by the agent into port 5432
      flow({ packets: 3, bytes: 300 }), // from client port B, same service port
      flow({ port: 5433, packets: 1, bytes: 10 }),
      flow({ proto: 17, packets: 1, bytes: 20 }),
    );
    const rows = aggregateFlows(flows, ix, { dedup: true });
    expect(rows.map((r) => [r.port, r.proto, r.fwdPackets, r.fwdBytes])).toEqual([
      [5432, 17, 1, 20],
      [5432, 6, 5, 500],
      [5433, 6, 1, 10],
    ]);
  });

  it("host traffic between non-pod addresses is kept and stays as IPs", () => {
    const flows = at(
      "node-a",
      flow({ src: "192.168.1.10", dst: "192.168.1.1", port: 22, obs: "host", packets: 7, bytes: 700 }),
    );
    const [row] = aggregateFlows(flows, ix, { dedup: true });
    expect(row.client).toEqual({ kind: "world", ip: "192.168.1.10" });
    expect(row.server).toEqual({ kind: "world", ip: "192.168.1.1" });
    expect(row.fwdBytes).toBe(700);
  });
});
