/**
 * Agent configuration: command-line flags, each with an environment fallback,
 * validated with zod so that a bad value stops the agent with a clear message.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { IfName, JoinRequest, NodeName } from "../control/wire/batch.ts";

export const AGENT_VERSION = "0.2.0";

/** flag name -> environment variable; the single list both help and parsing use. */
const ENV = {
  control: "EBPF_K8S_CONTROL",
  node: "EBPF_K8S_NODE",
  "join-token": "EBPF_K8S_JOIN_TOKEN",
  interfaces: "EBPF_K8S_INTERFACES",
  "exclude-interfaces": "EBPF_K8S_EXCLUDE_INTERFACES",
  netns: "EBPF_K8S_NETNS",
  interval: "EBPF_K8S_INTERVAL",
  "bpf-dir": "EBPF_K8S_BPF_DIR",
  "bpf-pin-dir": "EBPF_K8S_BPF_PIN_DIR",
  "state-dir": "EBPF_K8S_STATE_DIR",
  "spool-max-batches": "EBPF_K8S_SPOOL_MAX_BATCHES",
} as const;

const csv = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

const AbsolutePath = z.string().regex(/^\//, "must be an absolute path");

export const AgentConfig = z.strictObject({
  control: z.url({ protocol: /^https?$/, error: "must be an http(s) URL of the control plane" }),
  node: NodeName,
  /** Exchanged once for this node's credential; needed again only if the credential is refused. */
  joinToken: JoinRequest.shape.token.optional(),
  /** Undefined: every non-loopback interface not excluded. */
  interfaces: z.array(IfName).min(1).optional(),
  excludeInterfaces: z.array(IfName).default([]),
  /** Network namespace whose interfaces are watched (ip netns name or path); undefined: the agent's own. */
  netns: z.string().min(1).optional(),
  interval: z.coerce.number().min(0.2).max(3600),
  /** Where the compiled eBPF objects are. */
  bpfDir: z.string().min(1),
  /** bpffs directory of the project; maps are pinned under <bpfPinDir>/<node>/<module>/. */
  bpfPinDir: AbsolutePath,
  /** Credential, epoch and spool of this node. */
  stateDir: AbsolutePath,
  spoolMaxBatches: z.coerce.number().int().min(1).max(1_000_000),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

export const USAGE = `usage: deno task agent --control URL --node NAME [--join-token TOKEN] [--interfaces IF,IF] [--interval SECONDS]
  --control URL              control plane base URL            (${ENV.control})
  --node NAME                this node's name                  (${ENV.node}, default: hostname)
  --join-token TOKEN         joins the node once for a credential (${ENV["join-token"]});
                             not needed while <state-dir>/credential.json holds one
  --interfaces LIST          interfaces to count, comma-separated (${ENV.interfaces};
                             default: every non-loopback interface not excluded)
  --exclude-interfaces LIST  never attach to these             (${ENV["exclude-interfaces"]})
  --netns NAME|PATH          watch the interfaces of this network namespace (${ENV.netns};
                             default: the agent's own)
  --interval SECONDS         read and push period, default 10  (${ENV.interval})
  --bpf-dir DIR              compiled eBPF objects, default build/bpf (${ENV["bpf-dir"]})
  --bpf-pin-dir DIR          bpffs directory for pinned maps, default /sys/fs/bpf/ebpf-k8s
                             (${ENV["bpf-pin-dir"]}); pins go to DIR/<node>/<module>/
  --state-dir DIR            credential, epoch and spool, default /var/lib/ebpf-k8s/<node>
                             (${ENV["state-dir"]})
  --spool-max-batches N      unacknowledged batches kept on disk, default 1000 (${ENV["spool-max-batches"]})

SIGINT/SIGTERM: push a last batch, detach everything, remove the pins; unacknowledged
batches stay spooled for the next start. After a crash (kill -9) a new start adopts the
pinned maps and attachments and continues the same totals.`;

export function parseConfig(args: string[], env: (k: string) => string | undefined): AgentConfig {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(Object.keys(ENV).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const get = (k: keyof typeof ENV) => (values[k] as string | undefined) ?? env(ENV[k]);
  const node = get("node") ?? env("HOSTNAME")?.toLowerCase();
  const parsed = AgentConfig.safeParse({
    control: get("control"),
    node,
    joinToken: get("join-token") || undefined,
    interfaces: csv(get("interfaces")),
    excludeInterfaces: csv(get("exclude-interfaces")),
    netns: get("netns") || undefined,
    interval: get("interval") ?? "10",
    bpfDir: get("bpf-dir") ?? new URL("../build/bpf", import.meta.url).pathname,
    bpfPinDir: (get("bpf-pin-dir") ?? "/sys/fs/bpf/ebpf-k8s").replace(/(.)\/+$/, "$1"),
    stateDir: (get("state-dir") ?? `/var/lib/ebpf-k8s/${node}`).replace(/(.)\/+$/, "$1"),
    spoolMaxBatches: get("spool-max-batches") ?? "1000",
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

/** A problem the operator has to fix (flags, credentials); the agent exits with status 2. */
export class ConfigError extends Error {}
