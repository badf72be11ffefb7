// SPDX-License-Identifier: Apache-2.0
/**
 * The generic half of a Kubernetes informer, shared by the agent (its node's
 * pods, under Deno) and the control plane (Services and EndpointSlices, under
 * Node or Deno): list a resource (in pages), then watch it from the list's
 * resourceVersion with bookmarks. A watch that ends (the API server closes
 * them routinely, or the connection drops) resumes from the last
 * resourceVersion seen; "410 Gone" (compacted past it) means list again, and
 * the new list replaces everything known. Errors back off (doubling up to a
 * cap); stop() ends at once, also in the middle of a wait.
 *
 * Plain fetch, no client library: the caller hands in a fetch that trusts the
 * cluster CA (Deno.createHttpClient in Deno, an undici Agent in Node), so this
 * file depends on no runtime.
 */

/** fetch as this needs it; the runtime's own, bound to the cluster CA. */
export type KubeFetch = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<Response>;

/** Where the API server is and how to talk to it. */
export interface KubeConnection {
  /** e.g. https://10.96.0.1:443 */
  apiServer: string;
  /** Read on every request: projected service-account tokens rotate. Empty: no Authorization header. */
  token: () => string;
  fetch: KubeFetch;
}

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ListWatchHandlers<T> {
  /** Every object, after the first list and after each relist: replaces all that was known. */
  replace(items: T[]): void;
  /** One change the watch saw. */
  event(type: WatchEventType, object: T): void;
}

export interface ListWatchOptions {
  conn: KubeConnection;
  /** Collection path, e.g. /api/v1/pods or /apis/discovery.k8s.io/v1/endpointslices. */
  path: string;
  /** Extra query parameters for both list and watch (fieldSelector, labelSelector). */
  query?: Record<string, string>;
  /** What is listed, for messages ("pods", "services"). */
  what: string;
  /** Delay before retrying after an error; doubles up to maxRetryMs. Default 1 s, 30 s. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Objects per list page (limit/continue). Default 500, as client-go. */
  pageSize?: number;
  /**
   * The server ends each watch after this long (timeoutSeconds); a watch still
   * open that long again (at most 30 s) later is taken for a silently dead
   * connection and resumed. Default 300.
   */
  watchTimeoutS?: number;
  /** Messages (errors, relists), without a prefix: the caller's log says what is watched. */
  log: (msg: string) => void;
}

interface WatchEvent<T> {
  type: WatchEventType | "BOOKMARK" | "ERROR";
  object: T & { code?: number; reason?: string; message?: string };
}

/** A list page that takes longer is taken for a dead connection. */
const LIST_PAGE_TIMEOUT_MS = 60_000;

/** The watch's resourceVersion is too old: list again. */
class Gone extends Error {}
/** An error whose message already says what failed. */
class Described extends Error {}

