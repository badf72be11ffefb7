// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/flows/stream through the app, batches posted through /api/v1/ingest into real libSQL: each
 * committed batch's flow rows once, in commit order, filtered; never a duplicate's nor a rolled-back batch's;
 * NDJSON and SSE; 400, 503, keep-alives, metrics, and followers that come and go.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { flow } from "../monitoring/fixtures.test-support.ts";
import { CACHE, DB_POD, post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import { AS_ADMIN, batch, postBatch, send, T0, type TestContext, useTestApp } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import { storeBatch } from "../ingest/store.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { endFollowers } from "./hub.ts";
import { bodyReader } from "./lines.test-support.ts";
import { FOLLOWERS_RETRY_AFTER_S } from "./response.ts";

const errors: unknown[] = [];
const s = useTestApp({
  logError: (_, err) => errors.push(err),
  settings: { flowStream: { maxFollowers: 3, maxQueued: 100, keepAliveMs: 60_000, dropGraceMs: 1_000 } },
});
beforeEach(() => {
  errors.length = 0;
});

/** This replica's stream metrics, from /metrics. */
async function metrics() {
  const text = await (await s.app.request("/metrics")).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1]);
  return {
    followers: value("ebpf_k8s_flow_stream_followers"),
    refused: value("ebpf_k8s_flow_stream_refused_total"),
    published: value("ebpf_k8s_flow_stream_published_total"),
    streamed: value("ebpf_k8s_flow_stream_records_total"),
    shutdown: Number(/^ebpf_k8s_flow_stream_dropped_total\{reason="shutdown"\} (\S+)$/m.exec(text)?.[1]),
  };
}

const follow = async (query = "", headers: Record<string, string> = {}) => {
  const res = await s.app.request(`/api/v1/flows/stream${query}`, { headers });
  expect(res.status, res.status === 200 ? "" : await res.clone().text()).toBe(200);
  return { res, body: bodyReader(res.body) };
};

/** Pods on both nodes; data/db is a service whose one backend is the db pod. */
async function setUp(ctx: TestContext) {
  const db = service("db", "10.96.0.30", {
    namespace: "data",
    port: 5432,
    backends: backends({ ip: "10.0.2.2", port: 5432 }),
  });
  expect((await send(ctx.app, "POST", "/api/v1/services", db, AS_ADMIN)).status).toBe(201);
  await post(ctx, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
  await post(ctx, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
}

const web = { kind: "pod", label: "default/web", uid: "u-web", namespace: "default", name: "web", node: "node-a" };
const cache = {
  kind: "pod",
  label: "default/cache",
  uid: "u-cache",
  namespace: "default",
  name: "cache",
  node: "node-a",
};
const dbPod = { kind: "pod", label: "data/db", uid: "u-db", namespace: "data", name: "db", node: "node-b" };
const dbSvc = { kind: "service", label: "data/db", namespace: "data", name: "db" };
const world = (ip: string) => ({ kind: "world", label: ip, ip });

/** node-a, seq 2: web → db:5432 (SYN ACK, 10 packets) and web → 1.1.1.1:53 (UDP); the reply's rx is a duplicate. */
const SECOND: Partial<Batch> = {
  node: "node-a",
  seq: 2,
  ts: T0 + 10_000,
  flows: [
    flow({ packets: 10, bytes: 1_000, tcpFlags: 0x12 }),
    flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, obs: "rx", packets: 8, bytes: 4_000 }),
    flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 2, bytes: 120 }),
  ],
};
/** node-a, seq 3: a world client's SYN to cache with no answer; web → cache:8080 reset. */
const THIRD: Partial<Batch> = {
  node: "node-a",
  seq: 3,
  ts: T0 + 20_000,
  flows: [
    flow({ src: "192.168.1.50", dst: "10.0.1.3", port: 6379, obs: "rx", packets: 4, bytes: 240, tcpFlags: 0x02 }),
    flow({ dst: "10.0.1.3", port: 8080, packets: 1, bytes: 40, tcpFlags: 0x14 }),
  ],
};

const record = (seq: number, ts: number, rest: object) => ({
  type: "flow",
  seq,
  node: "node-a",
  ts: new Date(ts).toISOString(),
  storedAt: new Date(ts + 500).toISOString(),
  ...rest,
});
type Endpoint = Record<string, string>;
/** A streamed flow's JSON past its record fields: one way only (this scenario's rows have no reply in their batch). */
const flowJson =
  (source: Endpoint, destination: Endpoint, port: number, proto: 6 | 17, sent: [number, number]) =>
  (tcpFlags: string[], service: Endpoint | null = null) => ({
    source,
    destination,
    service,
    port,
    proto,
    protocol: proto === 6 ? "tcp" : "udp",
    forward: { packets: sent[0], bytes: sent[1] },
    reverse: { packets: 0, bytes: 0 },
    tcpFlags,
  });
const WEB_DB = flowJson(web, dbPod, 5432, 6, [10, 1_000])(["SYN", "ACK"], dbSvc);
const WEB_DNS = flowJson(web, world("1.1.1.1"), 53, 17, [2, 120])([]);
const WORLD_CACHE = flowJson(world("192.168.1.50"), cache, 6379, 6, [4, 240])(["SYN"]);
const WEB_CACHE_RST = flowJson(web, cache, 8080, 6, [1, 40])(["RST", "ACK"]);

