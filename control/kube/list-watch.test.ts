// SPDX-License-Identifier: Apache-2.0
/**
 * The shared list+watch (also the agent's, tested there under Deno) under
 * Node with undici, on the ways a watch ends: cleanly, at once, silently
 * dead, with an error event, with a line that is not JSON; and stop() in the
 * middle of a backoff.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { kubeFetch } from "./connect.ts";
import { type FakeKubeApi, fakeKubeApi } from "./fake-api.test-support.ts";
import { type KubeObject, ListWatch, type ListWatchOptions } from "../wire/list-watch.ts";

const obj = (name: string, rv: string): KubeObject => ({ metadata: { namespace: "ns", name, resourceVersion: rv } });

describe("ListWatch", () => {
  let api: FakeKubeApi;
  let http: Awaited<ReturnType<typeof kubeFetch>>;
  let lw: ListWatch<KubeObject> | undefined;
  const logs: string[] = [];
  const seen: string[] = [];

  beforeEach(async () => {
    api = await fakeKubeApi("tok");
    http = await kubeFetch(undefined);
    api.lists.things = { rv: "10", items: [obj("a", "5")] };
    logs.length = 0;
    seen.length = 0;
  });
  afterEach(async () => {
    await lw?.stop();
    await http.close();
    await api.close();
  });

  const start = (o: Partial<ListWatchOptions> = {}) => {
    lw = new ListWatch<KubeObject>({
      conn: { apiServer: api.url, token: () => "tok", fetch: http.fetch },
      path: "/api/v1/things",
      what: "things",
      retryMs: 10,
      log: (m) => logs.push(m),
      ...o,
    });
    lw.start({
      replace: (items) => seen.push(`replace ${items.map((i) => i.metadata.name).join(",")}`),
      event: (type, o) => seen.push(`${type} ${o.metadata.name}`),
    });
    return lw;
  };

  it("resumes a watch the server ended from the last resourceVersion, without a word", async () => {
    start();
    const w = (await api.nextWatch("things")).open();
    w.send("ADDED", obj("b", "11"));
    w.end();
    const next = await api.nextWatch("things");
    expect(next.rv).toBe("11");
    expect(next.query.get("timeoutSeconds")).toBe("300");
    expect(seen).toEqual(["replace a", "ADDED b"]);
    expect(logs).toEqual([]);
  });

  it("backs off from a watch that ends at once, an error event and a line that is not JSON", async () => {
    start();
    (await api.nextWatch("things")).open().end();
    const w2 = (await api.nextWatch("things")).open();
    w2.error(500, "etcd leader changed");
    (await api.nextWatch("things")).open().raw("not json\n");
    const w4 = await api.nextWatch("things");
    expect([w4.rv, lw!.stats.errors, lw!.stats.lists]).toEqual(["10", 3, 1]);
    expect(logs.map((l) => l.replace(/ \(.*?\)|: Unexpected.*;/, ":…;"))).toEqual([
      "watch things: ended at once without an event; retrying in 10 ms",
      "watch things: error event 500  etcd leader changed; retrying in 20 ms",
      "watch things:…; retrying in 40 ms",
    ]);
  });

  it("takes a watch open past its timeout for a dead connection and watches again", async () => {
    start({ watchTimeoutS: 1 });
    (await api.nextWatch("things")).open(); // never a byte, never an end
    const t0 = Date.now();
    const again = await api.nextWatch("things");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(again.rv).toBe("10");
    expect(logs).toEqual([
      "watch things (asked to end after 1 s): not done after 2 s, connection taken for dead; retrying in 10 ms",
    ]);
  });

  it("relists at once on 410 Gone, but only after a backoff when the fresh list's watch is Gone too", async () => {
    start();
    (await api.nextWatch("things")).answer(410);
    (await api.nextWatch("things")).open().error(410, "too old");
    (await api.nextWatch("things")).open();
    expect(api.requests).toEqual([
      "things list",
      "things watch@10",
      "things list",
      "things watch@10",
      "things list",
      "things watch@10",
    ]);
    expect(logs).toEqual([
      "resourceVersion 10 too old (410 Gone): listing things again",
      "resourceVersion 10 too old (410 Gone): listing things again in 10 ms",
    ]);
    expect(seen).toEqual(["replace a", "replace a", "replace a"]);
  });

  it("stops at once, also while waiting to retry", async () => {
    api.lists.things = { status: 500, body: "down" };
    start({ retryMs: 60_000 });
    await vi.waitFor(() => expect(logs).toEqual(["list things: HTTP 500: down; retrying in 60000 ms"]));
    const t0 = Date.now();
    await lw!.stop();
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 60 s retry wait
  });
});
