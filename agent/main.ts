/**
 * The ebpf-k8s node agent.
 *   deno task agent --control URL --node NAME --interfaces LIST --interval SECONDS
 * Attaches the eBPF programs, reads their maps every interval, pushes a batch
 * to the control plane, and on SIGINT/SIGTERM detaches everything it attached.
 */
import { ConfigError, parseConfig, USAGE } from "./config.ts";
import { Agent } from "./agent.ts";

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(USAGE);
  Deno.exit(0);
}

let agent: Agent;
try {
  agent = Agent.start(parseConfig(Deno.args, (k) => Deno.env.get(k)));
} catch (e) {
  console.error(`agent: ${e instanceof ConfigError ? e.message : (e as Error).message}`);
  Deno.exit(e instanceof ConfigError ? 2 : 1);
}

const stop = async (signal: string) => {
  console.error(`agent: ${signal}: detaching`);
  try {
    await agent.stop();
    Deno.exit(0);
  } catch (e) {
    console.error(`agent: cleanup failed: ${(e as Error).message}`);
    Deno.exit(1);
  }
};
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
await agent.run();
