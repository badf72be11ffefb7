// SPDX-License-Identifier: Apache-2.0
/**
 * Kubernetes objects as the API server serves them, small enough to read in a
 * test: Services and EndpointSlices for control/kube's tests.
 */
import type { KubeEndpointSlice, KubeService } from "./translate.ts";

type Port = NonNullable<NonNullable<KubeService["spec"]>["ports"]>[number];
type Endpoint = NonNullable<KubeEndpointSlice["endpoints"]>[number];

export function kubeService(
  ns: string,
  name: string,
  clusterIP: string,
  ports: Port[],
  extra: Partial<NonNullable<KubeService["spec"]>> = {},
  rv = "1",
): KubeService {
  return {
    metadata: { namespace: ns, name, resourceVersion: rv },
    spec: { type: "ClusterIP", clusterIP, clusterIPs: [clusterIP], ports, ...extra },
  };
}

export function slice(
  ns: string,
  service: string,
  name: string,
  ports: KubeEndpointSlice["ports"],
  endpoints: Endpoint[],
  addressType = "IPv4",
  rv = "1",
): KubeEndpointSlice {
  return {
    metadata: { namespace: ns, name, resourceVersion: rv, labels: { "kubernetes.io/service-name": service } },
    addressType,
    ports,
    endpoints,
  };
}

/** An endpoint backed by a pod; `conditions` as the EndpointSlice controller writes them. */
export function endpoint(
  ip: string,
  pod: string | null,
  conditions: Endpoint["conditions"] = { ready: true, serving: true, terminating: false },
): Endpoint {
  return { addresses: [ip], conditions, ...(pod ? { targetRef: { kind: "Pod", name: pod } } : {}) };
}

export const TERMINATING_SERVING = { ready: false, serving: true, terminating: true };
export const TERMINATING_GONE = { ready: false, serving: false, terminating: true };
export const NOT_READY = { ready: false, serving: false, terminating: false };
