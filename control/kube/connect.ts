// SPDX-License-Identifier: Apache-2.0
/**
 * How the control plane reaches the Kubernetes API, and the start of the
 * Service sync from control/main.ts.
 *
 * - EBPF_K8S_KUBE_API set: that URL (e.g. `kubectl proxy`'s
 *   http://127.0.0.1:8001, or an https API server), with EBPF_K8S_KUBE_TOKEN
 *   as bearer token and EBPF_K8S_KUBE_CA (a PEM file) as CA when given;
 * - else in a pod (KUBERNETES_SERVICE_HOST set, as the agent decides): the
 *   API server's service address with the mounted service account's token
 *   (read again for every request: projected tokens rotate) and CA;
 * - else, or with EBPF_K8S_KUBE_SYNC=off: no sync.
 *
 * Node's fetch cannot be given a CA per request, so under Node this uses
 * undici's fetch with an Agent that trusts the cluster CA; under Deno, a
 * Deno.createHttpClient. control/main.ts says which runtime it is.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Fence } from "../lease/lease.ts";
import type { KubeConnection, KubeFetch } from "../wire/list-watch.ts";
import { KubeServiceSync } from "./services-watch.ts";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeTarget {
  apiServer: string;
  token: () => string;
  /** PEM of the CA to trust; undefined: the system's (or plain http). */
  caPem?: string;
  /** Where the target came from, for the log. */
  how: string;
}

type KubeSettings = Pick<
  Config,
  | "EBPF_K8S_KUBE_SYNC"
  | "EBPF_K8S_KUBE_API"
  | "EBPF_K8S_KUBE_TOKEN"
  | "EBPF_K8S_KUBE_CA"
  | "KUBERNETES_SERVICE_HOST"
  | "KUBERNETES_SERVICE_PORT"
  | "EBPF_K8S_KUBE_SERVICE_SELECTOR"
  | "EBPF_K8S_KUBE_SERVICE_NAMESPACES"
  | "EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES"
>;

/** Null when there is no cluster to follow (or the sync is off). Throws when a file it needs cannot be read. */
export function kubeTarget(c: KubeSettings, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeTarget | null {
  if (c.EBPF_K8S_KUBE_SYNC === "off") return null;
  if (c.EBPF_K8S_KUBE_API !== undefined) {
    const token = c.EBPF_K8S_KUBE_TOKEN ?? "";
    return {
      apiServer: c.EBPF_K8S_KUBE_API.replace(/\/+$/, ""),
      token: () => token,
      ...(c.EBPF_K8S_KUBE_CA !== undefined ? { caPem: readFileSync(c.EBPF_K8S_KUBE_CA, "utf8") } : {}),
      how: "EBPF_K8S_KUBE_API",
    };
  }
  const host = c.KUBERNETES_SERVICE_HOST;
  if (host === undefined) return null;
  const tokenFile = `${serviceAccountDir}/token`;
  let caPem: string;
  try {
    readFileSync(tokenFile); // fail at start, not at the first request
    caPem = readFileSync(`${serviceAccountDir}/ca.crt`, "utf8");
  } catch (e) {
    throw new Error(
      `KUBERNETES_SERVICE_HOST is set but the service account cannot be read (or set EBPF_K8S_KUBE_SYNC=off): ${
        (e as Error).message
      }`,
    );
  }
  return {
    apiServer: `https://${host.includes(":") ? `[${host}]` : host}:${c.KUBERNETES_SERVICE_PORT ?? 443}`,
    token: () => readFileSync(tokenFile, "utf8").trim(),
    caPem,
    how: `the service account in ${serviceAccountDir}`,
  };
}

/** The parts of Deno used here (tsc checks this file with Node types). */
export interface DenoHttp {
  createHttpClient(options: { caCerts: string[] }): { close(): void };
}

/** A fetch that trusts `caPem`, and what to close when done with it. */
export async function kubeFetch(
  caPem: string | undefined,
  deno?: DenoHttp,
): Promise<{ fetch: KubeFetch; close(): Promise<void> }> {
  if (deno) {
    const client = caPem !== undefined ? deno.createHttpClient({ caCerts: [caPem] }) : undefined;
    return {
      fetch: (url, init) => fetch(url, { ...init, ...(client ? { client } : {}) } as RequestInit),
      close: async () => client?.close(),
    };
  }
  const undici = await import("undici");
  const dispatcher = caPem !== undefined ? new undici.Agent({ connect: { ca: caPem } }) : undefined;
  return {
    fetch: (url, init) =>
      undici.fetch(url, { ...init, ...(dispatcher ? { dispatcher } : {}) }) as unknown as Promise<Response>,
    close: async () => dispatcher?.close(),
  };
}

/**
 * The Service sync, ready to start, when there is a cluster to follow (saying so, and failing now when a file it
 * needs cannot be read); null when there is none. With replicas it runs on the lease holder only: `start` with
 * the lease's fence, once per tenure (control/lease/).
 */
export function kubeServiceSync(
  db: Db,
  config: KubeSettings,
  deno?: DenoHttp,
  log: (msg: string) => void = (m) => console.log(`kubernetes services: ${m}`),
): { start(fence?: Fence): Promise<{ stop(): Promise<void> }> } | null {
  const target = kubeTarget(config);
  if (target === null) {
    log(
      config.EBPF_K8S_KUBE_SYNC === "off"
        ? "not synced (EBPF_K8S_KUBE_SYNC=off)"
        : "not synced: not in a cluster (no KUBERNETES_SERVICE_HOST) and no EBPF_K8S_KUBE_API",
    );
    return null;
  }
  return {
    async start(fence) {
      const http = await kubeFetch(target.caPem, deno);
      const conn: KubeConnection = { apiServer: target.apiServer, token: target.token, fetch: http.fetch };
      const filter = {
        selector: config.EBPF_K8S_KUBE_SERVICE_SELECTOR,
        namespaces: config.EBPF_K8S_KUBE_SERVICE_NAMESPACES,
        excludeNamespaces: config.EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES,
      };
      const sync = new KubeServiceSync({ conn, db, log, fence, filter });
      log(`following ${sync.description}, reached through ${target.how}`);
      sync.start();
      return {
        async stop() {
          await sync.stop();
          await http.close();
        },
      };
    },
  };
}
