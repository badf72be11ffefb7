/**
 * Pods of this node from the Kubernetes API: list, then watch from the list's
 * resourceVersion, with the service-account token and CA. A watch that ends
 * (the API server closes them routinely, or the connection drops) resumes from
 * the last resourceVersion seen; "410 Gone" (too old) means list again.
 * Plain fetch, no client library and no kubectl.
 */
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

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubePod & { code?: number; reason?: string; message?: string };
}

/** Kubernetes pod → what the agent reports. Labels beyond the cap are cut (sorted by key, so the cut is stable). */
export function toPodInfo(p: KubePod): PodInfo {
  const labels = Object.fromEntries(Object.entries(p.metadata.labels ?? {}).sort(([a], [b]) => a.localeCompare(b)).slice(0, MAX_POD_LABELS));
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

class Gone extends Error {}

export class KubePodWatcher implements PodSource {
  private readonly byUid = new Map<string, PodInfo>();
  private resourceVersion = "";
  private abort = new AbortController();
  private loop?: Promise<void>;
  private readonly client?: Deno.HttpClient;
  /** Counters for tests and the inventory. */
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0 };
  readonly description: string;

  constructor(private readonly o: KubeOptions) {
    this.client = o.caCert ? Deno.createHttpClient({ caCerts: [o.caCert] }) : undefined;
    this.description = `kubernetes ${o.apiServer} (pods with spec.nodeName=${o.node})`;
  }

  pods(): PodInfo[] {
    return [...this.byUid.values()];
  }

  private url(watch: boolean): string {
    const q = new URLSearchParams({ fieldSelector: `spec.nodeName=${this.o.node}` });
    if (watch) {
      q.set("watch", "1");
      q.set("allowWatchBookmarks", "true");
      q.set("resourceVersion", this.resourceVersion);
    }
    return `${this.o.apiServer}/api/v1/pods?${q}`;
  }

  private request(url: string): Promise<Response> {
    return fetch(url, {
      headers: { authorization: `Bearer ${this.o.token()}`, accept: "application/json" },
      signal: this.abort.signal,
      ...(this.client ? { client: this.client } : {}),
    } as RequestInit);
  }

  private async list(onChange: () => void): Promise<void> {
    this.stats.lists++;
    const res = await this.request(this.url(false));
    if (!res.ok) throw new Error(`list pods: ${res.status} ${(await res.text()).slice(0, 300)}`);
    const body = (await res.json()) as { metadata: { resourceVersion: string }; items: KubePod[] };
    this.byUid.clear();
    for (const p of body.items) if (running(p)) this.byUid.set(p.metadata.uid, toPodInfo(p));
    this.resourceVersion = body.metadata.resourceVersion;
    onChange();
  }

  /** Follows one watch stream until it ends; throws Gone on 410. */
  private async watch(onChange: () => void): Promise<void> {
    this.stats.watches++;
    const res = await this.request(this.url(true));
    if (res.status === 410) throw new Gone();
    if (!res.ok || !res.body) throw new Error(`watch pods: ${res.status} ${(await res.text()).slice(0, 300)}`);
    let buf = "";
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.apply(JSON.parse(line) as WatchEvent, onChange);
      }
    }
  }

  private apply(ev: WatchEvent, onChange: () => void): void {
    if (ev.type === "ERROR") {
      if (ev.object.code === 410) throw new Gone();
      throw new Error(`watch error: ${ev.object.code} ${ev.object.message ?? ""}`);
    }
    if (ev.object.metadata?.resourceVersion) this.resourceVersion = ev.object.metadata.resourceVersion;
    if (ev.type === "BOOKMARK") return;
    const uid = ev.object.metadata.uid;
    if (ev.type === "DELETED" || !running(ev.object)) this.byUid.delete(uid);
    else this.byUid.set(uid, toPodInfo(ev.object));
    onChange();
  }

  start(onChange: () => void): void {
    const log = this.o.log ?? ((m: string) => console.error(`agent: pods: ${m}`));
    let delay = this.o.retryMs ?? 1000;
    this.loop = (async () => {
      let needList = true;
      while (!this.abort.signal.aborted) {
        try {
          if (needList) await this.list(onChange);
          needList = false;
          await this.watch(onChange); // returns when the server ends the stream: resume from resourceVersion
          delay = this.o.retryMs ?? 1000;
        } catch (e) {
          if (this.abort.signal.aborted) return;
          if (e instanceof Gone) {
            this.stats.gone++;
            log("resourceVersion too old (410 Gone): listing again");
            needList = true;
            continue;
          }
          this.stats.errors++;
          log(`${(e as Error).message}; retrying in ${delay} ms`);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 30_000);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    this.client?.close();
  }
}
