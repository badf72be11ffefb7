// SPDX-License-Identifier: Apache-2.0
/**
 * Which Kubernetes Services are imported (EBPF_K8S_KUBE_SERVICE_SELECTOR,
 * EBPF_K8S_KUBE_SERVICE_NAMESPACES, EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES):
 * a label selector, sent to the API server with the Services' list and watch
 * and checked again here, and namespaces to take or leave, checked here (a
 * watch covers one namespace or all). A Service outside the filter is never
 * imported; one that leaves it (relabelled) is removed like a deleted one.
 *
 * The default selector leaves out Services labelled
 * service.kubernetes.io/service-proxy-name, as kube-proxy and Cilium do: the
 * label hands a Service to another proxy, and two proxies balancing it would
 * fight over its connections.
 */
import { type LabelSelector, matchesLabels, parseLabelSelector } from "./label-selector.ts";

/** The Kubernetes label that gives a Service to a proxy other than the default one (kube-proxy skips such Services). */
export const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
export const DEFAULT_SERVICE_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL}`;

export interface ServiceImportFilter {
  selector: LabelSelector;
  /** Only these namespaces; empty: every namespace. */
  namespaces: readonly string[];
  /** Never these. */
  excludeNamespaces: readonly string[];
}

export const DEFAULT_SERVICE_FILTER: ServiceImportFilter = {
  selector: parseLabelSelector(DEFAULT_SERVICE_SELECTOR),
  namespaces: [],
  excludeNamespaces: [],
};

/** Whether an object of `namespace` is in the filter's namespaces (Services and their EndpointSlices alike). */
export function inNamespaces(filter: ServiceImportFilter, namespace: string | undefined): boolean {
  const ns = namespace ?? "default";
  return (filter.namespaces.length === 0 || filter.namespaces.includes(ns)) && !filter.excludeNamespaces.includes(ns);
}

/** Whether a Service is imported. */
export function importsService(
  filter: ServiceImportFilter,
  metadata: { namespace?: string; labels?: Record<string, string> },
): boolean {
  return inNamespaces(filter, metadata.namespace) && matchesLabels(filter.selector, metadata.labels);
}

/** "all namespaces", "namespaces shop, web", "all namespaces but kube-system", with the selector. */
export function describeFilter(filter: ServiceImportFilter): string {
  const ns = filter.namespaces.length > 0 ? `namespaces ${filter.namespaces.join(", ")}` : "all namespaces";
  const but = filter.excludeNamespaces.length > 0 ? ` but ${filter.excludeNamespaces.join(", ")}` : "";
  const sel = filter.selector.text === "" ? "" : `, labels ${filter.selector.text}`;
  return `${ns}${but}${sel}`;
}
