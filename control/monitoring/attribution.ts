/**
 * Attribution: which pod (or, once services exist, which service) an IP
 * address belongs to, across the whole cluster. Built from the latest
 * PodReports of every node; anything else is "world" and stays an IP.
 *
 * Pure and database-free: the ingest builds one from what it stored and
 * passes it to flows.ts, tcp.ts and drops.ts.
 */
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

/** Hook for the service registry: the service behind a virtual IP and port, or undefined. */
export type ServiceLookup = (ip: string, port: number) => ServiceEndpoint | undefined;

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
  /** pod → service (with the port: a service is an IP *and* a port) → world. */
  resolve(ip: string, port?: number): Endpoint;
  /** Every pod of the index, sorted by namespace, name. */
  pods(): PodEndpoint[];
  /**
   * IPs claimed by two pods (a pod deleted on one node while its IP was
   * reused on another, before the first node's next report): the latest
   * report won; this counts how often that happened.
   */
  readonly conflicts: number;
}

/**
 * Index of pods across the cluster. Host-network pods are left out of the IP
 * index (their IP is the node's, shared by every such pod) but stay findable
 * by uid. When two reports claim an IP the newer one (larger ts) wins; on a
 * tie the node whose name sorts first, so the result never depends on order.
 */
export function buildPodIndex(reports: readonly NodePods[], services: ServiceLookup = NO_SERVICES): PodIndex {
  const ordered = [...reports].sort((a, b) => a.ts - b.ts || (a.node < b.node ? 1 : a.node > b.node ? -1 : 0));
  const byIp = new Map<string, { pod: PodEndpoint; node: string }>();
  const byUid = new Map<string, PodEndpoint>();
  let conflicts = 0;
  for (const report of ordered) {
    for (const p of report.pods) {
      const pod: PodEndpoint = { kind: "pod", uid: p.uid, namespace: p.namespace, name: p.name, node: report.node };
      byUid.set(p.uid, pod);
      if (p.hostNetwork) continue;
      for (const raw of p.ips) {
        const ip = normalizeIp(raw);
        const had = byIp.get(ip);
        if (had && had.pod.uid !== p.uid) conflicts++;
        byIp.set(ip, { pod, node: report.node });
      }
    }
  }
  const pod = (ip: string) => byIp.get(normalizeIp(ip))?.pod;
  return {
    pod,
    byUid: (uid) => byUid.get(uid),
    resolve(ip, port) {
      const p = pod(ip);
      if (p) return p;
      const s = port === undefined ? undefined : services(normalizeIp(ip), port);
      return s ?? { kind: "world", ip: normalizeIp(ip) };
    },
    pods: () =>
      [...byUid.values()].sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid)),
    conflicts,
  };
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
