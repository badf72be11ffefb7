// SPDX-License-Identifier: Apache-2.0
/**
 * Followers over real HTTP (the control plane's Node server on loopback): a reader that stops reading fills its
 * socket's buffers, then its queue, and is dropped with a final line while a fast follower gets every record;
 * what is held for the slow one stays bounded; a reader that never reads again is cut off after the grace.
 */
import { connect, type Socket } from "node:net";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Listening, listenNode } from "../http/node-listen.ts";
import type { PodEndpoint } from "../monitoring/attribution.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { flowStreamRoutes } from "../routes/flows-stream.ts";
import { FlowStreamHub } from "./hub.ts";

const MAX_QUEUED = 500;
/** Records published per millisecond or two: well under the cap, so a reader that reads keeps up. */
const SLICE = 20;

let hub: FlowStreamHub;
let server: Listening;
const sockets: Socket[] = [];
const readers: Array<{ cancel(): Promise<void> }> = [];

const pod = (i: number): PodEndpoint => ({
  kind: "pod",
  uid: `3f6c1d2e-0000-4000-8000-${String(i).padStart(12, "0")}`,
  namespace: "checkout",
  name: `payments-api-7d9f8c6b5-${String(i).padStart(5, "0")}`,
  node: "node-a",
});
const row = (i: number): FlowRow => ({
  node: "node-a",
  client: pod(i),
  server: pod(i + 1),
  port: 8080,
  proto: 6,
  fwdPackets: i,
  fwdBytes: 100 * i,
  revPackets: i,
  revBytes: 1_000 * i,
  tcpFlags: 0x18,
});

function setUp(dropGraceMs: number) {
  return async () => {
    hub = new FlowStreamHub({ maxFollowers: 10, maxQueued: MAX_QUEUED, keepAliveMs: 60_000, dropGraceMs });
    const app = new Hono().route("/api/v1", flowStreamRoutes(hub, { access: { readAuth: "open" } }));
    server = await listenNode(app.fetch, { port: 0, hostname: "127.0.0.1", keepAliveMs: 5_000 });
  };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(readers.splice(0).map((r) => r.cancel().catch(() => {})));
  await server.close();
});

/** A follower on a raw socket that reads nothing once the response has begun (`socket.pause()`). */
async function stalledFollower(): Promise<{ socket: Socket; received: () => string; ended: Promise<void> }> {
  const socket = connect(server.port, "127.0.0.1");
  sockets.push(socket);
  let text = "";
  const ended = new Promise<void>((resolve) => socket.once("end", resolve));
  socket.on("data", (b: Buffer) => text += b.toString("latin1"));
  // Connection: close, so that the end of the response is the end of the connection.
  socket.write("GET /api/v1/flows/stream HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  await until(() => text.includes("\r\n\r\n"));
  socket.pause();
  return { socket, received: () => text, ended };
}

async function until(done: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The NDJSON lines of a chunked HTTP/1.1 response: a chunk holds whole lines (follower.ts), so only chunk sizes are
 * between them. `cut`: the connection was closed by the server, whose last write may have gone out in part.
 */
function jsonLines(raw: string, cut = false): Array<Record<string, unknown>> {
  const lines = raw.slice(raw.indexOf("\r\n\r\n") + 4).split(/\r?\n/).filter((l) => l.startsWith("{"));
  if (cut && lines.length > 0) {
    try {
      JSON.parse(lines.at(-1)!);
    } catch {
      lines.pop();
    }
  }
  return lines.map((l) => JSON.parse(l));
}

/** Publishes slices until `done`, yielding between them so that connections are written; returns how many. */
async function publishUntil(done: () => boolean, watch: () => void): Promise<number> {
  let n = 0;
  while (!done()) {
    if (n > 200_000) throw new Error("the slow follower was never dropped");
    hub.publish("node-a", 1_700_000_000_000 + n, Array.from({ length: SLICE }, (_, i) => row(n + i)));
    n += SLICE;
    watch();
    await new Promise((r) => setTimeout(r, 2));
  }
  return n;
}

describe("a follower that stops reading", () => {
  beforeEach(setUp(10_000));

  it(
    "is dropped with a final line once its queue is full; a fast follower gets every record; memory stays bounded",
    async () => {
      const fast = await fetch(`http://127.0.0.1:${server.port}/api/v1/flows/stream`);
      const fastReader = fast.body!.getReader();
      readers.push(fastReader);
      // It reads all along.
      let fastText = "";
      void (async () => {
        const decoder = new TextDecoder();
        for (let r = await fastReader.read(); !r.done; r = await fastReader.read()) fastText += decoder.decode(r.value);
      })().catch(() => {});
      const slow = await stalledFollower();
      let mostQueued = 0;
      const published = await publishUntil(
        () => hub.snapshot().dropped.slow_reader === 1,
        () => mostQueued = Math.max(mostQueued, hub.snapshot().queued),
      );
      // The slow reader's socket buffers took some, its queue the rest up to the cap: never more, whatever was sent.
      expect(mostQueued).toBeLessThanOrEqual(2 * MAX_QUEUED);
      expect(published * 400).toBeGreaterThan(1_000_000); // megabytes went by while it read nothing
      expect(hub.snapshot().followers).toBe(1);

      // The fast one goes on and gets everything, in order.
      const more = await publishUntil(() => hub.snapshot().published >= published + 5 * SLICE, () => {});
      const total = published + more;
      await until(() => fastText.split("\n").length > total);
      const lines = fastText.split("\n").slice(0, -1).map((l) => JSON.parse(l));
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      await fastReader.cancel();

      // The slow one, reading again, gets what was queued for it, then why it was dropped, then the end.
      slow.socket.resume();
      await slow.ended;
      const got = jsonLines(slow.received());
      const last = got.at(-1);
      const records = got.slice(0, -1);
      expect(last).toEqual({
        type: "dropped",
        reason: "slow_reader",
        seq: records.at(-1)!.seq,
        message: expect.stringContaining("EBPF_K8S_STREAM_MAX_QUEUED"),
      });
      expect(records.map((l) => l.seq)).toEqual(Array.from({ length: records.length }, (_, i) => i + 1));
      expect(records.length).toBeLessThan(published);
      expect(hub.snapshot()).toMatchObject({ followers: 0, dropped: { slow_reader: 1 } });
    },
    30_000,
  );
});

describe("a dropped follower that never reads again", () => {
  beforeEach(setUp(300));

  it("has its connection closed after the grace, without the final line", async () => {
    const slow = await stalledFollower();
    await publishUntil(() => hub.snapshot().dropped.slow_reader === 1, () => {});
    await new Promise((r) => setTimeout(r, 600));
    slow.socket.resume();
    await slow.ended;
    const got = jsonLines(slow.received(), true);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((l) => l.type === "flow")).toBe(true);
    expect(hub.snapshot()).toMatchObject({ followers: 0, queued: 0 });
  });
});
