// SPDX-License-Identifier: Apache-2.0
/**
 * One scenario of the ingest bench: the control plane in its own process (ingest-server-process.ts, under Node
 * or Deno) and the simulated agents in another (ingest-clients.ts, Node), this process between them: it tells
 * the server when the nodes have joined and when they stop making batches (the server measures in between),
 * then hands it what the nodes sent, for the totals check in its database.
 */
import { fork } from "node:child_process";
import type { ClientJob, ClientResult } from "./ingest-clients.ts";
import type { Scenario, ScenarioResult } from "./ingest-result.ts";
import { quantile } from "./ingest-result.ts";
import { BenchServer } from "./ingest-server-process.ts";
import type { NodeShape } from "./simulated-node.ts";

export interface ScenarioSettings {
  shape: NodeShape;
  intervalS: number;
  drainS: number;
  /** EBPF_K8S_* settings for the control plane. */
  env: Record<string, string>;
}

const HOUR_MS = 3_600_000;

/** Work beside a scenario (followers of the flow stream: flow-stream.ts): from when the server listens until batches stop. */
export interface Beside {
  start(url: string): Promise<void>;
  stop(): Promise<void>;
}

export async function runScenario(scenario: Scenario, s: ScenarioSettings, beside?: Beside): Promise<ScenarioResult> {
  const server = await BenchServer.start(scenario.runtime, { env: { ...s.env, ...scenario.env } });
  try {
    await beside?.start(server.url);
    const job: ClientJob = {
      url: server.url,
      joinToken: server.joinToken,
      nodes: scenario.nodes,
      shape: s.shape,
      intervalMs: s.intervalS * 1000,
      durationMs: scenario.seconds * 1000,
      drainMs: s.drainS * 1000,
      encoding: scenario.encoding,
    };
    let postingSince = Date.now();
    const child = fork(new URL("./ingest-clients.ts", import.meta.url), { stdio: "inherit" });
    const client = await new Promise<ClientResult>((resolve, reject) => {
      type Message = ClientResult | { fatal: string } | { phase: "posting" | "draining" };
      child.on("message", (m: Message) => {
        if ("phase" in m) {
          if (m.phase === "posting") postingSince = Date.now();
          server.measure(m.phase === "posting");
        } else if ("fatal" in m) reject(new Error(m.fatal));
        else resolve(m);
      });
      child.once("exit", (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
      child.send(job);
    }).finally(() => child.exitCode === null && child.kill());
    await beside?.stop();
    if (client.errors.length > 0) console.error(`  client errors: ${client.errors.join("; ")}`);
    const result = await server.finish({ nodes: client.nodes, shape: s.shape, since: postingSince - 60_000 });

    const failed = Object.entries(client.statuses).reduce((n, [status, k]) => (status === "200" ? n : n + k), 0);
    const stored = client.nodes.reduce((n, x) => n + x.acked, 0);
    return {
      scenario,
      nodes: scenario.nodes,
      p50: quantile(client.latenciesMs, 0.5),
      p99: quantile(client.latenciesMs, 0.99),
      max: quantile(client.latenciesMs, 1),
      batchesPerSec: client.acceptedWhilePosting / (client.elapsedMs / 1000),
      recordsPerSec: client.recordsAccepted / (client.elapsedMs / 1000),
      batches: client.latenciesMs.length,
      failed: failed + client.connectionErrors,
      cpuPerBatchMs: result.cpuMs / result.accepted,
      serverCpu: result.cpuMs / result.measuredMs,
      loopP99: result.loopP99,
      dbBytesPerNodeHour: result.dbBytesGrowth / ((stored * s.intervalS * 1000) / HOUR_MS),
      wireBytesPerFlow: client.flowRecordsSent > 0 ? client.bodyBytesSent / client.flowRecordsSent : null,
      joinMs: client.joinMs,
      runMs: client.elapsedMs,
      server: result,
      client,
      totals: result.totals,
    };
  } finally {
    await server.stop();
  }
}
