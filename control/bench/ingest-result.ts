// SPDX-License-Identifier: Apache-2.0
/** What one scenario of the ingest benchmark (ingest.ts) measured, for its reports. */
import type { ClientResult } from "./ingest-clients.ts";
import type { ServerResult, ServerRuntime } from "./ingest-server-process.ts";
import type { TotalsCheck } from "./ingest-totals.ts";

/** How the simulated agents encode their batches: plain JSON (wire version 3 and before) or compact + gzip. */
export type Encoding = "json" | "compact";

export interface Scenario {
  nodes: number;
  encoding: Encoding;
  /** The control plane's runtime (the load generator is a Node process either way). */
  runtime: ServerRuntime;
  /** How long batches are made. */
  seconds: number;
  /** EBPF_K8S_* settings of this scenario's control plane beyond the bench's own. */
  env?: Record<string, string>;
}

export interface ScenarioResult {
  scenario: Scenario;
  nodes: number;
  /** Client-measured, per accepted batch (ms): what an agent waits. */
  p50: number;
  p99: number;
  max: number;
  /** Batches and flow + TCP + drop records accepted per second while batches were made. */
  batchesPerSec: number;
  recordsPerSec: number;
  batches: number;
  /** Answers other than 200 (refusals included) and requests with no answer. */
  failed: number;
  /** The server's CPU time while batches were made ÷ the batches it accepted meanwhile, ms. */
  cpuPerBatchMs: number;
  /** The same CPU time as a share of one core. */
  serverCpu: number;
  loopP99: number;
  /** Database and WAL growth ÷ node-hours of batches stored. */
  dbBytesPerNodeHour: number;
  /** Request bodies ÷ flow records, as the load generator sent them (null when it does not say). */
  wireBytesPerFlow: number | null;
  joinMs: number;
  runMs: number;
  server: ServerResult;
  /** What the load generator saw, whole. */
  client: ClientResult;
  totals: TotalsCheck;
}

/** The p-quantile of `values` (nearest rank), NaN when there are none. */
export function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
