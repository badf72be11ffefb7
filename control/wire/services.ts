// SPDX-License-Identifier: Apache-2.0
/**
 * Load-balanced services: defined once here for the control plane (admin API,
 * Kubernetes sync, pages), the agents' lb module (which programs them into
 * the kernel) and the counters agents report back.
 *
 * A service here is one frontend, VIP:port/protocol, as kube-proxy and
 * Cilium see it: a Kubernetes Service with two ports is two services that
 * share a namespace and name and differ by `portName`.
 *
 * Ids are small integers the control plane hands out and reuses: agents use
 * them as indexes into fixed-size kernel arrays, so they are bounded by
 * LB_MAX_SERVICES and LB_MAX_BACKENDS (mirrored in bpf/include/lb.h).
 */
import { z } from "zod";
import { MAGLEV_SIZES } from "./maglev.ts";
import { ACCEL_MAX_RULES, AccelRule } from "./accel.ts";
import { Counter, Port, PortName, Rfc1123Name } from "./scalars.ts";

/** Largest service id (and size of the kernel's per-service arrays, id 0 unused). */
export const LB_MAX_SERVICES = 65535;
/** Largest backend id (and size of the kernel's backend array, id 0 unused). */
export const LB_MAX_BACKENDS = 262143;
/** Maglev needs a table of at least 100 slots per backend; the largest table size bounds this. */
export const MAX_BACKENDS_PER_SERVICE = 1024;
/** Kubernetes' default for sessionAffinity ClientIP (service.spec.sessionAffinityConfig). */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10800;
export const MAX_AFFINITY_TIMEOUT_S = 86400;
export const MAX_WEIGHT = 1000;

export const LB_PROTOCOLS = ["TCP", "UDP"] as const;
export const LbProtocol = z.enum(LB_PROTOCOLS);
export type LbProtocol = z.infer<typeof LbProtocol>;

/** active: takes new connections; terminating and unhealthy: keeps what it has, gets nothing new. */
export const BACKEND_STATES = ["active", "terminating", "unhealthy"] as const;
export const BackendState = z.enum(BACKEND_STATES);
export type BackendState = z.infer<typeof BackendState>;

/** none: each connection picks anew; client: a client (network namespace) sticks to its backend for the timeout. */
export const AFFINITIES = ["none", "client"] as const;
export const Affinity = z.enum(AFFINITIES);
export type Affinity = z.infer<typeof Affinity>;

const Ipv4 = z.ipv4({ error: "must be an IPv4 address" });
const ServicePort = Port.min(1, "must be a port from 1 to 65535");
export { PortName };

/**
 * ClusterIP: reached inside the cluster (the lb module, at the socket).
 * NodePort: also on every node's gateway addresses at `nodePort`;
 * LoadBalancer: a NodePort whose external IPs are the load balancer's.
 * `externalIPs` (any type, as in Kubernetes) are reached at `port` through
 * the gateway module (XDP on the nodes' ingress interfaces).
 */
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export const ServiceType = z.enum(SERVICE_TYPES);
export type ServiceType = z.infer<typeof ServiceType>;
/** Kubernetes' default --service-node-port-range. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
export const MAX_EXTERNAL_IPS = 16;

export const PodRef = z.strictObject({ namespace: Rfc1123Name, name: Rfc1123Name });

export const BackendInput = z.strictObject({
  ip: Ipv4,
  port: ServicePort,
  weight: z.number().int().min(1).max(MAX_WEIGHT).default(1),
  state: BackendState.default("active"),
  /** The pod behind it, when known (Kubernetes EndpointSlice targetRef). */
  pod: PodRef.optional(),
});
export type BackendInput = z.infer<typeof BackendInput>;

const uniqueBackends = (backends: { ip: string; port: number }[]) =>
  new Set(backends.map((b) => `${b.ip}:${b.port}`)).size === backends.length;

const ServiceInputObject = z.strictObject({
  namespace: Rfc1123Name,
  name: Rfc1123Name,
  portName: PortName.default(""),
  vip: Ipv4,
  port: ServicePort,
  protocol: LbProtocol,
  affinity: Affinity.default("none"),
  affinityTimeoutS: z.number().int().min(1).max(MAX_AFFINITY_TIMEOUT_S).default(DEFAULT_AFFINITY_TIMEOUT_S),
  backends: z
    .array(BackendInput)
    .max(MAX_BACKENDS_PER_SERVICE)
    .default([])
    .refine(uniqueBackends, "must not list the same ip:port twice"),
  type: ServiceType.default("ClusterIP"),
  /** NodePort and LoadBalancer: the port on every node's gateway addresses. */
  nodePort: z.number().int().min(NODE_PORT_MIN, `must be a port from ${NODE_PORT_MIN} to ${NODE_PORT_MAX}`).max(
    NODE_PORT_MAX,
    `must be a port from ${NODE_PORT_MIN} to ${NODE_PORT_MAX}`,
  ).optional(),
  /** Addresses from outside the cluster that reach the service at `port` through the gateway. */
  externalIPs: z.array(Ipv4).max(MAX_EXTERNAL_IPS).default([]).refine(
    (a) => new Set(a).size === a.length,
    "must not list an address twice",
  ),
});

/** A service as the admin API takes it (POST /api/v1/services, PUT /api/v1/services/:ns/:name[/:portName]). */
export const ServiceInput = ServiceInputObject.superRefine((s, ctx) => {
  if (s.type === "ClusterIP" && s.nodePort !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["nodePort"],
      message: "only a NodePort or LoadBalancer service has a nodePort",
    });
  }
  if (s.type !== "ClusterIP" && s.nodePort === undefined) {
    ctx.addIssue({ code: "custom", path: ["nodePort"], message: `a ${s.type} service needs a nodePort` });
  }
});
export type ServiceInput = z.infer<typeof ServiceInput>;

