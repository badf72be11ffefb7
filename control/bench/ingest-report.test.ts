// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import type { Boundary } from "./ingest-boundary.ts";
import { targetLines } from "./ingest-report.ts";
import type { ScenarioResult } from "./ingest-result.ts";

/** A scenario's result with only what the targets read. */
function result(r: {
  nodes: number;
  p99?: number;
  cpuPerBatchMs?: number;
  wireBytesPerFlow?: number | null;
  failed?: number;
  boundaries?: Boundary[];
  exact?: number;
}): ScenarioResult {
  const none = { count: 0, p50: NaN, p99: NaN, max: NaN };
  return {
    nodes: r.nodes,
    p50: 1,
    p99: r.p99 ?? 10,
    max: 100,
    batchesPerSec: 100,
    cpuPerBatchMs: r.cpuPerBatchMs ?? 1,
    loopP99: 5,
    dbBytesPerNodeHour: 1,
    wireBytesPerFlow: r.wireBytesPerFlow ?? null,
    failed: r.failed ?? 0,
    runMs: 750_000,
    totals: { nodes: r.nodes, exact: r.exact ?? r.nodes, differences: [] },
    server: { boundaries: r.boundaries ?? [], acceptedMs: none, refusedMs: none },
  } as unknown as ScenarioResult;
}

const crossed: Boundary = {
  at: 600_000,
  rollupRunAt: 630_000,
  before: { count: 1, p50: 1, p99: 1, max: 1 },
  after: { count: 1, p50: 1, p99: 1, max: 1 },
  refusedBefore: 0,
  refusedAfter: 0,
};

describe("targetLines", () => {
  it("divides plain JSON's CPU per batch by compact's: met from 4", () => {
    const at = (json: number) =>
      targetLines({
        json: result({ nodes: 1000, cpuPerBatchMs: json }),
        compact: result({ nodes: 1000, cpuPerBatchMs: 1 }),
      });
    expect(at(4).met).toBe(true);
    expect(at(4).lines[0]).toMatch(/plain JSON ÷ compact 4\.00 .*: met$/);
    expect(at(3.9).met).toBe(false);
    expect(at(3.9).lines[0]).toMatch(/NOT met$/);
  });

  it("holds 1,000 nodes to p99 under 50 ms and compact to 16 B per flow record", () => {
    expect(targetLines({ compact: result({ nodes: 1000, p99: 49.9, wireBytesPerFlow: 16 }) }).met).toBe(true);
    expect(targetLines({ compact: result({ nodes: 1000, p99: 50 }) }).met).toBe(false);
    expect(targetLines({ compact: result({ nodes: 1000, wireBytesPerFlow: 16.1 }) }).met).toBe(false);
  });

  it("meets the long scenario's target only across a rollup boundary, under 250 ms, with no failure, totals exact", () => {
    const long = (r: Parameters<typeof result>[0]) => targetLines({}, result({ boundaries: [crossed], ...r }));
    expect(long({ nodes: 5000, p99: 249 }).met).toBe(true);
    expect(long({ nodes: 5000, p99: 250 }).met).toBe(false);
    expect(long({ nodes: 5000, failed: 1 }).met).toBe(false);
    expect(long({ nodes: 5000, exact: 4999 }).met).toBe(false);
    expect(long({ nodes: 5000, boundaries: [] }).lines[0]).toMatch(/NO 1 h rollup boundary inside.*NOT met$/);
    expect(long({ nodes: 5000, boundaries: [{ ...crossed, rollupRunAt: null }] }).met).toBe(false);
  });
});