/** A network error as fetch throws it ("fetch failed", "terminated") with its cause (ECONNREFUSED, "other side closed"). */
function describe(e: unknown): string {
  const err = e as Error & { cause?: { message?: string; code?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}

export class ListWatch<T extends KubeObject> {
  /** Counters for tests and logs. */
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0, events: 0 };
  private resourceVersion = "";
  private readonly abort = new AbortController();
  private loop?: Promise<void>;

  constructor(private readonly o: ListWatchOptions) {}

  get description(): string {
    return `${this.o.conn.apiServer}${this.o.path}`;
  }

  start(handlers: ListWatchHandlers<T>): void {
    const retryMs = this.o.retryMs ?? 1000;
    let delay = retryMs;
    this.loop = (async () => {
      let needList = true;
      /** 410s in a row with no event between them: from the second on, relist only after a backoff. */
      let gones = 0;
      while (!this.abort.signal.aborted) {
        let phase = "list";
        const events = this.stats.events;
        try {
          if (needList) await this.list(handlers);
          needList = false;
          phase = "watch";
          await this.watch(handlers); // returns when the server ends the stream: resume from resourceVersion
          delay = retryMs;
        } catch (e) {
          if (this.abort.signal.aborted) return;
          if (e instanceof Gone) {
            this.stats.gone++;
            gones = this.stats.events > events ? 1 : gones + 1;
            const wait = gones > 1 ? ` in ${delay} ms` : "";
            this.o.log(
              `resourceVersion ${this.resourceVersion} too old (410 Gone): listing ${this.o.what} again${wait}`,
            );
            needList = true;
            if (gones > 1) delay = await this.backoff(delay);
            continue;
          }
          this.stats.errors++;
          const what = e instanceof Described ? (e as Error).message : `${phase} ${this.o.what}: ${describe(e)}`;
          this.o.log(`${what}; retrying in ${delay} ms`);
          delay = await this.backoff(delay);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
  }

  private url(params: Record<string, string>): string {
    return `${this.o.conn.apiServer}${this.o.path}?${new URLSearchParams({ ...this.o.query, ...params })}`;
  }

  private request(url: string, signal: AbortSignal): Promise<Response> {
    const token = this.o.conn.token();
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    return this.o.conn.fetch(url, { headers, signal });
  }

  private async failure(res: Response, verb: string): Promise<Error> {
    const hint = res.status === 401 || res.status === 403
      ? ` (may this service account list and watch ${this.o.what}?)`
      : "";
    return new Described(`${verb} ${this.o.what}: HTTP ${res.status}${hint}: ${(await res.text()).slice(0, 300)}`);
  }

  /** Lists every page, then hands the whole set over at once. */
  private async list(handlers: ListWatchHandlers<T>): Promise<void> {
    this.stats.lists++;
    const items: T[] = [];
    let cont = "";
    let rv = "";
    do {
      const page = await this.bounded(LIST_PAGE_TIMEOUT_MS, `list ${this.o.what}`, async (signal) => {
        const res = await this.request(
          this.url({ limit: String(this.o.pageSize ?? 500), ...(cont ? { continue: cont } : {}) }),
          signal,
        );
        // A 410 here is an expired continue token: an error like any other (with backoff), then a fresh list.
        if (!res.ok) throw await this.failure(res, "list");
        return (await res.json()) as { metadata?: { resourceVersion?: string; continue?: string }; items?: T[] };
      });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue ?? "";
      rv = page.metadata?.resourceVersion ?? "";
    } while (cont);
    this.resourceVersion = rv;
    handlers.replace(items);
  }

  /** Follows one watch stream until it ends; throws Gone on 410. */
  private async watch(handlers: ListWatchHandlers<T>): Promise<void> {
    this.stats.watches++;
    const timeoutS = this.o.watchTimeoutS ?? 300;
    const params = {
      watch: "1",
      allowWatchBookmarks: "true",
      timeoutSeconds: String(timeoutS),
      resourceVersion: this.resourceVersion,
    };
    // The server ends the watch after timeoutS; one still open well past that is on a silently dead connection.
    await this.bounded(
      (timeoutS + Math.min(timeoutS, 30)) * 1000,
      `watch ${this.o.what} (asked to end after ${timeoutS} s)`,
      async (signal) => {
        const res = await this.request(this.url(params), signal);
        if (res.status === 410) throw new Gone();
        if (!res.ok || !res.body) throw await this.failure(res, "watch");
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const opened = Date.now();
        let buf = "";
        let lines = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            // A server (or proxy) that ends every watch at once must not be asked again in a tight loop.
            if (lines === 0 && Date.now() - opened < 1000) {
              throw new Described(
                `watch ${this.o.what}: ended at once without an event`,
              );
            }
            return;
          }
          buf += decoder.decode(value, { stream: true });
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            lines++;
            this.apply(JSON.parse(line) as WatchEvent<T>, handlers);
          }
        }
      },
    );
  }

  /**
   * One request and its body within `ms`, ended by stop() too; whatever way
   * it ends, its connection is released (an unread body would hold it).
   */
  private async bounded<R>(ms: number, what: string, work: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const ctl = new AbortController();
    const onStop = () => ctl.abort();
    this.abort.signal.addEventListener("abort", onStop);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      ctl.abort();
    }, ms);
    try {
      return await work(ctl.signal);
    } catch (e) {
      if (expired && !this.abort.signal.aborted) {
        throw new Described(`${what}: not done after ${ms / 1000} s, connection taken for dead`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener("abort", onStop);
      ctl.abort();
    }
  }

  private apply(ev: WatchEvent<T>, handlers: ListWatchHandlers<T>): void {
    if (ev.type === "ERROR") {
      if (ev.object.code === 410) throw new Gone();
      throw new Described(
        `watch ${this.o.what}: error event ${ev.object.code ?? ""} ${ev.object.reason ?? ""} ${ev.object.message ?? ""}`
          .trimEnd(),
      );
    }
    if (ev.object.metadata?.resourceVersion) this.resourceVersion = ev.object.metadata.resourceVersion;
    if (ev.type === "BOOKMARK") return;
    this.stats.events++;
    handlers.event(ev.type, ev.object);
  }

  /** Waits `ms` (stop() cuts it short) and returns the next, doubled delay. */
  private async backoff(ms: number): Promise<number> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener("abort", done);
    });
    return Math.min(ms * 2, this.o.maxRetryMs ?? 30_000);
  }
}
