// SPDX-License-Identifier: Apache-2.0
/**
 * Reaching the API server: which target the settings give, and the in-cluster
 * path end to end under Node (undici with the service account's CA, a token
 * read again on every request) against an https fake API server whose
 * certificate is made here with openssl.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../config.ts";
import { loadStored } from "../services/apply.ts";
import { openTestDb } from "../test-support.ts";
import { kubeFetch, kubeTarget } from "./connect.ts";
import { fakeKubeApi } from "./fake-api.test-support.ts";
import { endpoint, kubeService, slice } from "./fixtures.test-support.ts";
import { KubeServiceSync } from "./services-watch.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-kube-"));
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=kubernetes",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "ca.crt"),
  ], { stdio: "ignore" });
  writeFileSync(join(dir, "token"), "token-1\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kubeTarget", () => {
  const env = (e: Record<string, string>) => parseConfig(e);

  it("is none outside a cluster, or with the sync off", () => {
    expect(kubeTarget(env({}), dir)).toBeNull();
    expect(kubeTarget(env({ KUBERNETES_SERVICE_HOST: "10.96.0.1", EBPF_K8S_KUBE_SYNC: "off" }), dir)).toBeNull();
  });

  it("uses the service account in a pod", () => {
    const t = kubeTarget(env({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "6443" }), dir)!;
    expect(t.apiServer).toBe("https://10.96.0.1:6443");
    expect(t.token()).toBe("token-1");
    expect(t.caPem).toBe(readFileSync(join(dir, "ca.crt"), "utf8"));
    expect(kubeTarget(env({ KUBERNETES_SERVICE_HOST: "fd00::1" }), dir)!.apiServer).toBe("https://[fd00::1]:443");
  });

  it("says so when the service account cannot be read", () => {
    expect(() => kubeTarget(env({ KUBERNETES_SERVICE_HOST: "10.96.0.1" }), join(dir, "missing"))).toThrow(
      /KUBERNETES_SERVICE_HOST is set but the service account cannot be read \(or set EBPF_K8S_KUBE_SYNC=off\): ENOENT/,
    );
  });

  it("prefers an explicit API server, with its token and CA file", () => {
    const t = kubeTarget(
      env({
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        EBPF_K8S_KUBE_API: "http://127.0.0.1:8001/",
        EBPF_K8S_KUBE_TOKEN: "tok",
      }),
      dir,
    )!;
    expect([t.apiServer, t.token(), t.caPem, t.how]).toEqual([
      "http://127.0.0.1:8001",
      "tok",
      undefined,
      "EBPF_K8S_KUBE_API",
    ]);
    const withCa = kubeTarget(
      env({ EBPF_K8S_KUBE_API: "https://k8s.example:6443", EBPF_K8S_KUBE_CA: join(dir, "ca.crt") }),
      dir,
    )!;
    expect([withCa.token(), withCa.caPem]).toEqual(["", readFileSync(join(dir, "ca.crt"), "utf8")]);
  });
});

describe("in a cluster, under Node", () => {
  it("syncs over https trusting only the cluster CA, with a rotating token", async () => {
    const api = await fakeKubeApi("token-1", {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "ca.crt"), "utf8"),
    });
    const t = await openTestDb();
    api.lists.services = { rv: "5", items: [kubeService("shop", "db", "10.96.0.11", [{ port: 5432 }])] };
    api.lists.endpointslices = {
      rv: "5",
      items: [slice("shop", "db", "db-a", [{ port: 5432 }], [endpoint("10.244.1.1", "db-0")])],
    };
    const target = kubeTarget(
      parseConfig({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: new URL(api.url).port }),
      dir,
    )!;
    const http = await kubeFetch(target.caPem);
    const untrusting = await kubeFetch(undefined);
    const sync = new KubeServiceSync({
      conn: { ...target, fetch: http.fetch },
      db: t.db,
      debounceMs: 10,
      retryMs: 10,
      log: () => {},
    });
    try {
      await expect(
        untrusting.fetch(`${api.url}/api/v1/services`, { headers: {}, signal: new AbortController().signal }),
      ).rejects.toThrow();
      sync.start();
      const [services, slices] = await Promise.all([api.nextWatch("services"), api.nextWatch("endpointslices")]);
      services!.open();
      const stream = slices!.open();
      await vi.waitFor(() => expect(sync.stats.syncs).toBe(1));
      expect((await loadStored(t.db)).map((s) => [s.row.name, s.row.vip, s.backends.map((b) => b.ip)])).toEqual([[
        "db",
        "10.96.0.11",
        ["10.244.1.1"],
      ]]);

      // The kubelet rotates the projected token; the next request carries the new one.
      writeFileSync(join(dir, "token"), "token-2\n");
      api.token = "token-2";
      stream.end();
      const resumed = await api.nextWatch("endpointslices");
      expect(resumed.rv).toBe("5");
    } finally {
      await sync.stop();
      await Promise.all([http.close(), untrusting.close()]);
      await api.close();
      t.close();
    }
  });
});
