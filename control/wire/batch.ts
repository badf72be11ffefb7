// SPDX-License-Identifier: Apache-2.0
/**
 * The wire format between agent and control plane: defined once here and
 * imported by both sides (agent/ under Deno, control/ under Node or Deno).
 *
 * A batch carries cumulative counters since the agent attached (not deltas):
 * a batch that is resent or arrives twice changes nothing, and the control
 * plane derives rates from two consecutive batches of the same boot.
 */
import { z } from "zod";
import { DnsRecords } from "./dns.ts";
import { MonitoringFields } from "./monitoring.ts";
import { Counter, Rfc1123Name } from "./scalars.ts";
import { AccelCounters } from "./accel.ts";
import { GatewayCounters, LbCounters } from "./services.ts";
import { WIRE_VERSION, WireVersion } from "./version.ts";

/** The version an agent writes; what changes it and what each side accepts: version.ts and README.md here. */
export { WIRE_VERSION };

/** Largest batch the control plane accepts, in bytes of JSON. */
export const MAX_BATCH_BYTES = 1 << 20;

/** Longest interval a batch may say it covers, in seconds. */
export const MAX_INTERVAL_S = 3600;

export { Counter };

/** Kubernetes node names are DNS subdomains (RFC 1123). */
export const NodeName = Rfc1123Name;

/** Most interfaces one batch may report. */
export const MAX_INTERFACES = 4096;

/** Linux interface names: at most 15 bytes, no '/' or whitespace. */
export const IfName = z
  .string()
  .min(1)
  .max(15)
  .regex(/^[^/\s:]+$/, "must be a Linux interface name");

export const InterfaceCounters = z.strictObject({
  ifname: IfName,
  ifindex: z.number().int().positive(),
  rxPackets: Counter,
  rxBytes: Counter,
  txPackets: Counter,
  txBytes: Counter,
  drops: Counter,
});
export type InterfaceCounters = z.infer<typeof InterfaceCounters>;

/**
 * eBPF modules an agent can run, switched on or off per node ("desired
 * state"). An agent reports each as on, off, error (with the reason) or
 * unsupported (not built into that agent version).
 */
export const MODULES = ["ifstats", "flows", "tcp", "drops", "lb", "accel", "gateway", "dns"] as const;
export const ModuleName = z.enum(MODULES);
export type ModuleName = z.infer<typeof ModuleName>;
/** What a node runs when nobody has switched anything: monitoring on, traffic-changing modules off. */
export const DEFAULT_MODULES: Record<ModuleName, boolean> = {
  ifstats: true,
  flows: true,
  tcp: true,
  drops: true,
  lb: false,
  accel: false,
  gateway: false,
  dns: true,
};

export const ModuleStatus = z.strictObject({
  name: ModuleName,
  /** What the agent was asked for when it reported. */
  desired: z.boolean(),
  state: z.enum(["on", "off", "error", "unsupported"]),
  error: z.string().max(8192).optional(),
});
export type ModuleStatus = z.infer<typeof ModuleStatus>;

const ShortText = z.string().max(256);

export const ProgramInfo = z.strictObject({
  id: z.number().int().positive(),
  name: z.string().max(64),
  /** libbpf's name of the program type, e.g. "sched_cls", "tracepoint". */
  type: z.string().max(64),
  module: ModuleName,
  /** Where it is attached, e.g. "tc ingress eth0", "tracepoint skb/kfree_skb". */
  attach: ShortText,
  /** Present when kernel.bpf_stats_enabled is on. */
  runCount: Counter.optional(),
  runTimeNs: Counter.optional(),
});
export type ProgramInfo = z.infer<typeof ProgramInfo>;

export const MapInfo = z.strictObject({
  id: z.number().int().positive(),
  name: z.string().max(64),
  type: z.string().max(64),
  module: ModuleName,
  maxEntries: Counter,
  /** Entries in use (fill level); for arrays, slots with a non-zero value. */
  entries: Counter,
});
export type MapInfo = z.infer<typeof MapInfo>;

