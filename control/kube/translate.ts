// SPDX-License-Identifier: Apache-2.0
/**
 * Kubernetes Services (v1) and EndpointSlices (discovery.k8s.io/v1) → the
 * services the control plane load-balances (control/wire/services.ts), the
 * way kube-proxy reads them. Pure.
 *
 * - A Service needs a cluster IP: headless ("None") and ExternalName services
 *   have none and are left out. IPv4 only: the first IPv4 of spec.clusterIPs
 *   (a dual-stack service with an IPv6 primary still gets its IPv4 VIP); an
 *   IPv6-only service is left out, counted as skipped.
 * - Each spec.ports entry (TCP or UDP; SCTP is left out) is one service,
 *   portName = the port's name ("" when unnamed).
 * - sessionAffinity ClientIP → affinity client, timeout from
 *   sessionAffinityConfig.clientIP.timeoutSeconds (Kubernetes' default 10800).
 * - Backends come from the IPv4 slices labelled kubernetes.io/service-name=<name>
 *   in the service's namespace: the slice port with the service port's name
 *   gives the port, each endpoint's first address the IP (as kube-proxy).
 *   ready (absent means true) → active; else terminating (serving or not) →
 *   terminating; else unhealthy. A ready endpoint that is also terminating
 *   (publishNotReadyAddresses) stays active: Kubernetes only marks those ready
 *   when the service asks for it. targetRef Pod → pod; weight 1.
 * - The same ip:port in two slices (an endpoint moving between slices) is one
 *   backend, in the best of its states.
 * - Two services of one name, or of one frontend, cannot both be: the first
 *   (by namespace, name, port name) stays, the other is reported; so are
 *   those clashing with a service made through the admin API (withoutClashes).
 * - What fails the wire schema is left out and reported, never the whole set:
 *   a pod ref that is not a valid name drops the ref, a bad backend drops the
 *   backend, a bad service drops that service; past MAX_BACKENDS_PER_SERVICE
 *   the active backends are kept first and the cut is reported.
 */
import { describeRef, type Frontend, frontendKey, refKey, type ServiceRef } from "../services/keys.ts";
import { BackendInput, type BackendState, MAX_BACKENDS_PER_SERVICE, ServiceInput } from "../wire/services.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface KubeService {
  /** labels: read by the import filter (service-filter.ts), not by translate. */
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: { name?: string; protocol?: string; port: number; targetPort?: number | string; nodePort?: number }[];
    externalIPs?: string[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  };
  /** LoadBalancer: the addresses given to it (status.loadBalancer.ingress). */
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface KubeEndpointSlice {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  addressType: string;
  ports?: { name?: string; protocol?: string; port?: number }[] | null;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }[] | null;
}

/**
 * Only what translate reads: kept in memory for every Service and slice of
 * the cluster, so managedFields, annotations and status are not.
 */
export function trimService(s: KubeService): KubeService {
  const spec = s.spec ?? {};
  return {
    metadata: { name: s.metadata.name, namespace: s.metadata.namespace },
    spec: {
      clusterIP: spec.clusterIP,
      clusterIPs: spec.clusterIPs,
      ports: spec.ports?.map((p) => ({
        name: p.name,
        protocol: p.protocol,
        port: p.port,
        ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      })),
      sessionAffinity: spec.sessionAffinity,
      sessionAffinityConfig: spec.sessionAffinityConfig,
      ...(spec.type !== undefined ? { type: spec.type } : {}),
      ...(spec.externalIPs?.length ? { externalIPs: spec.externalIPs } : {}),
    },
    ...(spec.type === "LoadBalancer" && s.status?.loadBalancer?.ingress?.length
      ? { status: { loadBalancer: { ingress: s.status.loadBalancer.ingress.map((i) => ({ ip: i.ip })) } } }
      : {}),
  };
}