export const ServiceId = z.number().int().min(1).max(LB_MAX_SERVICES);
export const BackendId = z.number().int().min(1).max(LB_MAX_BACKENDS);

export const LbBackend = BackendInput.extend({ id: BackendId });
export type LbBackend = z.infer<typeof LbBackend>;

export const LbService = ServiceInputObject.extend({
  id: ServiceId,
  backends: z.array(LbBackend).max(MAX_BACKENDS_PER_SERVICE),
  /**
   * Slots of the service's Maglev table (control/wire/maglev.ts): one of
   * MAGLEV_SIZES, chosen by the control plane with nextTableSize() and
   * stored with the service, so that every node builds the same table and
   * removing a backend never changes the size (which would move every
   * client, not only that backend's).
   */
  tableSize: z.number().int().refine(
    (n) => (MAGLEV_SIZES as readonly number[]).includes(n),
    "must be one of the Maglev table sizes",
  ),
});
export type LbService = z.infer<typeof LbService>;

/**
 * Every service, as agents get it from GET /api/v1/lb/state: the whole set,
 * versioned. The version rises by one with every change anywhere; an agent
 * programs only the services that differ from what it has.
 */
export const LbState = z.strictObject({
  version: Counter,
  services: z.array(LbService).max(LB_MAX_SERVICES),
  /** Socket acceleration rules (accel.ts), for the accel module; absent from older control planes. */
  accel: z.array(AccelRule).max(ACCEL_MAX_RULES).optional(),
});
export type LbState = z.infer<typeof LbState>;

/**
 * The header an agent's poll of GET /api/v1/lb/state names its module in (lb, accel, gateway, drops: each module
 * that follows the services polls on its own). Informational: the answer is the same for all.
 */
export const LB_POLL_MODULE_HEADER = "x-ebpf-k8s-module";

/** Most counter rows in one batch; agents send only what moved in the interval. */
export const MAX_LB_COUNTER_ROWS = 20000;

/**
 * What a node's lb module counted over one batch interval (deltas, like flow
 * records). Rows are positional to keep batches small:
 * services [serviceId, connections, refused], backends [backendId, connections].
 * "connections" counts backend selections: connect() of TCP and connected
 * UDP sockets, and each unconnected UDP sendmsg() to a VIP.
 */
export const LbCounters = z.strictObject({
  /** The LbState version the node had programmed when it read the counters. */
  version: Counter,
  services: z.array(z.tuple([ServiceId, Counter, Counter])).max(MAX_LB_COUNTER_ROWS),
  backends: z.array(z.tuple([BackendId, Counter])).max(MAX_LB_COUNTER_ROWS),
});
export type LbCounters = z.infer<typeof LbCounters>;

/**
 * A gateway frontend's flow events over one batch interval (deltas), after
 * [serviceId, address, port]: address an external IP (port: the service's
 * port), or 0.0.0.0 for the NodePort on any node address (port: the
 * NodePort). In this order (GatewayFrontendRow); a new counter is appended
 * here and as an optional element there (added in a later wire version).
 * - flows: flows tracked anew;
 * - evicted: tracked flows pushed out of the full flow table (LRU) before they ended;
 * - snatBusy: first packets dropped because the SNAT range had no free port for the backend (exhausted);
 * - noBackend: first packets dropped because the service had no usable backend;
 * - toStack: translated packets passed to the stack (no route known);
 * - expired: tracked flows ended by the node's flow expiry (idle past their timeout).
 */
export const GATEWAY_FRONTEND_COUNTERS = ["flows", "evicted", "snatBusy", "noBackend", "toStack", "expired"] as const;
export type GatewayFrontendCounter = (typeof GATEWAY_FRONTEND_COUNTERS)[number];
/** Where a frontend's counters start in its row. */
export const GATEWAY_FRONTEND_FIRST_COUNTER = 3;
/** The address of a NodePort frontend (any node address). */
export const NODE_PORT_FRONTEND = "0.0.0.0";
export const GatewayFrontendRow = z.tuple([
  ServiceId,
  Ipv4,
  ServicePort,
  Counter,
  Counter,
  Counter,
  Counter,
  Counter,
  Counter,
]);
export type GatewayFrontendRow = z.infer<typeof GatewayFrontendRow>;

/**
 * What a node's gateway module (XDP) counted over one batch interval
 * (deltas): per service [serviceId, packetsIn, bytesIn, packetsOut,
 * bytesOut] (whole frames: from clients in, replies out), only the services
 * that moved; per frontend its flow events (GatewayFrontendRow), only the
 * frontends with any; and the flow table's events.
 */
export const GatewayCounters = z.strictObject({
  /** The LbState version the node had programmed when it read the counters. */
  version: Counter,
  services: z.array(z.tuple([ServiceId, Counter, Counter, Counter, Counter])).max(MAX_LB_COUNTER_ROWS),
  /** Flows tracked anew, and tracked flows pushed out of the full table (LRU) to make room. */
  flows: Counter,
  evicted: Counter,
  /** VIP hits without a usable backend (dropped). */
  noBackend: Counter,
  /** Per frontend (wire version 3; absent from older agents). */
  frontends: z.array(GatewayFrontendRow).max(MAX_LB_COUNTER_ROWS).optional(),
});
export type GatewayCounters = z.infer<typeof GatewayCounters>;
