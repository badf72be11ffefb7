// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest bench's server process (ingest-server.ts through ingest-server-process.ts), under Node and under
 * Deno: it serves the real app, counts and times what it accepted while measuring, and checks every node's totals
 * in its own database against what the bench says the nodes sent. A few batches over HTTP, exact counts; no
 * timing is asserted. The process ends after its result (its temp dir removed), or is killed on failure.
 */
import { afterEach, describe, expect, it } from "vitest";
import { BenchServer, type ServerRuntime } from "./ingest-server-process.ts";
import { batchFor, inventoryFor, nodeName, type NodeShape } from "./simulated-node.ts";

const SHAPE: NodeShape = { pods: 3, flows: 10, interfaces: 2 };
const NODES = 2, BATCHES = 3;

describe.each<ServerRuntime>(["node", "deno"])("bench server under %s", (runtime) => {
  let server: BenchServer | undefined;
  afterEach(() => server?.stop());

  it("counts the batches accepted while measuring, and finds the totals exact only when they are", async () => {
    server = await BenchServer.start(runtime, { env: {} });
    const post = (path: string, body: unknown, credential?: string) =>
      fetch(`${server!.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const nodes: Array<{ bootId: string; credential: string }> = [];
    for (let i = 0; i < NODES; i++) {
      const joined = await post("/api/v1/join", { token: server.joinToken, node: nodeName(i) });
      expect(joined.status).toBe(200);
      nodes.push({ bootId: crypto.randomUUID(), credential: (await joined.json()).credential as string });
    }
    const send = async (i: number, seq: number) => {
      const batch = batchFor(i, NODES, nodes[i]!.bootId, seq, 10, inventoryFor(SHAPE.interfaces), SHAPE);
      expect((await post("/api/v1/ingest", batch, nodes[i]!.credential)).status).toBe(200);
    };
    // Node 0's first batch before measuring: stored, not counted.
    await send(0, 1);
    server.measure(true);
    await new Promise((ok) => setTimeout(ok, 100)); // the message is on its way; an answer after it is counted
    for (let seq = 2; seq <= BATCHES; seq++) await send(0, seq);
    for (let seq = 1; seq <= BATCHES; seq++) await send(1, seq);
    server.measure(false);
    // Node 1 claims one batch more than it sent: its totals are not exact.
    const result = await server.finish({
      nodes: nodes.map((n, i) => ({ bootId: n.bootId, made: BATCHES + i, acked: BATCHES })),
      shape: SHAPE,
      since: Date.now() - 60_000,
    });
    expect(result.runtime).toMatch(runtime === "deno" ? /^deno / : /^node /);
    expect(result.accepted).toBe(2 * BATCHES - 1);
    expect(result.acceptedMs.count).toBe(2 * BATCHES - 1);
    expect(result.refusedMs.count).toBe(0);
    expect(result.cpuMs).toBeGreaterThan(0);
    expect(result.totals.nodes).toBe(NODES);
    expect(result.totals.exact).toBe(1);
    expect(result.totals.differences.join()).toContain(`${nodeName(1)}: boot and last seq`);
  }, 120_000);
});
