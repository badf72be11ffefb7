// SPDX-License-Identifier: Apache-2.0
/**
 * Services from Kubernetes: list+watch Services and EndpointSlices
 * (control/wire/list-watch.ts), keep the current objects in memory, and
 * after each change make the "kubernetes" services in the database equal to
 * their translation (translate.ts) with syncServices, one transaction.
 *
 * - Nothing is written until both resources have been listed: a Service
 *   synced before its slices would reach the agents without backends and
 *   refuse connections for a moment.
 * - Changes are gathered for `debounceMs` after the first one, so a burst (a
 *   rollout, a relist) is one transaction and one version; changes during a
 *   write are written right after it. A failed write is retried with backoff.
 * - What cannot be synced (IPv6-only, SCTP, invalid for the wire schema, a
 *   name or frontend held by a service made through the admin API) is left
 *   out, counted in `stats.skipped` and logged once while it lasts.
 * - Only the Services of the import filter (service-filter.ts) are kept, and
 *   the EndpointSlices of its namespaces: one that leaves the filter (its
 *   labels changed) is dropped as if deleted, so its service goes too.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { services as servicesTable } from "../db/schema.ts";
import type { Fence } from "../lease/lease.ts";
import { loadStored } from "../services/apply.ts";
import { syncServices } from "../services/model.ts";
import { type KubeConnection, type KubeObject, ListWatch, type ListWatchHandlers } from "../wire/list-watch.ts";
import {
  DEFAULT_SERVICE_FILTER,
  describeFilter,
  importsService,
  inNamespaces,
  type ServiceImportFilter,
} from "./service-filter.ts";
import {
  type KubeEndpointSlice,
  type KubeService,
  type Skipped,
  translate,
  trimService,
  trimSlice,
  withoutClashes,
} from "./translate.ts";

export interface KubeServiceSyncOptions {
  conn: KubeConnection;
  db: Db;
  /** How long changes are gathered into one write. Default 150 ms. */
  debounceMs?: number;
  /** First retry delay after an API or database error (doubles up to 30 s). Default 1 s. */
  retryMs?: number;
  /** Passed to the watches (list-watch.ts). */
  pageSize?: number;
  watchTimeoutS?: number;
  log?: (msg: string) => void;
  /** Run first in each write's transaction: the lease's check, so only the replica holding it writes (control/lease/). */
  fence?: Fence;
  /** Which Services are imported (DEFAULT_SERVICE_FILTER: all but those handed to another proxy). */
  filter?: ServiceImportFilter;
}

/** Skipped entries logged per write, at most; the rest are summed up in one line. */
const MAX_SKIPPED_LINES = 20;
const MAX_RETRY_MS = 30_000;

export class KubeServiceSync {
  readonly stats = {
    /** Writes that went through (changed or not), failed ones, and the last result. */
    syncs: 0,
    failures: 0,
    version: 0,
    services: 0,
    /** Entries left out by the last write. */
    skipped: 0,
  };
  private readonly objects = { services: new Map<string, KubeService>(), slices: new Map<string, KubeEndpointSlice>() };
  private readonly listed = { services: false, endpointslices: false };
  private readonly watches: { services: ListWatch<KubeService>; slices: ListWatch<KubeEndpointSlice> };
  private readonly log: (msg: string) => void;
  private timer?: ReturnType<typeof setTimeout>;
  private writing?: Promise<void>;
  private dirty = false;
  private stopped = false;
  private retryMs: number;
  /** What was skipped at the last write, so each is logged once while it lasts. */
  private reported = new Set<string>();

  constructor(private readonly o: KubeServiceSyncOptions) {
    this.log = o.log ?? ((m) => console.log(`kubernetes services: ${m}`));
    this.retryMs = o.retryMs ?? 1000;
    const common = { conn: o.conn, retryMs: o.retryMs, pageSize: o.pageSize, watchTimeoutS: o.watchTimeoutS };
    const selector = this.filter.selector.text;
    this.watches = {
      services: new ListWatch({
        ...common,
        path: "/api/v1/services",
        // The API server leaves out what the selector does not select (mirror() checks again).
        ...(selector === "" ? {} : { query: { labelSelector: selector } }),
        what: "services",
        log: this.log,
      }),
      slices: new ListWatch({
        ...common,
        path: "/apis/discovery.k8s.io/v1/endpointslices",
        // Only slices that belong to a Service (the EndpointSlice controller's and mirrored ones).
        query: { labelSelector: "kubernetes.io/service-name" },
        what: "endpointslices",
        log: this.log,
      }),
    };
  }

