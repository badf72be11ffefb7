/**
 * Agent configuration: command-line flags, each with an environment fallback,
 * validated with zod so that a bad value stops the agent with a clear message.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { IfName, NodeName } from "../control/wire/batch.ts";

export const AGENT_VERSION = "0.1.0";

/** flag name -> environment variable; the single list both help and parsing use. */
const ENV = {
  control: "EBPF_K8S_CONTROL",
  node: "EBPF_K8S_NODE",
  interfaces: "EBPF_K8S_INTERFACES",
  "exclude-interfaces": "EBPF_K8S_EXCLUDE_INTERFACES",
  interval: "EBPF_K8S_INTERVAL",
  "bpf-dir": "EBPF_K8S_BPF_DIR",
} as const;

const csv = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

export const AgentConfig = z.strictObject({
  control: z.url({ protocol: /^https?$/, error: "must be an http(s) URL of the control plane" }),
  node: NodeName,
  /** Undefined: every non-loopback interface not excluded. */
  interfaces: z.array(IfName).min(1).optional(),
  excludeInterfaces: z.array(IfName).default([]),
  interval: z.coerce.number().min(0.2).max(3600),
  /** Where the compiled eBPF objects are. */
  bpfDir: z.string().min(1),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

export const USAGE = `usage: deno task agent --control URL --node NAME [--interfaces IF,IF] [--interval SECONDS]
  --control URL              control plane base URL            (${ENV.control})
  --node NAME                this node's name                  (${ENV.node}, default: hostname)
  --interfaces LIST          interfaces to count, comma-separated (${ENV.interfaces};
                             default: every non-loopback interface not excluded)
  --exclude-interfaces LIST  never attach to these             (${ENV["exclude-interfaces"]})
  --interval SECONDS         read and push period, default 10  (${ENV.interval})
  --bpf-dir DIR              compiled eBPF objects, default build/bpf (${ENV["bpf-dir"]})`;

export function parseConfig(args: string[], env: (k: string) => string | undefined): AgentConfig {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(Object.keys(ENV).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const get = (k: keyof typeof ENV) => (values[k] as string | undefined) ?? env(ENV[k]);
  const parsed = AgentConfig.safeParse({
    control: get("control"),
    node: get("node") ?? env("HOSTNAME")?.toLowerCase(),
    interfaces: csv(get("interfaces")),
    excludeInterfaces: csv(get("exclude-interfaces")),
    interval: get("interval") ?? "10",
    bpfDir: get("bpf-dir") ?? new URL("../build/bpf", import.meta.url).pathname,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const field = String(i.path[0] ?? "");
      const flag = field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return `  --${flag}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}\n\n${USAGE}`);
  }
  return parsed.data;
}

export class ConfigError extends Error {}