export function trimSlice(s: KubeEndpointSlice): KubeEndpointSlice {
  const service = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return {
    metadata: {
      name: s.metadata.name,
      namespace: s.metadata.namespace,
      ...(service !== undefined ? { labels: { [SERVICE_NAME_LABEL]: service } } : {}),
    },
    addressType: s.addressType,
    ports: s.ports?.map((p) => ({ name: p.name, port: p.port })),
    endpoints: s.endpoints?.map((e) => ({
      addresses: e.addresses.slice(0, 1),
      conditions: { ready: e.conditions?.ready, terminating: e.conditions?.terminating },
      ...(e.targetRef
        ? { targetRef: { kind: e.targetRef.kind, name: e.targetRef.name, namespace: e.targetRef.namespace } }
        : {}),
    })),
  };
}

/** Something left out, and why; `key` is namespace/name[:portName][ ip:port]. */
export interface Skipped {
  key: string;
  reason: string;
}

export interface Translation {
  services: ServiceInput[];
  skipped: Skipped[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const RANK: Record<BackendState, number> = { active: 0, terminating: 1, unhealthy: 2 };

type Endpoint = NonNullable<KubeEndpointSlice["endpoints"]>[number];

export function endpointState(c: Endpoint["conditions"]): BackendState {
  if (c?.ready ?? true) return "active";
  return c?.terminating ? "terminating" : "unhealthy";
}

const issueText = (e: { issues: { path: PropertyKey[]; message: string }[] }) =>
  e.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ");

export function translate(services: Iterable<KubeService>, slices: Iterable<KubeEndpointSlice>): Translation {
  const skipped: Skipped[] = [];
  const slicesOf = new Map<string, KubeEndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || s.addressType !== "IPv4") continue;
    const key = `${s.metadata.namespace ?? "default"}/${svc}`;
    const list = slicesOf.get(key);
    if (list) list.push(s);
    else slicesOf.set(key, [s]);
  }

  const out: ServiceInput[] = [];
  for (const svc of services) {
    const namespace = svc.metadata.namespace ?? "default";
    const key = `${namespace}/${svc.metadata.name}`;
    const spec = svc.spec ?? {};
    if (!spec.clusterIP || spec.clusterIP === "None") continue; // headless or ExternalName: nothing to balance
    const vip = (spec.clusterIPs ?? [spec.clusterIP]).find((ip) => IPV4.test(ip));
    if (!vip) {
      skipped.push({ key, reason: `IPv6-only cluster IP ${spec.clusterIP} (only IPv4 is balanced)` });
      continue;
    }
    const affinity = spec.sessionAffinity === "ClientIP" ? ("client" as const) : ("none" as const);
    const affinityTimeoutS = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    for (const p of spec.ports ?? []) {
      const portName = p.name ?? "";
      const portKey = nameOf({ namespace, name: svc.metadata.name, portName });
      const protocol = p.protocol ?? "TCP";
      if (protocol !== "TCP" && protocol !== "UDP") {
        skipped.push({ key: portKey, reason: `protocol ${protocol} (only TCP and UDP are balanced)` });
        continue;
      }
      const backends = backendsOf(slicesOf.get(key) ?? [], portName, portKey, skipped);
      const type = spec.type === "NodePort" || spec.type === "LoadBalancer" ? spec.type : "ClusterIP";
      // LoadBalancer: the addresses the load balancer was given (status) are external IPs too, IPv4 ones only
      const lbIps = type === "LoadBalancer"
        ? (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []))
        : [];
      const externalIPs = [...new Set([...(spec.externalIPs ?? []), ...lbIps])].filter((ip) => IPV4.test(ip));
      const parsed = ServiceInput.safeParse({
        namespace,
        name: svc.metadata.name,
        portName,
        vip,
        port: p.port,
        protocol,
        affinity,
        ...(affinity === "client" && affinityTimeoutS !== undefined ? { affinityTimeoutS } : {}),
        backends,
        type: type !== "ClusterIP" && p.nodePort === undefined ? "ClusterIP" : type, // a nodePort not allocated yet: inside only for now
        ...(type !== "ClusterIP" && p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
        externalIPs,
      });
      if (parsed.success) out.push(parsed.data);
      else skipped.push({ key: portKey, reason: issueText(parsed.error) });
    }
  }
  out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.portName, b.portName));
  return { services: withoutClashes(out, [], skipped), skipped };
}

