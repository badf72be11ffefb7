// SPDX-License-Identifier: Apache-2.0
/**
 * Overload shedding on POST /api/v1/ingest (control/ingest/admission.ts):
 * with every slot and queue place taken a batch is answered 503 with
 * Retry-After at once, before its body is read; a queued batch is refused
 * when no slot frees in time, or gets the slot that frees; nothing of a
 * refused batch is stored, and sent again it is stored whole. /metrics and
 * the overview say so.
 *
 * Bodies here are streams the test writes itself: a batch whose body has not
 * ended holds its slot (reading the body is part of the bounded work), and a
 * refusal that tried to read a body that never ends would never come.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AdmissionSettings } from "../ingest/admission.ts";
import { RECENT_SHEDDING_MS } from "../ingest/admission.ts";
import { parseExposition, valueOf } from "../metrics/parse.test-support.ts";
import {
  ack,
  batch,
  bearer,
  credentialFor,
  dumpTables,
  getJson,
  postBatch,
  samplesOf,
  useTestApp,
} from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import { enqueueWrite } from "../db/write-queue.ts";

const LIMITS: AdmissionSettings = {
  maxInFlight: 1,
  maxStoring: 1,
  maxQueued: 1,
  maxQueueMs: 600,
  retryAfterSeconds: 3,
};
const s = useTestApp({ settings: { ingestAdmission: LIMITS } });

/** "At once": well below the queue timeout, so a refusal that waited for a slot would show. */
const AT_ONCE_MS = 300;

const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
afterEach(() => {
  for (const c of open) c.close();
  open.clear();
});

/**
 * POSTs `b` with a streamed body of which only the first bytes are sent;
 * `finish()` sends the rest. Answers the response promise and when it came.
 */
async function postHeld(b: Batch) {
  const text = new TextEncoder().encode(JSON.stringify(b));
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  controller.enqueue(text.slice(0, 16));
  open.add(controller);
  const sentAt = performance.now();
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(await credentialFor(s.app, b.node)) },
    body,
    duplex: "half",
  } as RequestInit;
  const response = Promise.resolve(s.app.request("/api/v1/ingest", init)).then((res) => ({
    res,
    ms: performance.now() - sentAt,
  }));
  return {
    response,
    finish() {
      open.delete(controller);
      controller.enqueue(text.slice(16));
      controller.close();
    },
  };
}

async function metrics() {
  const res = await s.app.request("/metrics");
  return parseExposition(await res.text()).samples;
}

/** Until the app has `inFlight` batches in progress, `queued` waiting and `storing` handed on (from /metrics). */
async function untilLoad(inFlight: number, queued: number, storing = 0) {
  for (let i = 0; i < 100; i++) {
    const m = await metrics();
    const load = ["in_flight", "queued", "storing"].map((g) => valueOf(m, `ebpf_k8s_ingest_${g}`));
    if (load.join() === [inFlight, queued, storing].join()) return;
    await new Promise((ok) => setTimeout(ok, 5));
  }
  throw new Error(`never reached ${inFlight} in flight, ${queued} queued and ${storing} storing`);
}