/** Rows of the batches before `SECOND` (the pods' batches have none), so the sequence starts at 1. */
const stream = (query?: string) => follow(query).then((f) => f.body);

describe("GET /api/v1/flows/stream", () => {
  it("streams each committed batch's flow rows once, in commit order, as NDJSON; a duplicate is not streamed again", async () => {
    await setUp(s);
    const all = await stream();
    await post(s, SECOND);
    // The agent resends SECOND (its acknowledgement was lost): stored already, nothing streamed.
    const again = await postBatch(s.app, batch(SECOND));
    expect(await again.json()).toMatchObject({ seq: 2, duplicate: true });
    await post(s, THIRD);
    // Rows of a batch come sorted by key (aggregateFlows): client, then server.
    expect(await all.lines(4)).toEqual([
      record(1, T0 + 10_000, WEB_DB),
      record(2, T0 + 10_000, WEB_DNS),
      record(3, T0 + 20_000, WORLD_CACHE),
      record(4, T0 + 20_000, WEB_CACHE_RST),
    ]);
    // Nothing after the four: the duplicate added no line.
    expect(await all.more()).toBe(false);
    expect(await metrics()).toMatchObject({ followers: 1, published: 4, streamed: 4 });
    await all.cancel();
  });

  it("applies the filters to each row: node, namespace, pod, service, port, protocol, failures", async () => {
    await setUp(s);
    const cases: Array<[string, object[]]> = [
      ["?node=node-a", [WEB_DB, WEB_DNS, WORLD_CACHE, WEB_CACHE_RST]],
      ["?node=node-b", []],
      ["?namespace=data", [WEB_DB]],
      ["?namespace=default", [WEB_DB, WEB_DNS, WORLD_CACHE, WEB_CACHE_RST]],
      ["?pod=default/cache", [WORLD_CACHE, WEB_CACHE_RST]],
      ["?pod=data/db", [WEB_DB]],
      ["?service=data/db", [WEB_DB]],
      ["?service=data/other", []],
      ["?port=53", [WEB_DNS]],
      ["?protocol=udp", [WEB_DNS]],
      ["?protocol=6", [WEB_DB, WORLD_CACHE, WEB_CACHE_RST]],
      // web → db's SYN has no reply in node-a's batch: db's node reports it, so it is not judged.
      ["?failures=true", [WORLD_CACHE, WEB_CACHE_RST]],
      // false: every row, as without it
      ["?failures=false&port=8080", [WEB_CACHE_RST]],
      ["?failures=false&protocol=tcp&port=5432&node=node-a&namespace=data&pod=default/web&service=data/db", [WEB_DB]],
    ];
    // Three followers at most (the cap set above): a round of batches per three cases.
    for (let round = 0; round * 3 < cases.length; round++) {
      const some = cases.slice(round * 3, round * 3 + 3);
      const readers = await Promise.all(some.map(([q]) => stream(q)));
      const seq = 2 + round * 2;
      await post(s, { ...SECOND, seq, ts: T0 + seq * 10_000 });
      await post(s, { ...THIRD, seq: seq + 1, ts: T0 + (seq + 1) * 10_000 });
      for (const [i, r] of readers.entries()) {
        const [query, expected] = some[i]!;
        const got = expected.length === 0 ? [] : await r.lines(expected.length);
        expect(got.map(({ type: _t, seq: _s, node: _n, ts: _ts, storedAt: _at, ...f }) => f), query).toEqual(expected);
        expect(await r.more(), `${query}: more than expected`).toBe(false);
        await r.cancel();
      }
    }
  });

  it("never streams a rolled-back batch, alone or in a group that failed; the others of the group once", async () => {
    await setUp(s);
    // node-c's monitoring rows cannot be stored: its whole batch rolls back.
    await s.db.$client.execute(
      "CREATE TRIGGER test_rollback BEFORE INSERT ON monitoring_raw_rows WHEN NEW.node = 'node-c' " +
        "BEGIN SELECT RAISE(ABORT, 'test: rolled back'); END",
    );
    const all = await stream();
    const failing = (seq: number) =>
      postBatch(s.app, batch({ node: "node-c", seq, ts: T0 + seq * 10_000, flows: [flow({ bytes: 7 })] }));
    expect((await failing(1)).status).toBe(500);
    s.clock.now = T0 + 10_500;
    expect((await postBatch(s.app, batch(SECOND))).status).toBe(200);
    expect(await all.lines(2)).toEqual([record(1, T0 + 10_000, WEB_DB), record(2, T0 + 10_000, WEB_DNS)]);
    expect(await all.more()).toBe(false);
    expect(errors.length).toBe(1);

    // Stored side by side right after a commit, they share one (control/db/group-commit.ts): the good one first,
    // then the bad one fails the group, then each is retried alone. Told once, after its own commit.
    const told: Array<[string, number]> = [];
    const tell = (node: string) => (flows: FlowRow[]) => told.push([node, flows.length]);
    const at = (b: Partial<Batch>) => storeBatch(s.db, batch(b), T0, DEFAULT_MONITORING_SETTINGS, tell(b.node!));
    await at({ ...SECOND, seq: 3 });
    const [good, bad] = await Promise.allSettled([
      at({ ...SECOND, seq: 4 }),
      at({ node: "node-c", seq: 3, flows: [flow({})] }),
    ]);
    expect([good.status, bad.status]).toEqual(["fulfilled", "rejected"]);
    expect(told).toEqual([["node-a", 2], ["node-a", 2]]);
  });

  it("speaks SSE when asked: event flow, id the sequence, data the record's JSON", async () => {
    await setUp(s);
    const { res, body } = await follow("?port=53", { accept: "text/event-stream" });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache, no-store");
    await post(s, SECOND);
    await body.until((t) => t.endsWith("\n\n"));
    expect(body.text).toBe(`event: flow\nid: 2\ndata: ${JSON.stringify(record(2, T0 + 10_000, WEB_DNS))}\n\n`);
    await body.cancel();
    const ndjson = await follow();
    expect(ndjson.res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    await ndjson.body.cancel();
  });

  it("answers 400 naming each bad filter, unknown ones included", async () => {
    const bad: Array<[string, string]> = [
      ["node=Bad_Node", "node"],
      ["namespace=-x", "namespace"],
      ["pod=web", "pod"],
      ["pod=a/b/c", "pod"],
      ["service=data", "service"],
      ["port=65536", "port"],
      ["port=eighty", "port"],
      ["sort=bytes", "sort"],
      ["protocol=gre", "protocol"],
      ["protocol=256", "protocol"],
      ["failures=yes", "failures"],
      ["verdict=ok", "verdict"],
    ];
    for (const [query, name] of bad) {
      const res = await s.app.request(`/api/v1/flows/stream?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).error, query).toMatch(new RegExp(`^invalid query parameter '${name}': `));
    }
    expect((await metrics()).followers).toBe(0);
  });

  it("takes the followers' cap and answers 503 with Retry-After beyond it, until one leaves", async () => {
    const three = await Promise.all([follow(), follow(), follow()]);
    const refused = await s.app.request("/api/v1/flows/stream");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe(String(FOLLOWERS_RETRY_AFTER_S));
    expect((await refused.json()).error).toMatch(/EBPF_K8S_STREAM_MAX_FOLLOWERS/);
    await three[0]!.body.cancel();
    const again = await follow();
    expect(await metrics()).toMatchObject({ followers: 3, refused: 1 });
    await Promise.all([again, ...three.slice(1)].map((f) => f.body.cancel()));
    expect((await metrics()).followers).toBe(0);
  });

  it("ends every stream with a last line when the replica shuts down (endFollowers)", async () => {
    await setUp(s);
    const [a, b] = [await stream(), await stream("?port=53")];
    await post(s, SECOND);
    endFollowers(s.db);
    await a.until(() => a.ended);
    await b.until(() => b.ended);
    const lines = (t: string) => t.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines(a.text).map((l) => [l.type, l.seq])).toEqual([["flow", 1], ["flow", 2], ["dropped", 2]]);
    expect(lines(b.text)).toEqual([
      record(2, T0 + 10_000, WEB_DNS),
      { type: "dropped", reason: "shutdown", seq: 2, message: expect.stringContaining("shutting down") },
    ]);
    expect(await metrics()).toMatchObject({ followers: 0, shutdown: 2 });
  });

  it("leaves no follower behind after a thousand connects and disconnects", async () => {
    await setUp(s);
    for (let i = 0; i < 1_000; i++) {
      const { body } = await follow(i % 2 === 0 ? "" : "?port=53");
      if (i % 100 === 0) {
        // Some of them read a record first.
        await post(s, { ...SECOND, seq: 2 + i / 100, ts: T0 + (2 + i / 100) * 10_000 });
        await body.until((t) => t.includes("\n"));
      }
      await body.cancel();
    }
    expect(await metrics()).toMatchObject({ followers: 0, refused: 0 });
  });
});

describe("an idle follower", () => {
  const idle = useTestApp({
    settings: { flowStream: { maxFollowers: 2, maxQueued: 10, keepAliveMs: 50, dropGraceMs: 1_000 } },
  });

  it("gets a keep-alive line with the replica's sequence when nothing was sent for keepAliveMs, and no more than one a period", async () => {
    const res = await idle.app.request("/api/v1/flows/stream");
    const body = bodyReader(res.body);
    const started = Date.now();
    await body.lines(2, 2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(body.text.split("\n").slice(0, 2)).toEqual(['{"type":"keepalive","seq":0}', '{"type":"keepalive","seq":0}']);
    await body.cancel();
    const sse = await idle.app.request("/api/v1/flows/stream", { headers: { accept: "text/event-stream" } });
    const events = bodyReader(sse.body);
    await events.until((t) => t.endsWith("\n\n"), 2_000);
    expect(events.text).toBe(": keepalive 0\n\n");
    await events.cancel();
  });
});
