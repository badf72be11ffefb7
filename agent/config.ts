// SPDX-License-Identifier: Apache-2.0
/**
 * Agent configuration: command-line flags, each with an environment fallback,
 * validated with zod so that a bad value stops the agent with a clear message.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { IfName, JoinRequest, NodeName } from "../control/wire/batch.ts";
import { GATEWAY_HOOKS } from "./modules/gateway/hook.ts";
import {
  DEFAULT_FLOW_TIMEOUTS,
  MAX_FLOW_ENTRIES,
  MAX_FLOW_TIMEOUT_S,
  MIN_FLOW_TIMEOUT_S,
} from "./modules/gateway/timeouts.ts";
import { SOCKMAP_WORKAROUNDS } from "./modules/accel/policy.ts";
import { MAX_DROP_RECORDS, MAX_FLOW_RECORDS, MAX_TCP_RECORDS } from "../control/wire/monitoring.ts";
import { MIN_DROP_RECORDS } from "./modules/drops/records.ts";
import { MIN_FLOW_RECORDS } from "./modules/flows/records.ts";
import { MIN_TCP_RECORDS } from "./modules/tcp/records.ts";
import { DNS_LIMITS } from "./modules/dns/layout.ts";
import { DEFAULT_DNS_MODULE } from "./modules/dns/settings.ts";
import { MAX_NAME_RECORDS, MAX_SERVER_RECORDS, MIN_NAME_RECORDS, MIN_SERVER_RECORDS } from "./modules/dns/records.ts";
import { TEST_WIRE_VERSION_ENV, WireVersion, wireVersionFromEnv } from "../control/wire/version.ts";
import { WIRE_ENCODINGS } from "./wire_encoding.ts";

export const AGENT_VERSION = "0.2.0";

/** flag name -> environment variable; the single list both help and parsing use. */
const ENV = {
  control: "EBPF_K8S_CONTROL",
  "control-ca": "EBPF_K8S_CONTROL_CA",
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
  "pods-file": "EBPF_K8S_PODS_FILE",
  "flow-interfaces": "EBPF_K8S_FLOW_INTERFACES",
  "flow-table-size": "EBPF_K8S_FLOW_TABLE_SIZE",
  "flow-idle-seconds": "EBPF_K8S_FLOW_IDLE_SECONDS",
  "max-flow-records": "EBPF_K8S_MAX_FLOW_RECORDS",
  "tcp-table-size": "EBPF_K8S_TCP_TABLE_SIZE",
  "tcp-socket-table-size": "EBPF_K8S_TCP_SOCKET_TABLE_SIZE",
  "max-tcp-records": "EBPF_K8S_MAX_TCP_RECORDS",
  "drop-table-size": "EBPF_K8S_DROP_TABLE_SIZE",
  "max-drop-records": "EBPF_K8S_MAX_DROP_RECORDS",
  "dns-ports": "EBPF_K8S_DNS_PORTS",
  "dns-server-table-size": "EBPF_K8S_DNS_SERVER_TABLE_SIZE",
  "dns-pending-table-size": "EBPF_K8S_DNS_PENDING_TABLE_SIZE",
  "dns-name-table-size": "EBPF_K8S_DNS_NAME_TABLE_SIZE",
  "dns-timeout-ms": "EBPF_K8S_DNS_TIMEOUT_MS",
  "max-dns-records": "EBPF_K8S_MAX_DNS_RECORDS",
  "max-dns-name-records": "EBPF_K8S_MAX_DNS_NAME_RECORDS",
  "lb-cgroup": "EBPF_K8S_LB_CGROUP",
  "lb-table-pool": "EBPF_K8S_LB_TABLE_POOL",
  "lb-affinity-table-size": "EBPF_K8S_LB_AFFINITY_TABLE_SIZE",
  "lb-reverse-table-size": "EBPF_K8S_LB_REVERSE_TABLE_SIZE",
  "accel-sockmap-workaround": "EBPF_K8S_ACCEL_SOCKMAP_WORKAROUND",
  "gateway-interfaces": "EBPF_K8S_GATEWAY_INTERFACES",
  "gateway-addresses": "EBPF_K8S_GATEWAY_ADDRESSES",
  "gateway-snat-ip": "EBPF_K8S_GATEWAY_SNAT_IP",
  "gateway-snat-ports": "EBPF_K8S_GATEWAY_SNAT_PORTS",
  "gateway-flow-table-size": "EBPF_K8S_GATEWAY_FLOW_TABLE_SIZE",
  "gateway-hook": "EBPF_K8S_GATEWAY_HOOK",
  "gateway-timeout-tcp-syn": "EBPF_K8S_GATEWAY_TIMEOUT_TCP_SYN",
  "gateway-timeout-tcp-established": "EBPF_K8S_GATEWAY_TIMEOUT_TCP_ESTABLISHED",
  "gateway-timeout-tcp-closing": "EBPF_K8S_GATEWAY_TIMEOUT_TCP_CLOSING",
  "gateway-timeout-udp": "EBPF_K8S_GATEWAY_TIMEOUT_UDP",
  "metrics-address": "EBPF_K8S_METRICS_ADDRESS",
  "metrics-port": "EBPF_K8S_METRICS_PORT",
  "wire-encoding": "EBPF_K8S_WIRE_ENCODING",
} as const;

