// SPDX-License-Identifier: Apache-2.0
/**
 * Attribution: which pod (or, once services exist, which service) an IP
 * address belongs to, across the whole cluster. Built from the latest
 * PodReports of every node; anything else is "world" and stays an IP.
 *
 * Pure and database-free: the ingest builds one from what it stored and
 * passes it to flows.ts, tcp.ts and drops.ts.
 */
import { isOtherPeer } from "../wire/monitoring.ts";
import type { PodInfo } from "../wire/pods.ts";

/** A pod as records name it. Pods are keyed by uid: a pod with two IPs is one endpoint. */
export interface PodEndpoint {
  kind: "pod";
  uid: string;
  namespace: string;
  name: string;
  node: string;
}

/** A Kubernetes service, found by its virtual IP and port (once the service registry exists). */
export interface ServiceEndpoint {
  kind: "service";
  namespace: string;
  name: string;
}

/** Anything that is neither: an address outside the cluster, a node's own address, an unknown pod. */
export interface WorldEndpoint {
  kind: "world";
  ip: string;
}

export type Endpoint = PodEndpoint | ServiceEndpoint | WorldEndpoint;

/** What a cardinality cap folded away (see cardinality.ts): stored, shown as "other", never a real endpoint. */
export interface OtherEndpoint {
  kind: "other";
}
export type StoredEndpoint = Endpoint | OtherEndpoint;
export const OTHER_ENDPOINT: OtherEndpoint = Object.freeze({ kind: "other" });

/**
 * An address of a record as rows store it: the wire's reserved "other" ends
 * (what an agent's cap summed: OTHER_PEER, OTHER_POD_PEER) are "other", like
 * what the control plane's own caps sum; any other address resolves.
 */
export function resolveStored(index: PodIndex, ip: string, port?: number, proto?: number): StoredEndpoint {
  return isOtherPeer(ip) ? OTHER_ENDPOINT : index.resolve(ip, port, proto);
}

/** The service of a server address and port (PodIndex.service); none for the wire's reserved "other" ends. */
export function serviceOf(index: PodIndex, ip: string, port: number, proto?: number): ServiceEndpoint | undefined {
  return isOtherPeer(ip) ? undefined : index.service(ip, port, proto);
}

/** A row's service as stored: its endpointKey, "" for none. */
export function serviceKey(s: ServiceEndpoint | undefined): string {
  return s === undefined ? "" : endpointKey(s);
}

/** One stable string per endpoint, for grouping: "pod:<uid>", "svc:<ns>/<name>", "ip:<ip>", "other". */
export function endpointKey(e: StoredEndpoint): string {
  switch (e.kind) {
    case "pod":
      return `pod:${e.uid}`;
    case "service":
      return `svc:${e.namespace}/${e.name}`;
    case "world":
      return `ip:${e.ip}`;
    case "other":
      return "other";
  }
}

/** For people: "ns/name" for pods and services, the IP for the world. */
export function endpointLabel(e: StoredEndpoint): string {
  switch (e.kind) {
    case "pod":
      return e.name === "" ? `pod ${e.uid}` : `${e.namespace}/${e.name}`;
    case "service":
      return `${e.namespace}/${e.name}`;
    case "world":
      return e.ip;
    case "other":
      return "other (over the cap)";
  }
}

/** The pods one node reported in its latest batch, with that batch's agent time. */
export interface NodePods {
  node: string;
  ts: number;
  pods: readonly PodInfo[];
}

/** Hook for the service registry: the service behind a virtual IP, port and IP protocol (6, 17), or undefined. */
export type ServiceLookup = (ip: string, port: number, proto?: number) => ServiceEndpoint | undefined;

export const NO_SERVICES: ServiceLookup = () => undefined;

/** IPv6 addresses are compared in lower case; IPv4 as sent. */
export function normalizeIp(ip: string): string {
  return ip.includes(":") ? ip.toLowerCase() : ip;
}

export interface PodIndex {
  /** The pod owning this IP, or undefined. */
  pod(ip: string): PodEndpoint | undefined;
  /** By uid (TCP and drop records name their local pod by uid). */
  byUid(uid: string): PodEndpoint | undefined;
  /** pod → service (with the port and protocol: a service is an IP *and* a port) → world. */
  resolve(ip: string, port?: number, proto?: number): Endpoint;
  /**
   * The service a connection to ip:port was addressed to: the service of
   * that frontend (VIP, external IP), else the service that lists ip:port
   * as a backend (reached through the socket load balancer, the gateway, or
   * straight to the pod).
   */
  service(ip: string, port: number, proto?: number): ServiceEndpoint | undefined;
  /** Every pod of the index, sorted by namespace, name. */
  pods(): PodEndpoint[];
  /**
   * IPs claimed by two pods (a pod deleted on one node while its IP was
   * reused on another, before the first node's next report): the latest
   * report wins; this counts such IPs.
   */
  readonly conflicts: number;
}

