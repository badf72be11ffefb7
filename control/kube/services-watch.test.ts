// SPDX-License-Identifier: Apache-2.0
/**
 * The Service sync against a fake API server replaying list+watch: a burst
 * of changes, a bookmark, a dropped watch, 410 Gone (as an HTTP answer and as
 * an ERROR event) and relists; the database must end with exactly the
 * services and backends Kubernetes has, one lb version per burst.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openTestDb, type TestDb } from "../test-support.ts";
import { loadStored } from "../services/apply.ts";
import { createService, inputOf } from "../services/model.ts";
import { readVersion } from "../services/version.ts";
import type { BackendState, ServiceInput } from "../wire/services.ts";
import { kubeFetch } from "./connect.ts";
import { type FakeKubeApi, fakeKubeApi } from "./fake-api.test-support.ts";
import { endpoint, kubeService, NOT_READY, slice, TERMINATING_SERVING } from "./fixtures.test-support.ts";
import { KubeServiceSync } from "./services-watch.ts";
import { parseLabelSelector } from "./label-selector.ts";
import { DEFAULT_SERVICE_SELECTOR, SERVICE_PROXY_NAME_LABEL, type ServiceImportFilter } from "./service-filter.ts";
import type { KubeService } from "./translate.ts";

const TOKEN = "sa-token";
const WEB_PORTS = [
  { name: "http", protocol: "TCP", port: 80 },
  { name: "dns", protocol: "UDP", port: 53 },
];
const WEB_SLICE_PORTS = [
  { name: "http", protocol: "TCP", port: 8080 },
  { name: "dns", protocol: "UDP", port: 5353 },
];
const web = (extra = {}, rv = "90") => kubeService("shop", "web", "10.96.0.10", WEB_PORTS, extra, rv);
const db = kubeService("shop", "db", "10.96.0.11", [{ port: 5432 }]);
const dbSlice = slice("shop", "db", "db-a", [{ port: 5432 }], [endpoint("10.244.1.1", "db-0")]);

/** A service as the database must hold it; backends [ip, state, pod?] on the service's target port. */
function svc(
  name: string,
  portName: string,
  vip: string,
  port: number,
  protocol: "TCP" | "UDP",
  target: number,
  backends: [string, BackendState, string?][],
  affinity?: number,
): ServiceInput {
  return {
    namespace: "shop",
    name,
    portName,
    vip,
    port,
    protocol,
    affinity: affinity ? "client" : "none",
    affinityTimeoutS: affinity ?? 10800,
    backends: backends.map(([ip, state, pod]) => ({
      ip,
      port: target,
      weight: 1,
      state,
      ...(pod ? { pod: { namespace: "shop", name: pod } } : {}),
    })),
    type: "ClusterIP",
    externalIPs: [],
  };
}
const webBoth = (backends: [string, BackendState, string?][], affinity?: number) => [
  svc("web", "dns", "10.96.0.10", 53, "UDP", 5353, backends, affinity),
  svc("web", "http", "10.96.0.10", 80, "TCP", 8080, backends, affinity),
];

/** The services the sync made, as inputs, in name order, backends by IP (stored in id order). */
async function kubernetesServices(t: TestDb): Promise<ServiceInput[]> {
  const stored = (await loadStored(t.db)).filter((s) => s.row.source === "kubernetes").map(inputOf);
  const key = (s: ServiceInput) => `${s.namespace}/${s.name}/${s.portName}`;
  for (const s of stored) s.backends.sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true }));
  return stored.sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

