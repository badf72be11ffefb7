// SPDX-License-Identifier: Apache-2.0
/**
 * The pod watcher against a local server replaying a recorded list+watch
 * conversation with the API server: a list, a watch that delivers changes and
 * then drops the connection, a resumed watch answered with 410 Gone, a relist
 * and a final watch.
 */
import { assertEquals } from "../testing/assert.ts";
import { KubePodWatcher, toPodInfo } from "./kube-pods.ts";

const pod = (uid: string, name: string, rv: string, extra: Record<string, unknown> = {}) => ({
  metadata: {
    uid,
    name,
    namespace: "shop",
    resourceVersion: rv,
    labels: { app: name },
    ownerReferences: [{ kind: "ReplicaSet", name: `${name}-rs`, controller: true }],
  },
  spec: { nodeName: "node-a" },
  status: { phase: "Running", podIPs: [{ ip: `10.244.0.${uid.length}` }] },
  ...extra,
});

Deno.test("toPodInfo keeps metadata, owner and IPs and caps labels", () => {
  const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${String(i).padStart(2, "0")}`, "v"]));
  const p = toPodInfo({ ...pod("u1", "web", "1"), metadata: { ...pod("u1", "web", "1").metadata, labels } });
  assertEquals(Object.keys(p.labels).length, 32);
  assertEquals(p.owner, { kind: "ReplicaSet", name: "web-rs" });
  assertEquals(p.ips, ["10.244.0.2"]);
});

Deno.test("list+watch: changes, a dropped connection, 410 Gone and a relist", async () => {
  const requests: string[] = [];
  let finalWatch: ReadableStreamDefaultController<Uint8Array> | undefined;
  const enc = new TextEncoder();
  const line = (o: unknown) => enc.encode(JSON.stringify(o) + "\n");

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    const auth = req.headers.get("authorization");
    if (auth !== "Bearer tok") return new Response("unauthorized", { status: 401 });
    if (u.searchParams.get("fieldSelector") !== "spec.nodeName=node-a") {
      return new Response("bad selector", { status: 400 });
    }
    const watch = u.searchParams.get("watch") === "1";
    const rv = u.searchParams.get("resourceVersion");
    requests.push(watch ? `watch@${rv}` : "list");
    const lists = requests.filter((r) => r === "list").length;
    if (!watch) {
      const items = lists === 1
        ? [pod("aa", "web", "90"), pod("bbb", "db", "95")]
        : [pod("aa", "web", "150"), pod("cccc", "cache", "160")];
      return Response.json({ kind: "PodList", metadata: { resourceVersion: lists === 1 ? "100" : "200" }, items });
    }
    if (rv === "100") {
      // Changes, then the connection drops mid-stream (no clean end).
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(line({ type: "ADDED", object: pod("cccc", "cache", "101") }));
          c.enqueue(
            line({
              type: "MODIFIED",
              object: {
                ...pod("aa", "web", "102"),
                metadata: { ...pod("aa", "web", "102").metadata, labels: { app: "web", v: "2" } },
              },
            }),
          );
          c.enqueue(line({ type: "BOOKMARK", object: { metadata: { resourceVersion: "103" } } }));
          setTimeout(() => c.error(new Error("connection reset")), 20);
        },
      });
      return new Response(body);
    }
    if (rv === "103") {
      // Resumed from the bookmark, but the server has compacted past it.
      return new Response(
        line({
          type: "ERROR",
          object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
        }),
      );
    }
    if (rv === "200") {
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            finalWatch = c;
            c.enqueue(line({ type: "DELETED", object: pod("cccc", "cache", "201") }));
            c.enqueue(
              line({ type: "MODIFIED", object: { ...pod("aa", "web", "202"), status: { phase: "Succeeded" } } }),
            );
          },
        }),
      );
    }
    return new Response(`unexpected ${rv}`, { status: 500 });
  });

  const w = new KubePodWatcher({
    apiServer: `http://127.0.0.1:${server.addr.port}`,
    node: "node-a",
    token: () => "tok",
    retryMs: 10,
    log: () => {},
  });
  const seen: string[][] = [];
  w.start(() => seen.push(w.pods().map((p) => `${p.name}${p.labels.v ? `@v${p.labels.v}` : ""}`).sort()));
  try {
    const deadline = Date.now() + 5000;
    while (!(seen.at(-1)?.length === 0 && requests.includes("watch@200")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(requests.slice(0, 5), ["list", "watch@100", "watch@103", "list", "watch@200"]);
    assertEquals(seen, [
      ["db", "web"], // first list
      ["cache", "db", "web"], // ADDED
      ["cache", "db", "web@v2"], // MODIFIED
      ["cache", "web"], // relist after 410: db is gone, the relist is the truth
      ["web"], // DELETED cache
      [], // web Succeeded: no network any more
    ]);
    assertEquals(w.stats.gone, 1);
    assertEquals(w.stats.errors, 1); // the dropped connection
  } finally {
    await w.stop();
    try {
      finalWatch?.close();
    } catch { /* already closed */ }
    await server.shutdown();
  }
});