/** What a node is and runs: reported with every batch (a few KiB), also the heartbeat. */
export const Inventory = z.strictObject({
  agentVersion: z.string().max(64),
  kernel: ShortText,
  btf: z.boolean(),
  bpfStats: z.boolean(),
  /** Probed kernel features, e.g. { "prog:sched_cls": true, "map:sockhash": true }. */
  features: z.record(z.string().max(64), z.boolean()).refine(
    (r) => Object.keys(r).length <= 128,
    "at most 128 features",
  ),
  modules: z.array(ModuleStatus).max(MODULES.length),
  programs: z.array(ProgramInfo).max(1024),
  maps: z.array(MapInfo).max(1024),
  /**
   * The agent's on-disk spool: batches waiting; batches lost because the spool was full and none could be
   * merged; and (optional: agents before issue 16 do not send it) batches merged into a neighbour to make room.
   * The optional fields were added in wire version 2 (version.ts ADDED_IN).
   */
  spool: z.strictObject({
    pending: Counter,
    dropped: Counter,
    merged: Counter.optional(),
    /** Batches the control plane refused as invalid (400/413), kept in the agent's quarantine. */
    quarantined: Counter.optional(),
    /** Quarantined batches dropped because the quarantine was full, since the agent started. */
    quarantineDropped: Counter.optional(),
  }),
});
export type Inventory = z.infer<typeof Inventory>;

export const Batch = z.strictObject({
  /** The wire version the batch is written in; the control plane checks it before the fields (version.ts). */
  v: WireVersion,
  node: NodeName,
  /** Random per agent start: counters restart from zero when it changes. */
  bootId: z.uuid(),
  /** Increases by one per batch within a boot. */
  seq: Counter,
  /** When the counters were read, ms since the epoch (agent clock). */
  ts: z.number().int().positive(),
  /** Seconds between reads. */
  interval: z.number().positive().max(MAX_INTERVAL_S),
  interfaces: z.array(InterfaceCounters).max(MAX_INTERFACES),
  inventory: Inventory.optional(),
  /** Pods, flows, TCP health, drops and table statistics (monitoring.ts); absent when the modules are off. */
  ...MonitoringFields,
  /** Service load-balancing counters (services.ts); absent when the lb module is off. */
  lb: LbCounters.optional(),
  /** Gateway (XDP) counters per service (services.ts); absent when the gateway module is off. */
  gateway: GatewayCounters.optional(),
  /** Socket acceleration counters per rule (accel.ts); absent when the accel module is off. */
  accel: AccelCounters.optional(),
  /** DNS per pod and server, and the names asked for (dns.ts, wire version 6); absent when the dns module is off. */
  dns: DnsRecords.optional(),
});
export type Batch = z.infer<typeof Batch>;

/** Per node, versioned: the version increases with every change, so an agent applies each change once. */
export const DesiredState = z.strictObject({
  version: Counter,
  modules: z.strictObject(Object.fromEntries(MODULES.map((m) => [m, z.boolean()])) as Record<ModuleName, z.ZodBoolean>),
});
export type DesiredState = z.infer<typeof DesiredState>;

/**
 * DesiredState as an agent reads it (the control plane's answers, its own stored copy): a module the sender
 * does not name (a control plane of an older wire version, before the module existed) is at its default, and a
 * module this agent does not know (a newer control plane's) is ignored. The control plane leaves out of its
 * answer to an agent the modules added after that agent's wire version (desiredForWireVersion, version.ts).
 */
export const DesiredStateAnswer = z.object({
  version: Counter,
  modules: z.object(
    Object.fromEntries(MODULES.map((m) => [m, z.boolean().default(DEFAULT_MODULES[m])])) as {
      [M in ModuleName]: z.ZodDefault<z.ZodBoolean>;
    },
  ),
});

/** What the control plane answers to an accepted batch. */
export const BatchAck = z.strictObject({
  ok: z.literal(true),
  /** Highest sequence stored for this (node, bootId); a duplicate answers the same. */
  seq: Counter,
  duplicate: z.boolean(),
  /** What this node should run; the agent applies a change within one interval. */
  desired: DesiredStateAnswer,
});
export type BatchAck = z.infer<typeof BatchAck>;

/**
 * Joining: an agent presents a join token (made by an admin, expiring,
 * revocable) once and receives a credential of its own node, sent as
 * `Authorization: Bearer <credential>` on every later request.
 */
export const JoinRequest = z.strictObject({
  token: z.string().min(16).max(256),
  node: NodeName,
});
export type JoinRequest = z.infer<typeof JoinRequest>;

export const JoinResponse = z.strictObject({
  node: NodeName,
  credential: z.string().min(32).max(256),
  desired: DesiredStateAnswer,
});
export type JoinResponse = z.infer<typeof JoinResponse>;
