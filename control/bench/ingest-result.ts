/** What one scenario of the ingest benchmark (ingest.ts) measured, for its reports. */
import type { ClientResult } from "./ingest-clients.ts";
import type { TotalsCheck } from "./ingest-totals.ts";

export interface ScenarioResult {
  nodes: number;
  p50: number;
  p99: number;
  max: number;
  recordsPerSec: number;
  batches: number;
  failed: number;
  serverCpu: number;
  loopP99: number;
  dbBytes: number;
  joinMs: number;
  runMs: number;
  maintenanceMs: number;
  maintenanceRuns: number;
  rolledRows: number;
  /**
   * Ingest answers timed inside the server (from the app receiving the request to its answer), while batches
   * were made: what the client's latencies are, less the load generator's own lag and the HTTP layer.
   */
  server: { acceptedMs: number[]; refusedMs: number[] };
  /** What the load generator saw, whole. */
  client: ClientResult;
  totals: TotalsCheck;
}

/** The p-quantile of `values` (nearest rank), NaN when there are none. */
export function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
