// SPDX-License-Identifier: Apache-2.0
/** EBPF_K8S_REQUEST_TIMEOUT_MS: a request stuck on a slow database is answered 503, and nothing is lost. */
import type { Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../app.ts";
import type { Db } from "../db/client.ts";
import * as schema from "../db/schema.ts";
import {
  ack,
  batch,
  bearer,
  credentialFor,
  dumpTables,
  getJson,
  openTestDb,
  postBatch,
  samplesOf,
  testApp,
  type TestDb,
} from "../test-support.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
});
afterEach(() => t.close());

/** The same database behind a client whose every statement and transaction start waits `delayMs`. */
function slowDb(db: Db, delayMs: number): Db {
  const slow = new Proxy(db.$client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== "execute" && prop !== "transaction") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, delayMs));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Client;
  return drizzle(slow, { schema }) as Db;
}

describe("request timeout", () => {
  it("answers 503 JSON with Retry-After when the database is too slow; /healthz still answers", async () => {
    const app = createApp(slowDb(t.db, 2_000), { settings: { requestTimeoutMs: 50 } });
    const started = Date.now();
    const res = await app.request("/api/v1/nodes");
    expect(Date.now() - started).toBeLessThan(1_500); // the timeout's answer, not the slow database's
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ error: "request took longer than 50 ms; retry later" });
    expect(await getJson(app, "/healthz")).toEqual({ status: 200, body: { ok: true } });
    await new Promise((r) => setTimeout(r, 2_100)); // let the abandoned query finish before the database closes
  });

  it("a batch answered 503 may still be stored; the agent's resend is then acknowledged as a duplicate", async () => {
    const { app: fast } = testApp(t.db);
    const credential = await credentialFor(fast, "node-a");

    const slow = createApp(slowDb(t.db, 100), { settings: { requestTimeoutMs: 50 } });
    const res = await slow.request("/api/v1/ingest", {
      method: "POST",
      headers: bearer(credential),
      body: JSON.stringify(batch()),
    });
    expect(res.status).toBe(503);
    // The request's work carries on after the answer and commits.
    await vi.waitFor(async () => expect((await dumpTables(t.db)).boots).toHaveLength(1), { timeout: 5_000 });

    expect(await (await postBatch(fast, batch())).json()).toEqual(ack(1, true));
    expect(await samplesOf(t.db)).toHaveLength(1);
  });
});
