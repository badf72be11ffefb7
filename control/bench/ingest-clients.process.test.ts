// SPDX-License-Identifier: Apache-2.0
/**
 * The bench's simulated agents (ingest-clients.ts) speak the real wire, against the real control plane in its own
 * process (ingest-scenario.ts): compact + gzip with each node's held hashes, or plain JSON, and either way the
 * server's database holds exactly what every node made. The bytes per flow record on the wire are what the
 * encodings make them (the compact one by hash after each node's first batch); no timing is asserted.
 */
import { describe, expect, it } from "vitest";
import type { Encoding } from "./ingest-result.ts";
import { runScenario, type ScenarioSettings } from "./ingest-scenario.ts";

const SETTINGS: ScenarioSettings = { shape: { pods: 4, flows: 40, interfaces: 2 }, intervalS: 1, drainS: 30, env: {} };
const NODES = 3;

async function run(encoding: Encoding) {
  // The load generator is forked with this process's Node flags, as under `npx tsx` the bench has tsx's loader;
  // a test runner's worker has none, so it is given here.
  const options = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${options ?? ""} --import tsx`;
  try {
    const r = await runScenario({ nodes: NODES, seconds: 4, encoding, runtime: "node" }, SETTINGS);
    return { r, c: r.client, perFlow: r.client.bodyBytesSent / r.client.flowRecordsSent };
  } finally {
    if (options === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = options;
  }
}

describe("the bench's simulated agents", () => {
  it("send compact with held hashes or plain JSON; the control plane holds exactly what each node made", async () => {
    const json = await run("json");
    const compact = await run("compact");
    for (const { r, c } of [json, compact]) {
      expect(r.totals).toEqual({ nodes: NODES, exact: NODES, differences: [] });
      expect([c.statuses, c.connectionErrors, c.unexpectedAnswers, c.errors]).toEqual([
        { 200: r.batches },
        0,
        0,
        [],
      ]);
      expect(c.flowRecordsSent).toBe(c.acceptedWhilePosting * SETTINGS.shape.flows);
    }
    // Gzipped columns: a fraction of the JSON; the steady state (inventory and pods by hash) smaller still.
    expect(compact.perFlow).toBeLessThan(json.perFlow / 5);
    const c = compact.c, steady = c.steadyBodyBytesSent / c.steadyFlowRecordsSent;
    const first = (c.bodyBytesSent - c.steadyBodyBytesSent) / (c.flowRecordsSent - c.steadyFlowRecordsSent);
    expect(steady, `first batches ${first.toFixed(1)} B per flow record`).toBeLessThan(first * 0.7);
    expect(json.c.steadyBodyBytesSent / json.c.steadyFlowRecordsSent).toBeCloseTo(json.perFlow, -1);
  }, 180_000);
});
