// SPDX-License-Identifier: Apache-2.0
/**
 * The ebpf-k8s node agent.
 *   deno task agent --control URL --node NAME --join-token TOKEN --interfaces LIST --interval SECONDS
 * Joins the control plane (once; the credential is kept in the state
 * directory), attaches the eBPF programs, reads their maps every interval,
 * spools and pushes a batch; on SIGINT/SIGTERM pushes a last batch and
 * leaves the datapath (load balancing, gateway, the pinned counters)
 * attached for the next agent to adopt. `main.ts uninstall` removes
 * everything (uninstall.ts). See USAGE in config.ts.
 */
import { ConfigError, parseConfig, USAGE } from "./config.ts";
import { Agent } from "./agent.ts";
import { type MetricsServer, serveMetrics } from "./metrics.ts";
import { StateDirBusyError } from "./state/state_dir.ts";
import { runUninstall } from "./uninstall.ts";

const log = (m: string) => console.error(`agent: ${m}`);

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(USAGE);
  Deno.exit(0);
}

if (Deno.args[0] === "uninstall") {
  try {
    Deno.exit(runUninstall(parseConfig(Deno.args.slice(1), (k) => Deno.env.get(k), "uninstall"), log));
  } catch (e) {
    log((e as Error).message);
    Deno.exit(e instanceof ConfigError || e instanceof StateDirBusyError ? 2 : 1);
  }
}

let agent: Agent;
let started: Agent | undefined;
let metrics: MetricsServer | undefined;
try {
  const cfg = parseConfig(Deno.args, (k) => Deno.env.get(k));
  // Served before the start (which may wait for the control plane): probes see "alive, not ready yet".
  if (cfg.metricsPort !== 0) {
    const o = { address: cfg.metricsAddress, port: cfg.metricsPort, node: cfg.node, interval: cfg.interval };
    metrics = await serveMetrics(o, () => started, (m) => console.error(`agent: ${m}`)).catch((e) => {
      console.error(`agent: metrics not served, ${cfg.metricsAddress}:${cfg.metricsPort}: ${(e as Error).message}`);
      return undefined;
    });
  }
  agent = started = await Agent.start(cfg);
} catch (e) {
  const operatorError = e instanceof ConfigError || e instanceof StateDirBusyError;
  console.error(`agent: ${(e as Error).message}`);
  Deno.exit(operatorError ? 2 : 1);
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`agent: ${signal}: pushing a last batch, then leaving the datapath to the next agent`);
  try {
    await agent.stop({ handOver: true });
    await metrics?.close();
    Deno.exit(0);
  } catch (e) {
    console.error(`agent: cleanup failed: ${(e as Error).message}`);
    Deno.exit(1);
  }
};
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
await agent.run();