/**
 * The services whose name and frontend (VIP:port/protocol) nobody else
 * holds: not one of `held` (the admin API's services, which the sync may not
 * touch) nor an earlier one of the list. The others are reported in `skipped`.
 */
export function withoutClashes(
  list: ServiceInput[],
  held: (ServiceRef & Frontend)[],
  skipped: Skipped[],
): ServiceInput[] {
  const names = new Map(held.map((h) => [refKey(h), "the admin API"]));
  const frontends = new Map(held.map((h) => [frontendKey(h), `${describeRef(h)} (made through the admin API)`]));
  return list.filter((s) => {
    const key = nameOf(s);
    const name = names.get(refKey(s));
    if (name !== undefined) {
      skipped.push({ key, reason: `the name is already used by ${name}` });
      return false;
    }
    const frontend = frontends.get(frontendKey(s));
    if (frontend !== undefined) {
      skipped.push({ key, reason: `${frontendKey(s)} is already the frontend of ${frontend}` });
      return false;
    }
    names.set(refKey(s), "another port of the same Service");
    frontends.set(frontendKey(s), describeRef(s));
    return true;
  });
}

function backendsOf(
  slices: KubeEndpointSlice[],
  portName: string,
  portKey: string,
  skipped: Skipped[],
): BackendInput[] {
  const byAddr = new Map<string, BackendInput>();
  for (const slice of slices) {
    const port = slice.ports?.find((sp) => (sp.name ?? "") === portName)?.port;
    if (port === undefined) continue; // this slice has no such port (or an unrestricted one): nothing to send to
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses[0];
      if (ip === undefined) continue;
      const addr = `${ip}:${port}`;
      const ref = ep.targetRef?.kind === "Pod" && ep.targetRef.name
        ? { namespace: ep.targetRef.namespace ?? slice.metadata.namespace ?? "default", name: ep.targetRef.name }
        : undefined;
      const candidate = { ip, port, weight: 1, state: endpointState(ep.conditions), ...(ref ? { pod: ref } : {}) };
      let parsed = BackendInput.safeParse(candidate);
      if (!parsed.success && ref && parsed.error.issues.every((i) => i.path[0] === "pod")) {
        skipped.push({
          key: `${portKey} ${addr}`,
          reason: `pod ref ${ref.namespace}/${ref.name} left out: ${issueText(parsed.error)}`,
        });
        parsed = BackendInput.safeParse({ ...candidate, pod: undefined });
      }
      if (!parsed.success) {
        skipped.push({ key: `${portKey} ${addr}`, reason: issueText(parsed.error) });
        continue;
      }
      const seen = byAddr.get(addr);
      if (!seen || RANK[parsed.data.state] < RANK[seen.state]) byAddr.set(addr, parsed.data);
    }
  }
  const backends = [...byAddr.values()].sort((a, b) => RANK[a.state] - RANK[b.state] || cmpAddr(a, b));
  if (backends.length > MAX_BACKENDS_PER_SERVICE) {
    skipped.push({
      key: portKey,
      reason: `${
        backends.length - MAX_BACKENDS_PER_SERVICE
      } of ${backends.length} backends cut (at most ${MAX_BACKENDS_PER_SERVICE}; active ones kept first)`,
    });
    backends.length = MAX_BACKENDS_PER_SERVICE;
  }
  return backends.sort(cmpAddr);
}

/** namespace/name, and :portName for a named port. */
const nameOf = (s: ServiceRef) => `${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ""}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** By IP numerically, then port: a stable order that reads well. */
function cmpAddr(a: { ip: string; port: number }, b: { ip: string; port: number }): number {
  const pa = a.ip.split(".").map(Number);
  const pb = b.ip.split(".").map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return a.port - b.port;
}