/** The agent's /metrics, /healthz and /readyz (agent/metrics.ts). */
export const DEFAULT_METRICS_PORT = 9810;

const csv = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

const AbsolutePath = z.string().regex(/^\//, "must be an absolute path");
const tableSize = z.coerce.number().int().min(16).max(1 << 22);
const flowTimeout = z.coerce.number().int().min(MIN_FLOW_TIMEOUT_S).max(MAX_FLOW_TIMEOUT_S);

export const AgentConfig = z.strictObject({
  control: z.url({ protocol: /^https?$/, error: "must be an http(s) URL of the control plane" }),
  /** PEM file of the CAs an https:// control plane's certificate is checked against, besides Deno's roots. */
  controlCa: AbsolutePath.optional(),
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
  /** At least 3: the batch being sent, which is never merged, and two to merge. */
  spoolMaxBatches: z.coerce.number().int().min(3, "must be at least 3 (the batch being sent and two to merge)")
    .max(1_000_000),
  /** Pods of this node from a JSON file of PodInfo (the lab); otherwise from Kubernetes when in a cluster. */
  podsFile: AbsolutePath.optional(),
  /** Host interfaces (of --netns) to count flows on, besides pod veths. */
  flowInterfaces: z.array(IfName).default([]),
  // In-kernel table sizes and per-batch record caps: what bounds memory, whatever the traffic.
  flowTableSize: tableSize,
  flowIdleSeconds: z.coerce.number().int().min(1).max(86_400),
  // A cap sums what does not fit into "other" records, which need room of their own (the minimums).
  maxFlowRecords: z.coerce.number().int().min(MIN_FLOW_RECORDS).max(MAX_FLOW_RECORDS),
  tcpTableSize: tableSize,
  tcpSocketTableSize: tableSize,
  maxTcpRecords: z.coerce.number().int().min(MIN_TCP_RECORDS).max(MAX_TCP_RECORDS),
  dropTableSize: tableSize,
  maxDropRecords: z.coerce.number().int().min(MIN_DROP_RECORDS).max(MAX_DROP_RECORDS),
  /** DNS ports watched besides 53 (the dns module). */
  dnsPorts: z.array(
    z.coerce.number().int().min(1).max(65535).refine((p) => p !== DNS_LIMITS.DNS_PORT, "53 is always watched"),
  ).max(DNS_LIMITS.DNS_PORT_SLOTS).refine((ps) => new Set(ps).size === ps.length, "a port is listed twice")
    .default([]),
  dnsServerTableSize: tableSize,
  dnsPendingTableSize: tableSize,
  dnsNameTableSize: tableSize,
  /** A query unanswered this long is counted as a timeout (at the read after). */
  dnsTimeoutMs: z.coerce.number().int().min(100).max(600_000),
  maxDnsRecords: z.coerce.number().int().min(MIN_SERVER_RECORDS).max(MAX_SERVER_RECORDS),
  maxDnsNameRecords: z.coerce.number().int().min(MIN_NAME_RECORDS).max(MAX_NAME_RECORDS),
  /**
   * The cgroup v2 directory the node's pods run under, where the lb module
   * attaches (absolute, or relative to the cgroup2 mount); required to switch
   * lb on, and never the root (checked when the module starts).
   */
  lbCgroup: z.string().min(1).optional(),
  /** Maglev slots of the lb table pool: every service's table, plus those being replaced. */
  lbTablePool: z.coerce.number().int().min(131072).max(1 << 26).multipleOf(16, "must be a multiple of 16"),
  lbAffinityTableSize: tableSize,
  lbReverseTableSize: tableSize,
  /** The accel module's pass-through SK_SKB verdict program (kernels with commit 929e30f93125): by release, or forced. */
  accelSockmapWorkaround: z.enum(SOCKMAP_WORKAROUNDS),
  /** Gateway (XDP): the only interfaces it attaches to; the node addresses NodePorts answer on; SNAT. */
  gatewayInterfaces: z.array(IfName).default([]),
  gatewayAddresses: z.array(z.ipv4({ error: "must be IPv4 addresses" })).default([]),
  gatewaySnatIp: z.ipv4({ error: "must be an IPv4 address" }).optional(),
  gatewaySnatPorts: z.string().regex(/^\d+-\d+$/, "must be FIRST-LAST").transform((r) =>
    r.split("-").map(Number) as [number, number]
  )
    .refine(([a, b]) => a >= 1024 && a <= b && b <= 65535, "must be a range within 1024-65535"),
  // Each gateway sweep walks both tables whole (timeouts.ts): a smaller bound than the monitoring tables'.
  gatewayFlowTableSize: z.coerce.number().int().min(16).max(MAX_FLOW_ENTRIES),
  gatewayHook: z.enum(GATEWAY_HOOKS),
  /** Seconds a gateway flow may stay idle (see MIN_FLOW_TIMEOUT_S). */
  gatewayTimeoutTcpSyn: flowTimeout,
  gatewayTimeoutTcpEstablished: flowTimeout,
  gatewayTimeoutTcpClosing: flowTimeout,
  gatewayTimeoutUdp: flowTimeout,
  /** Where /metrics, /healthz and /readyz listen; port 0: not served. */
  metricsAddress: z.string().min(1),
  metricsPort: z.coerce.number().int().min(0).max(65535),
  /** The wire version batches are written in: WIRE_VERSION, or EBPF_K8S_TEST_WIRE_VERSION in version-skew tests. */
  wireVersion: WireVersion,
  /** How batches travel: compact where the control plane reads it, or always plain JSON (agent/wire_encoding.ts). */
  wireEncoding: z.enum(WIRE_ENCODINGS),
}).refine((c) => c.controlCa === undefined || c.control.startsWith("https://"), {
  path: ["controlCa"],
  message: "is for an https:// control plane (--control is plain http)",
});
export type AgentConfig = z.infer<typeof AgentConfig>;

export const USAGE =
  `usage: deno task agent --control URL --node NAME [--join-token TOKEN] [--interfaces IF,IF] [--interval SECONDS]
  --control URL              control plane base URL            (${ENV.control})
  --control-ca FILE          PEM of the CA(s) an https control plane's certificate is checked against,
                             besides the roots Deno trusts (${ENV["control-ca"]})
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
  --spool-max-batches N      unacknowledged batches kept on disk, default 1000, at least 3; when full, the
                             oldest are merged, their counts summed (${ENV["spool-max-batches"]})
  --wire-encoding compact|json
                             how batches travel: compact (columnar, gzipped, unchanged inventory by hash)
                             where the control plane reads it, else plain JSON; json: always plain JSON,
                             e.g. to read them with tcpdump; default compact (${ENV["wire-encoding"]})

pods (whose veths get the flow programs, and to whom flows, TCP health and drops are charged):
  --pods-file PATH           JSON list of this node's pods (PodInfo, with host veth, ifindex and
                             netns inode), followed live (${ENV["pods-file"]}); the lab writes
                             /run/ebpf-k8s/lab-<lab>/pods-<node>.json. Without it, in a cluster
                             (KUBERNETES_SERVICE_HOST set): list+watch of the pods with
                             spec.nodeName=<node>, every veth of the node hooked and tied to a pod by
                             its IP. Otherwise no pods.
  --flow-interfaces LIST     host interfaces to count flows on too (${ENV["flow-interfaces"]}; default none);
                             never taken for a pod's veth (the dns module leaves them alone)

tables and caps (memory stays within these whatever the traffic; what they evict is reported; records over
a cap are summed per pod, then per node, into "other" records that count against it):
  --flow-table-size N        in-kernel flow table entries, default 65536 (${ENV["flow-table-size"]})
  --flow-idle-seconds N      flows (and TCP/drop aggregates) unchanged this long leave the tables,
                             default 60 (${ENV["flow-idle-seconds"]})
  --max-flow-records N       flow records per batch, default 5000, ${MIN_FLOW_RECORDS} to ${MAX_FLOW_RECORDS} (${
    ENV["max-flow-records"]
  })
  --tcp-table-size N         TCP stats table entries, default 16384 (${ENV["tcp-table-size"]})
  --tcp-socket-table-size N  sockets followed for role and lifetime, default 65536 (${ENV["tcp-socket-table-size"]})
  --max-tcp-records N        TCP records per batch, default 5000, ${MIN_TCP_RECORDS} to ${MAX_TCP_RECORDS} (${
    ENV["max-tcp-records"]
  })
  --drop-table-size N        drops table entries, default 8192 (${ENV["drop-table-size"]})
  --max-drop-records N       drop records per batch, default 2000, ${MIN_DROP_RECORDS} to ${MAX_DROP_RECORDS} (${
    ENV["max-drop-records"]
  })

DNS (module dns, on by default: DNS over UDP and TCP on the pods' veths, per pod and server):
  --dns-ports LIST           ports watched besides 53, at most ${DNS_LIMITS.DNS_PORT_SLOTS} (${
    ENV["dns-ports"]
  }; default none)
  --dns-server-table-size N  (pod, server) entries, default ${DEFAULT_DNS_MODULE.serversTableSize} (${
    ENV["dns-server-table-size"]
  })
  --dns-pending-table-size N queries in flight on the node, default ${DEFAULT_DNS_MODULE.pendingTableSize} (${
    ENV["dns-pending-table-size"]
  })
  --dns-name-table-size N    (pod, name) entries; names over it count in their pod's "other",
                             default ${DEFAULT_DNS_MODULE.namesTableSize} (${ENV["dns-name-table-size"]})
  --dns-timeout-ms N         a query unanswered this long is a timeout, 100-600000, default ${DEFAULT_DNS_MODULE.timeoutMs} (${
    ENV["dns-timeout-ms"]
  })
  --max-dns-records N        (pod, server) records per batch, default ${DEFAULT_DNS_MODULE.maxServerRecords}, ${MIN_SERVER_RECORDS} to ${MAX_SERVER_RECORDS} (${
    ENV["max-dns-records"]
  })
  --max-dns-name-records N   (pod, name) records per batch, default ${DEFAULT_DNS_MODULE.maxNameRecords}, ${MIN_NAME_RECORDS} to ${MAX_NAME_RECORDS} (${
    ENV["max-dns-name-records"]
  })

service load balancing (module lb, off unless the control plane switches it on):
  --lb-cgroup PATH           cgroup v2 directory the node's pods run under (e.g. kubepods.slice), absolute
                             or relative to the cgroup2 mount (${ENV["lb-cgroup"]}); required for lb;
                             connect()/sendmsg() of sockets in it to a service VIP reach a backend.
                             The root cgroup is refused.
  --lb-table-pool N          Maglev table slots for all services together, default 4194304 (16 MiB of
                             kernel memory; a service takes 256 to 131072, twice while its table is
                             replaced) (${ENV["lb-table-pool"]})
  --lb-affinity-table-size N client-affinity entries, default 65536 (${ENV["lb-affinity-table-size"]})
  --lb-reverse-table-size N  sockets whose backend is shown to the application as the VIP (getpeername,
                             UDP replies), default 65536, least recently used first out (${
    ENV["lb-reverse-table-size"]
  })

socket acceleration (module accel, off unless the control plane switches it on; attaches to --lb-cgroup):
  --accel-sockmap-workaround auto|on|off
                             the pass-through SK_SKB verdict program on the sockhash, without which kernels
                             with commit 929e30f93125 lose receive wake-ups (stalls); auto: by the kernel
                             release (6.6.128+, 6.12.75+, 6.18.14+, 6.19 on); on/off: for kernels whose
                             release says otherwise (backports), default auto (${ENV["accel-sockmap-workaround"]})

gateway (module gateway, XDP; off unless the control plane switches it on):
  --gateway-interfaces LIST  the only interfaces it attaches to: where outside clients' packets and the
                             backends' replies come in (${ENV["gateway-interfaces"]}); required for gateway
  --gateway-addresses LIST   this node's addresses NodePorts answer on (${ENV["gateway-addresses"]})
  --gateway-snat-ip IP       source of translated packets towards backends, default the first address;
                             backends must route it back through a gateway interface (${ENV["gateway-snat-ip"]})
  --gateway-snat-ports A-B   its ports, default 61000-65535 (${ENV["gateway-snat-ports"]})
  --gateway-flow-table-size N  tracked flows (each of two LRU tables), 16-${MAX_FLOW_ENTRIES}, default 65536 (${
    ENV["gateway-flow-table-size"]
  })
  --gateway-hook HOOK        native or skb (generic) XDP, or tc (clsact ingress, where XDP cannot run or
                             take the traffic whole); auto (default): native where every interface's driver
                             has it and takes redirected frames (no veth), else tc (${ENV["gateway-hook"]})
  --gateway-timeout-tcp-syn S          idle seconds of a TCP flow the backend has not answered, default ${DEFAULT_FLOW_TIMEOUTS.synS}
                                       (${ENV["gateway-timeout-tcp-syn"]})
  --gateway-timeout-tcp-established S  of an answered TCP flow, default ${DEFAULT_FLOW_TIMEOUTS.establishedS} (${
    ENV["gateway-timeout-tcp-established"]
  })
  --gateway-timeout-tcp-closing S      after a FIN each way or an RST, default ${DEFAULT_FLOW_TIMEOUTS.closingS} (${
    ENV["gateway-timeout-tcp-closing"]
  })
  --gateway-timeout-udp S              of a UDP flow, default ${DEFAULT_FLOW_TIMEOUTS.udpS} (${
    ENV["gateway-timeout-udp"]
  });
                                       a flow that ends frees both its entries and its SNAT port

Memory: deno task agent runs deno with --v8-flags=--max-semi-space-size=2, which keeps the
agent's resident size down (the flow table is read whole every interval); run it so elsewhere.

metrics and probes (agent/metrics.ts; Prometheus text format, labels node, interface, module):
  --metrics-address ADDR     listen address of /metrics, /healthz, /readyz, default 0.0.0.0
                             (${ENV["metrics-address"]})
  --metrics-port N           their port, default ${DEFAULT_METRICS_PORT}; 0: not served (${ENV["metrics-port"]})

SIGINT/SIGTERM (an upgrade, a rollout, a restart): push a last batch and leave the datapath
to the next agent: load balancing, the gateway and the pinned counters (ifstats, flows) stay
attached and pinned, tcp, drops and accel stop, dns leaves its filters for the next agent to
replace. The next start adopts them (as after a crash, kill -9) and continues the same totals;
unacknowledged batches stay spooled for it.

usage: deno task agent uninstall [--node NAME] [--bpf-pin-dir DIR] [--state-dir DIR] [--netns NAME]
                                 [--gateway-interfaces LIST] [--gateway-hook HOOK]
  The only removal: detaches every program of this node, removes its tc filters (and the
  clsact qdiscs it created), XDP programs, cgroup links and pins, as recorded in
  <state-dir>/epoch.json, plus the gateway on --gateway-interfaces. Takes the agent's own
  flags or environment (--control is not needed: nothing is contacted); refused while an
  agent runs with the state directory; running it again does nothing. The credential and
  unsent batches stay in the state directory.`;

/**
 * `command` "uninstall" (main.ts uninstall): the same flags and environment,
 * but the control plane is never contacted, so --control may be left out.
 */
export function parseConfig(
  args: string[],
  env: (k: string) => string | undefined,
  command: "run" | "uninstall" = "run",
): AgentConfig {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(Object.keys(ENV).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const get = (k: keyof typeof ENV) => (values[k] as string | undefined) ?? env(ENV[k]);
  const node = get("node") ?? env("HOSTNAME")?.toLowerCase();
  const parsed = AgentConfig.safeParse({
    control: get("control") ?? (command === "uninstall" ? UNINSTALL_CONTROL : undefined),
    controlCa: get("control-ca") || undefined,
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
    podsFile: get("pods-file") || undefined,
    flowInterfaces: csv(get("flow-interfaces")),
    flowTableSize: get("flow-table-size") ?? "65536",
    flowIdleSeconds: get("flow-idle-seconds") ?? "60",
    maxFlowRecords: get("max-flow-records") ?? "5000",
    tcpTableSize: get("tcp-table-size") ?? "16384",
    tcpSocketTableSize: get("tcp-socket-table-size") ?? "65536",
    maxTcpRecords: get("max-tcp-records") ?? "5000",
    dropTableSize: get("drop-table-size") ?? "8192",
    maxDropRecords: get("max-drop-records") ?? "2000",
    dnsPorts: csv(get("dns-ports")),
    dnsServerTableSize: get("dns-server-table-size") ?? String(DEFAULT_DNS_MODULE.serversTableSize),
    dnsPendingTableSize: get("dns-pending-table-size") ?? String(DEFAULT_DNS_MODULE.pendingTableSize),
    dnsNameTableSize: get("dns-name-table-size") ?? String(DEFAULT_DNS_MODULE.namesTableSize),
    dnsTimeoutMs: get("dns-timeout-ms") ?? String(DEFAULT_DNS_MODULE.timeoutMs),
    maxDnsRecords: get("max-dns-records") ?? String(DEFAULT_DNS_MODULE.maxServerRecords),
    maxDnsNameRecords: get("max-dns-name-records") ?? String(DEFAULT_DNS_MODULE.maxNameRecords),
    lbCgroup: get("lb-cgroup") || undefined,
    lbTablePool: get("lb-table-pool") ?? "4194304",
    lbAffinityTableSize: get("lb-affinity-table-size") ?? "65536",
    lbReverseTableSize: get("lb-reverse-table-size") ?? "65536",
    accelSockmapWorkaround: get("accel-sockmap-workaround") || "auto",
    gatewayInterfaces: csv(get("gateway-interfaces")),
    gatewayAddresses: csv(get("gateway-addresses")),
    gatewaySnatIp: get("gateway-snat-ip") || undefined,
    gatewaySnatPorts: get("gateway-snat-ports") || "61000-65535",
    gatewayFlowTableSize: get("gateway-flow-table-size") ?? "65536",
    gatewayHook: get("gateway-hook") || "auto",
    gatewayTimeoutTcpSyn: get("gateway-timeout-tcp-syn") || String(DEFAULT_FLOW_TIMEOUTS.synS),
    gatewayTimeoutTcpEstablished: get("gateway-timeout-tcp-established") || String(DEFAULT_FLOW_TIMEOUTS.establishedS),
    gatewayTimeoutTcpClosing: get("gateway-timeout-tcp-closing") || String(DEFAULT_FLOW_TIMEOUTS.closingS),
    gatewayTimeoutUdp: get("gateway-timeout-udp") || String(DEFAULT_FLOW_TIMEOUTS.udpS),
    metricsAddress: get("metrics-address") || "0.0.0.0",
    metricsPort: get("metrics-port") || String(DEFAULT_METRICS_PORT),
    wireVersion: testWireVersion(env),
    wireEncoding: get("wire-encoding") || "compact",
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

/** Stands for --control in an uninstall, which never contacts the control plane. */
const UNINSTALL_CONTROL = "http://uninstall.invalid";

/** Not a flag: only version-skew tests write another wire version (control/wire/version.ts). */
function testWireVersion(env: (k: string) => string | undefined): number {
  try {
    return wireVersionFromEnv(env(TEST_WIRE_VERSION_ENV));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** A problem the operator has to fix (flags, credentials); the agent exits with status 2. */
export class ConfigError extends Error {}