describe("KubeServiceSync", () => {
  let t: TestDb;
  let api: FakeKubeApi;
  let sync: KubeServiceSync | undefined;
  let http: Awaited<ReturnType<typeof kubeFetch>>;
  const logs: string[] = [];

  beforeEach(async () => {
    t = await openTestDb();
    api = await fakeKubeApi(TOKEN);
    http = await kubeFetch(undefined);
    logs.length = 0;
  });
  afterEach(async () => {
    await sync?.stop();
    await http.close();
    await api.close();
    t.close();
  });

  const start = (debounceMs = 300, filter?: ServiceImportFilter) => {
    sync = new KubeServiceSync({
      conn: { apiServer: api.url, token: () => TOKEN, fetch: http.fetch },
      db: t.db,
      debounceMs,
      retryMs: 20,
      pageSize: 2,
      log: (m) => logs.push(m),
      filter,
    });
    sync.start();
    return sync;
  };

  it("follows list+watch through a burst, a dropped watch, 410 Gone and relists", async () => {
    api.lists.services = {
      rv: "100",
      items: [web(), db, kubeService("kube-system", "kube-dns", "None", [{ name: "dns", protocol: "UDP", port: 53 }])],
    };
    api.lists.endpointslices = {
      rv: "100",
      items: [
        slice("shop", "web", "web-a", WEB_SLICE_PORTS, [
          endpoint("10.244.0.1", "web-1"),
          endpoint("10.244.0.2", "web-2"),
        ]),
        dbSlice,
      ],
    };
    const s = start();
    const svcWatch = await api.nextWatch("services");
    const sliceWatch = await api.nextWatch("endpointslices");
    expect([svcWatch.rv, sliceWatch.rv]).toEqual(["100", "100"]);
    expect(svcWatch.query.get("allowWatchBookmarks")).toBe("true");
    expect(sliceWatch.query.get("labelSelector")).toBe("kubernetes.io/service-name");
    const services = svcWatch.open();
    const slices = sliceWatch.open();

    await vi.waitFor(() => expect(s.stats.syncs).toBe(1));
    expect(await kubernetesServices(t)).toEqual([
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, [["10.244.1.1", "active", "db-0"]]),
      ...webBoth([["10.244.0.1", "active", "web-1"], ["10.244.0.2", "active", "web-2"]]),
    ]);
    const v1 = await readVersion(t.db);
    expect(s.stats.version).toBe(v1);

    // A burst on both watches: a new slice, an endpoint terminating, the Service made sticky; a bookmark.
    slices.send(
      "ADDED",
      slice("shop", "web", "web-b", WEB_SLICE_PORTS, [endpoint("10.244.0.3", "web-3")], "IPv4", "101"),
    );
    slices.send(
      "MODIFIED",
      slice(
        "shop",
        "web",
        "web-a",
        WEB_SLICE_PORTS,
        [endpoint("10.244.0.1", "web-1"), endpoint("10.244.0.2", "web-2", TERMINATING_SERVING)],
        "IPv4",
        "102",
      ),
    );
    services.send(
      "MODIFIED",
      web({ sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } }, "103"),
    );
    slices.bookmark("105");
    await vi.waitFor(() => expect(s.stats.syncs).toBe(2));
    const afterBurst = [
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, [["10.244.1.1", "active", "db-0"]]),
      ...webBoth([["10.244.0.1", "active", "web-1"], ["10.244.0.2", "terminating", "web-2"], [
        "10.244.0.3",
        "active",
        "web-3",
      ]], 300),
    ];
    expect(await kubernetesServices(t)).toEqual(afterBurst);
    expect(await readVersion(t.db)).toBe(v1 + 1); // one transaction for the whole burst

    // The slices watch drops; it resumes from the bookmark, which the server has compacted: 410, relist.
    api.lists.endpointslices = {
      rv: "200",
      items: [
        slice("shop", "web", "web-a", WEB_SLICE_PORTS, [
          endpoint("10.244.0.1", "web-1"),
          endpoint("10.244.0.4", "web-4", NOT_READY),
        ]),
        slice("shop", "web", "web-b", WEB_SLICE_PORTS, [endpoint("10.244.0.3", "web-3")]),
      ],
    };
    slices.drop();
    const resumed = await api.nextWatch("endpointslices");
    expect(resumed.rv).toBe("105");
    resumed.answer(410, JSON.stringify({ kind: "Status", code: 410, reason: "Expired" }));
    const sliceWatch2 = await api.nextWatch("endpointslices");
    expect(sliceWatch2.rv).toBe("200");
    const slices2 = sliceWatch2.open();
    await vi.waitFor(() => expect(s.stats.syncs).toBe(3));
    expect(await kubernetesServices(t)).toEqual([
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, []), // its slice is gone: no backend
      ...webBoth([["10.244.0.1", "active", "web-1"], ["10.244.0.3", "active", "web-3"], [
        "10.244.0.4",
        "unhealthy",
        "web-4",
      ]], 300),
    ]);
    expect(await readVersion(t.db)).toBe(v1 + 2);

    // 410 as an ERROR event in the services stream: relist without db, with a new service and an IPv6-only one.
    api.lists.services = {
      rv: "210",
      items: [
        web({ sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } }),
        kubeService("shop", "cache", "10.96.0.12", [{ port: 6379 }]),
        kubeService("shop", "v6", "fd00::12", [{ port: 80 }]),
      ],
    };
    services.error(410, "too old resource version: 103 (150)");
    const svcWatch2 = await api.nextWatch("services");
    expect(svcWatch2.rv).toBe("210");
    svcWatch2.open();
    await vi.waitFor(() => expect(s.stats.syncs).toBe(4));
    const relisted = [
      svc("cache", "", "10.96.0.12", 6379, "TCP", 6379, []),
      ...webBoth([["10.244.0.1", "active", "web-1"], ["10.244.0.3", "active", "web-3"], [
        "10.244.0.4",
        "unhealthy",
        "web-4",
      ]], 300),
    ];
    expect(await kubernetesServices(t)).toEqual(relisted);
    expect(s.stats.skipped).toBe(1);

    // A deletion on the resumed slices watch.
    slices2.send("DELETED", slice("shop", "web", "web-b", WEB_SLICE_PORTS, [], "IPv4", "220"));
    await vi.waitFor(() => expect(s.stats.syncs).toBe(5));
    expect(await kubernetesServices(t)).toEqual([
      relisted[0],
      ...webBoth([["10.244.0.1", "active", "web-1"], ["10.244.0.4", "unhealthy", "web-4"]], 300),
    ]);
    expect(await readVersion(t.db)).toBe(v1 + 4);

    expect(api.requests.filter((r) => r.startsWith("services"))).toEqual([
      "services list",
      "services list continue=2", // three services, two a page
      "services watch@100",
      "services list",
      "services list continue=2",
      "services watch@210",
    ]);
    expect(api.requests.filter((r) => r.startsWith("endpointslices"))).toEqual([
      "endpointslices list",
      "endpointslices watch@100",
      "endpointslices watch@105",
      "endpointslices list",
      "endpointslices watch@200",
    ]);
    expect(logs.filter((l) => l.includes("services from Kubernetes") || l.startsWith("left out"))).toEqual([
      "3 services from Kubernetes: 3 changed, lb version 1",
      "3 services from Kubernetes: 2 changed, lb version 2", // the burst: both ports of web
      "3 services from Kubernetes: 3 changed, lb version 3", // db lost its slice
      "left out shop/v6: IPv6-only cluster IP fd00::12 (only IPv4 is balanced)", // once, though it stays
      "3 services from Kubernetes, 1 left out: 2 changed, lb version 4", // cache came, db went
      "3 services from Kubernetes, 1 left out: 2 changed, lb version 5",
    ]);
    expect(logs.filter((l) => l.includes("retrying"))).toEqual([
      "watch endpointslices: terminated (UND_ERR_SOCKET); retrying in 20 ms",
    ]); // the dropped watch
    expect(logs.filter((l) => l.includes("410 Gone"))).toEqual([
      "resourceVersion 105 too old (410 Gone): listing endpointslices again",
      "resourceVersion 103 too old (410 Gone): listing services again",
    ]);
  });

  it("imports only the Services of the filter; one relabelled out of it is removed, one relabelled into it added", async () => {
    const labelled = (o: KubeService, labels: Record<string, string>): KubeService => ({
      ...o,
      metadata: { ...o.metadata, labels },
    });
    const filter: ServiceImportFilter = {
      selector: parseLabelSelector(`${DEFAULT_SERVICE_SELECTOR},tier notin (internal)`),
      namespaces: ["shop"],
      excludeNamespaces: [],
    };
    const cache = kubeService("shop", "cache", "10.96.0.12", [{ port: 6379 }]);
    const otherProxy = labelled(kubeService("shop", "mesh", "10.96.0.13", [{ port: 80 }]), {
      [SERVICE_PROXY_NAME_LABEL]: "other-proxy",
    });
    const elsewhere = kubeService("ops", "metrics", "10.96.0.20", [{ port: 9090 }]);
    api.lists.services = { rv: "1", items: [labelled(db, { tier: "internal" }), cache, otherProxy, elsewhere] };
    api.lists.endpointslices = {
      rv: "1",
      items: [dbSlice, slice("ops", "metrics", "metrics-a", [{ port: 9090 }], [endpoint("10.244.3.1", "m-0")])],
    };
    const s = start(20, filter);
    const [svcWatch, sliceWatch] = await Promise.all([api.nextWatch("services"), api.nextWatch("endpointslices")]);
    // the API server is asked for the selected Services only (the fake one sends them all: they are checked here too)
    expect(svcWatch.query.get("labelSelector")).toBe(
      "!service.kubernetes.io/service-proxy-name,tier notin (internal)",
    );
    expect(s.description).toContain("(Services and EndpointSlices, namespaces shop, labels !service.kubernetes.io");
    const services = svcWatch.open();
    sliceWatch.open();
    await vi.waitFor(() => expect(s.stats.syncs).toBe(1));
    expect(await kubernetesServices(t)).toEqual([svc("cache", "", "10.96.0.12", 6379, "TCP", 6379, [])]);

    // db loses its label: it joins the filter, with its slice (kept: its namespace is in the filter)
    services.send("MODIFIED", db);
    await vi.waitFor(() => expect(s.stats.syncs).toBe(2));
    expect(await kubernetesServices(t)).toEqual([
      svc("cache", "", "10.96.0.12", 6379, "TCP", 6379, []),
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, [["10.244.1.1", "active", "db-0"]]),
    ]);

    // cache is handed to another proxy: it leaves; Services outside the filter change nothing meanwhile
    services.send("ADDED", kubeService("ops", "late", "10.96.0.21", [{ port: 80 }]));
    services.send("MODIFIED", labelled(otherProxy, { [SERVICE_PROXY_NAME_LABEL]: "still-other" }));
    services.send("MODIFIED", labelled(cache, { [SERVICE_PROXY_NAME_LABEL]: "other-proxy" }));
    await vi.waitFor(() => expect(s.stats.syncs).toBe(3));
    expect(await kubernetesServices(t)).toEqual([
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, [["10.244.1.1", "active", "db-0"]]),
    ]);
    // the deletion of a Service never imported is nothing to write either
    services.send("DELETED", elsewhere);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.stats.syncs).toBe(3);
  });

  it("writes nothing until both resources are listed, and retries a refused list with backoff", async () => {
    api.lists.services = { rv: "7", items: [db] };
    api.lists.endpointslices = { status: 403, body: '{"kind":"Status","reason":"Forbidden"}' };
    const s = start(20);
    await api.nextWatch("services").then((w) => w.open());
    await vi.waitFor(() =>
      expect(api.requests.filter((r) => r === "endpointslices list").length).toBeGreaterThanOrEqual(3)
    );
    expect(s.stats.syncs).toBe(0);
    expect(await kubernetesServices(t)).toEqual([]);
    expect(logs).toContain(
      'list endpointslices: HTTP 403 (may this service account list and watch endpointslices?): {"kind":"Status","reason":"Forbidden"}; retrying in 40 ms',
    );

    api.lists.endpointslices = { rv: "8", items: [dbSlice] };
    await api.nextWatch("endpointslices").then((w) => w.open());
    await vi.waitFor(() => expect(s.stats.syncs).toBe(1));
    expect(await kubernetesServices(t)).toEqual([
      svc("db", "", "10.96.0.11", 5432, "TCP", 5432, [["10.244.1.1", "active", "db-0"]]),
    ]);
  });

  it("leaves out what clashes with a service made through the admin API, and keeps the rest", async () => {
    await createService(t.db, svc("db", "", "10.96.0.99", 5432, "TCP", 5432, []), 1);
    await createService(t.db, { ...svc("manual", "", "10.96.0.10", 80, "TCP", 80, []), namespace: "ops" }, 1);
    api.lists.services = { rv: "1", items: [web(), db] };
    api.lists.endpointslices = { rv: "1", items: [dbSlice] };
    const s = start(20);
    await Promise.all([api.nextWatch("services"), api.nextWatch("endpointslices")]).then((ws) =>
      ws.forEach((w) => w.open())
    );
    await vi.waitFor(() => expect(s.stats.syncs).toBe(1));
    expect(await kubernetesServices(t)).toEqual([svc("web", "dns", "10.96.0.10", 53, "UDP", 53, [])]);
    expect(s.stats.skipped).toBe(2);
    expect(logs.filter((l) => l.startsWith("left out"))).toEqual([
      "left out shop/db: the name is already used by the admin API",
      "left out shop/web:http: 10.96.0.10:80/TCP is already the frontend of ops/manual (unnamed port) (made through the admin API)",
    ]);
  });
});