  get description(): string {
    return `${this.o.conn.apiServer} (Services and EndpointSlices, ${describeFilter(this.filter)})`;
  }

  private get filter(): ServiceImportFilter {
    return this.o.filter ?? DEFAULT_SERVICE_FILTER;
  }

  start(): void {
    const filter = this.filter;
    this.watches.services.start(
      this.mirror(this.objects.services, "services", trimService, (s) => importsService(filter, s.metadata)),
    );
    this.watches.slices.start(
      this.mirror(this.objects.slices, "endpointslices", trimSlice, (s) => inNamespaces(filter, s.metadata.namespace)),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([this.watches.services.stop(), this.watches.slices.stop()]);
    await this.writing;
  }

  /** Keeps `map` equal to the resource's current objects that `wanted` (trimmed to what translate reads), by namespace/name. */
  private mirror<T extends KubeObject>(
    map: Map<string, T>,
    which: keyof KubeServiceSync["listed"],
    trim: (o: T) => T,
    wanted: (o: T) => boolean,
  ): ListWatchHandlers<T> {
    const key = (o: T) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    return {
      replace: (items) => {
        map.clear();
        for (const o of items) if (wanted(o)) map.set(key(o), trim(o));
        if (!this.listed[which]) this.log(`${map.size} ${which} listed`);
        this.listed[which] = true;
        this.changed();
      },
      event: (type, o) => {
        // An object that no longer matches leaves like a deleted one; one that never did changes nothing.
        if (type === "DELETED" || !wanted(o)) {
          if (!map.delete(key(o))) return;
        } else map.set(key(o), trim(o));
        this.changed();
      },
    };
  }

  /** A change: write within debounceMs (with whatever else changes meanwhile). */
  private changed(delay = this.o.debounceMs ?? 150): void {
    if (this.stopped || !this.listed.services || !this.listed.endpointslices || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, delay);
  }

  private write(): void {
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = this.writeOnce().finally(() => {
      this.writing = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.changed();
      }
    });
  }

  private async writeOnce(): Promise<void> {
    try {
      const { services, skipped } = translate(this.objects.services.values(), this.objects.slices.values());
      // The admin API's services are few and rarely change; an API change racing this one makes the write throw, and the retry sees it.
      const held = (await loadStored(this.o.db, eq(servicesTable.source, "api"))).map((s) => s.row);
      const list = withoutClashes(services, held, skipped);
      const { version, changed } = await syncServices(this.o.db, "kubernetes", list, Date.now(), this.o.fence);
      const first = this.stats.syncs === 0;
      Object.assign(this.stats, {
        syncs: this.stats.syncs + 1,
        version,
        services: list.length,
        skipped: skipped.length,
      });
      this.report(skipped);
      if (first || changed > 0) {
        const left = skipped.length > 0 ? `, ${skipped.length} left out` : "";
        this.log(`${list.length} services from Kubernetes${left}: ${changed} changed, lb version ${version}`);
      }
      this.retryMs = this.o.retryMs ?? 1000;
    } catch (e) {
      if (this.stopped) return;
      this.stats.failures++;
      this.log(`writing the services failed: ${(e as Error).message}; retrying in ${this.retryMs} ms`);
      this.changed(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    }
  }

  /** Logs what is newly left out; each once while it stays left out. */
  private report(skipped: Skipped[]): void {
    const lines = skipped.map((s) => `left out ${s.key}: ${s.reason}`);
    const fresh = lines.filter((l) => !this.reported.has(l));
    for (const l of fresh.slice(0, MAX_SKIPPED_LINES)) this.log(l);
    if (fresh.length > MAX_SKIPPED_LINES) this.log(`… and ${fresh.length - MAX_SKIPPED_LINES} more left out`);
    this.reported = new Set(lines);
  }
}
