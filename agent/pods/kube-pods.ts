// SPDX-License-Identifier: Apache-2.0
/**
 * Pods of this node from the Kubernetes API: list, then watch from the list's
 * resourceVersion, with the service-account token and CA. A watch that ends
 * (the API server closes them routinely, or the connection drops) resumes from
 * the last resourceVersion seen; "410 Gone" (too old) means list again. The
 * list+watch itself is control/wire/list-watch.ts, shared with the control
 * plane's Service sync. Plain fetch, no client library and no kubectl.
 */
import { ListWatch } from "../../control/wire/list-watch.ts";
import { MAX_POD_LABELS, type PodInfo } from "../../control/wire/pods.ts";
import type { PodSource } from "./source.ts";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeOptions {
  /** e.g. https://10.96.0.1:443 */
  apiServer: string;
  node: string;
  /** Read on every request: projected tokens rotate. */
  token: () => string;
  /** PEM of the cluster CA; undefined for a plain-http test server. */
  caCert?: string;
  /** Delay before retrying after an error (doubles up to 30 s). */
  retryMs?: number;
  log?: (msg: string) => void;
}

/** Options for an agent running in a pod: from the environment and the mounted service account. */
export function inClusterOptions(node: string): KubeOptions | null {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST");
  const port = Deno.env.get("KUBERNETES_SERVICE_PORT") ?? "443";
  if (!host) return null;
  return {
    apiServer: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    node,
    token: () => Deno.readTextFileSync(`${SERVICE_ACCOUNT_DIR}/token`).trim(),
    caCert: Deno.readTextFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
  };
}

interface KubePod {
  metadata: {
    uid: string;
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

/** Kubernetes pod → what the agent reports. Labels beyond the cap are cut (sorted by key, so the cut is stable). */
export function toPodInfo(p: KubePod): PodInfo {
  const labels = Object.fromEntries(
    Object.entries(p.metadata.labels ?? {}).sort(([a], [b]) => a.localeCompare(b)).slice(0, MAX_POD_LABELS),
  );
  const owner = p.metadata.ownerReferences?.find((o) => o.controller) ?? p.metadata.ownerReferences?.[0];
  const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
  return {
    uid: p.metadata.uid,
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    labels,
    ...(owner ? { owner: { kind: owner.kind, name: owner.name } } : {}),
    ips,
    hostNetwork: p.spec?.hostNetwork ?? false,
  };
}

/** Finished pods hold no network: they are not reported. */
const running = (p: KubePod) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

export class KubePodWatcher implements PodSource {
  private readonly byUid = new Map<string, PodInfo>();
  private readonly client?: Deno.HttpClient;
  private readonly lw: ListWatch<KubePod>;
  readonly description: string;

  constructor(o: KubeOptions) {
    const client = o.caCert ? Deno.createHttpClient({ caCerts: [o.caCert] }) : undefined;
    this.client = client;
    this.lw = new ListWatch<KubePod>({
      conn: {
        apiServer: o.apiServer,
        token: o.token,
        fetch: (url, init) => fetch(url, { ...init, ...(client ? { client } : {}) }),
      },
      path: "/api/v1/pods",
      query: { fieldSelector: `spec.nodeName=${o.node}` },
      what: "pods",
      retryMs: o.retryMs,
      log: o.log ?? ((m: string) => console.error(`agent: pods: ${m}`)),
    });
    this.description = `kubernetes ${o.apiServer} (pods with spec.nodeName=${o.node})`;
  }

  /** Counters for tests and the inventory. */
  get stats() {
    return this.lw.stats;
  }

  pods(): PodInfo[] {
    return [...this.byUid.values()];
  }

  start(onChange: () => void): void {
    this.lw.start({
      replace: (items) => {
        this.byUid.clear();
        for (const p of items) if (running(p)) this.byUid.set(p.metadata.uid, toPodInfo(p));
        onChange();
      },
      event: (type, p) => {
        if (type === "DELETED" || !running(p)) this.byUid.delete(p.metadata.uid);
        else this.byUid.set(p.metadata.uid, toPodInfo(p));
        onChange();
      },
    });
  }

  async stop(): Promise<void> {
    await this.lw.stop();
    this.client?.close();
  }
}