/**
 * Index of pods across the cluster. Host-network pods are left out of the IP
 * index (their IP is the node's, shared by every such pod) but stay findable
 * by uid. When two reports claim an IP the newer one (larger ts) wins; on a
 * tie the node whose name sorts first, so the result never depends on order.
 */
export function buildPodIndex(
  reports: readonly NodePods[],
  services: ServiceLookup = NO_SERVICES,
  backends: ServiceLookup = NO_SERVICES,
): PodIndex {
  const directory = new PodDirectory(services, backends);
  for (const r of reports) directory.setNode(r.node, r.ts, r.pods);
  return directory;
}

interface Claim {
  pod: PodEndpoint;
  node: string;
  ts: number;
}

/** Per key (an IP or a uid), what each node claims; the newest claim wins. */
class Claims {
  private readonly byKey = new Map<string, Map<string, Claim>>();

  set(key: string, claim: Claim) {
    let claims = this.byKey.get(key);
    if (claims === undefined) this.byKey.set(key, claims = new Map());
    claims.set(claim.node, claim);
  }

  remove(key: string, node: string) {
    const claims = this.byKey.get(key);
    if (claims?.delete(node) && claims.size === 0) this.byKey.delete(key);
  }

  best(key: string): PodEndpoint | undefined {
    const claims = this.byKey.get(key);
    if (claims === undefined) return undefined;
    let best: Claim | undefined;
    for (const c of claims.values()) {
      if (best === undefined || c.ts > best.ts || (c.ts === best.ts && c.node < best.node)) best = c;
    }
    return best?.pod;
  }

  /** Keys claimed for more than one pod. */
  contested(): number {
    let n = 0;
    for (const claims of this.byKey.values()) if (new Set([...claims.values()].map((c) => c.pod.uid)).size > 1) n++;
    return n;
  }

  values(): PodEndpoint[] {
    return [...this.byKey.keys()].map((k) => this.best(k)!);
  }
}

/**
 * The PodIndex kept up to date one node report at a time, so the ingest does
 * not rebuild it from every node's pods for every batch: a report replaces
 * what its node said before, unless it is older than that.
 */
export class PodDirectory implements PodIndex {
  private readonly reported = new Map<string, { ts: number; pods: readonly PodInfo[] }>();
  private readonly ips = new Claims();
  private readonly uids = new Claims();

  /** `services` finds a service by frontend, `backends` by one of its backends. */
  constructor(
    private readonly services: ServiceLookup = NO_SERVICES,
    private readonly backends: ServiceLookup = NO_SERVICES,
  ) {}

  /** `node`'s pods as of agent time `ts`; false (and nothing changes) when an newer report of the node is held. */
  setNode(node: string, ts: number, pods: readonly PodInfo[]): boolean {
    const had = this.reported.get(node);
    if (had !== undefined && ts < had.ts) return false;
    for (const p of had?.pods ?? []) {
      this.uids.remove(p.uid, node);
      for (const ip of p.ips) this.ips.remove(normalizeIp(ip), node);
    }
    this.reported.set(node, { ts, pods });
    for (const p of pods) {
      const claim = {
        pod: { kind: "pod", uid: p.uid, namespace: p.namespace, name: p.name, node } as PodEndpoint,
        node,
        ts,
      };
      this.uids.set(p.uid, claim);
      if (!p.hostNetwork) { for (const ip of p.ips) this.ips.set(normalizeIp(ip), claim); }
    }
    return true;
  }

  pod(ip: string): PodEndpoint | undefined {
    return this.ips.best(normalizeIp(ip));
  }

  byUid(uid: string): PodEndpoint | undefined {
    return this.uids.best(uid);
  }

  resolve(ip: string, port?: number, proto?: number): Endpoint {
    const p = this.pod(ip);
    if (p) return p;
    const s = port === undefined ? undefined : this.services(normalizeIp(ip), port, proto);
    return s ?? { kind: "world", ip: normalizeIp(ip) };
  }

  service(ip: string, port: number, proto?: number): ServiceEndpoint | undefined {
    const at = normalizeIp(ip);
    return this.services(at, port, proto) ?? this.backends(at, port, proto);
  }

  pods(): PodEndpoint[] {
    return this.uids.values().sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid));
  }

  get conflicts(): number {
    return this.ips.contested();
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The pod a record names by uid, as the index knows it; a uid the index does
 * not know (the pod vanished before its node's next report) stays a pod with
 * empty names, labelled "pod <uid>".
 */
export function podOfUid(index: PodIndex, uid: string, node: string): PodEndpoint {
  return index.byUid(uid) ?? { kind: "pod", uid, namespace: "", name: "", node };
}