describe("ingest admission", () => {
  it("refuses at once with 503 and Retry-After when full, before reading the body; a refused batch is not stored at all, and is stored whole when sent again", async () => {
    for (const node of ["node-a", "node-b", "node-c"]) await credentialFor(s.app, node);
    const before = await dumpTables(s.db);

    const a = await postHeld(batch({ node: "node-a" }));
    await untilLoad(1, 0);
    const b = await postHeld(batch({ node: "node-b" }));
    await untilLoad(1, 1);

    // Full: node-c's body never ends, so only an answer that does not read it can come.
    const c = await postHeld(batch({ node: "node-c" }));
    const full = await c.response;
    expect(full.ms).toBeLessThan(AT_ONCE_MS);
    expect(full.res.status).toBe(503);
    expect(full.res.headers.get("retry-after")).toBe("3");
    expect(await full.res.json()).toEqual({
      error: expect.stringMatching(/^control plane at capacity .*retry in 3 s$/),
      reason: "queue_full",
      retryAfterSeconds: 3,
    });

    // node-b waited its maxQueueMs for a slot that node-a still holds, then was refused.
    const late = await b.response;
    expect(late.res.status).toBe(503);
    expect(late.res.headers.get("retry-after")).toBe("3");
    expect((await late.res.json()).reason).toBe("queue_timeout");
    expect(late.ms).toBeGreaterThanOrEqual(LIMITS.maxQueueMs - 5);
    expect(late.ms).toBeLessThan(LIMITS.maxQueueMs + 4_000); // refused by its wait, not by node-a's slot

    // Nothing of the two refused batches (nor yet of node-a's, whose body is still coming) is in the database.
    expect(await dumpTables(s.db)).toEqual(before);

    a.finish();
    const first = await a.response;
    expect(first.res.status).toBe(200);
    expect(await first.res.json()).toEqual(ack(1));

    const m = await metrics();
    expect(valueOf(m, "ebpf_k8s_ingest_in_flight")).toBe(0);
    expect(valueOf(m, "ebpf_k8s_ingest_queued")).toBe(0);
    expect(valueOf(m, "ebpf_k8s_ingest_in_flight_limit")).toBe(1);
    expect(valueOf(m, "ebpf_k8s_ingest_admitted_total")).toBe(1);
    expect(valueOf(m, "ebpf_k8s_ingest_shed_total", { reason: "queue_full" })).toBe(1);
    expect(valueOf(m, "ebpf_k8s_ingest_shed_total", { reason: "queue_timeout" })).toBe(1);
    // Two waits: node-a's (none) and node-b's (about 0.6 s, until refused); node-c did not wait.
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_count")).toBe(2);
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_bucket", { le: "0.5" })).toBe(1);
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_bucket", { le: "1" })).toBe(2);
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_bucket", { le: "+Inf" })).toBe(2);

    // The agents send the refused batches again: stored, once, whole.
    for (const node of ["node-b", "node-c"]) {
      const res = await postBatch(s.app, batch({ node }));
      expect([res.status, await res.json()]).toEqual([200, ack(1)]);
      expect((await getJson(s.app, `/api/v1/nodes/${node}`)).status).toBe(200);
    }
    const samples = await samplesOf(s.db);
    expect(["node-a", "node-b", "node-c"].map((node) => samples.filter((r) => r.node === node).length)).toEqual([
      1,
      1,
      1,
    ]);
    expect(valueOf(await metrics(), "ebpf_k8s_ingest_admitted_total")).toBe(3);
  });

  it("gives a freed slot to the batch waiting for it", async () => {
    const a = await postHeld(batch({ node: "node-a" }));
    await untilLoad(1, 0);
    const queued = await postHeld(batch({ node: "node-b" }));
    await untilLoad(1, 1);
    queued.finish(); // its body is all there; it still waits for node-a's slot
    await new Promise((ok) => setTimeout(ok, 20));
    a.finish();
    const [first, second] = await Promise.all([a.response, queued.response]);
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    expect(second.ms).toBeLessThan(LIMITS.maxQueueMs);
    const m = await metrics();
    expect(valueOf(m, "ebpf_k8s_ingest_admitted_total")).toBe(2);
    expect(valueOf(m, "ebpf_k8s_ingest_shed_total", { reason: "queue_timeout" })).toBe(0);
    // node-b's wait is in the histogram: at least the 20 ms node-a held on after it came.
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_bucket", { le: "0.01" })).toBe(1);
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_count")).toBe(2);
    expect(valueOf(m, "ebpf_k8s_ingest_queue_wait_seconds_sum")).toBeGreaterThanOrEqual(0.02);
  });

  it("a batch read and valid hands its slot on while it waits for the database, at most maxStoring of them; those waiting share a commit", async () => {
    for (const node of ["node-a", "node-b", "node-c", "node-d"]) await credentialFor(s.app, node);
    let unblock!: () => void;
    const blocked = enqueueWrite(s.db.$client, () => new Promise<void>((ok) => (unblock = ok)));

    const a = postBatch(s.app, batch({ node: "node-a" }));
    await untilLoad(0, 0, 1); // node-a waits for the database without its slot
    const b = postBatch(s.app, batch({ node: "node-b" }));
    await untilLoad(1, 0, 1); // node-b is read and valid too, but maxStoring is taken: it keeps its slot
    const c = await postHeld(batch({ node: "node-c" }));
    await untilLoad(1, 1, 1);
    const d = await postHeld(batch({ node: "node-d" }));
    const refused = await Promise.all([d, c].map(async (x) => {
      const { res } = await x.response;
      return [res.status, (await res.json()).reason];
    }));
    expect(refused).toEqual([[503, "queue_full"], [503, "queue_timeout"]]);

    unblock();
    await blocked;
    const answers = await Promise.all([a, b]);
    expect(await Promise.all(answers.map(async (r) => [r.status, await r.json()]))).toEqual([
      [200, ack(1)],
      [200, ack(1)],
    ]);
    await untilLoad(0, 0, 0);
    const m = await metrics();
    // node-a and node-b waited for the database together: one commit stored both
    expect([valueOf(m, "ebpf_k8s_ingest_commits_total"), valueOf(m, "ebpf_k8s_ingest_committed_batches_total")])
      .toEqual([1, 2]);
    const samples = await samplesOf(s.db);
    expect(["node-a", "node-b", "node-c"].map((node) => samples.filter((r) => r.node === node).length)).toEqual([
      1,
      1,
      0,
    ]);
  });

  it("says on the overview that batches were refused, while it is recent", async () => {
    const overview = async () => (await s.app.request("/")).text();
    await postBatch(s.app, batch({ node: "node-a" }));
    expect(await overview()).not.toContain("Ingest at capacity");

    const a = await postHeld(batch({ node: "node-a", seq: 2 }));
    await untilLoad(1, 0);
    const b = await postHeld(batch({ node: "node-b" }));
    await untilLoad(1, 1);
    const c = await postHeld(batch({ node: "node-c" }));
    expect((await c.response).res.status).toBe(503);
    s.clock.now += 42_000;
    expect(await overview()).toMatch(/Ingest at capacity:<\/strong> 1 batch refused with 503 since 42 s ago/);

    a.finish();
    b.finish();
    await Promise.all([a.response, b.response]);
    s.clock.now += RECENT_SHEDDING_MS;
    expect(await overview()).not.toContain("Ingest at capacity");
  });
});
