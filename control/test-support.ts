// SPDX-License-Identifier: Apache-2.0
/**
 * Helpers for the control-plane and web tests: a fresh database per test,
 * batch builders, and a dump of every table to prove a request changed nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { afterEach, beforeEach } from "vitest";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "./app.ts";
import { sha256Hex } from "./auth/secrets.ts";
import type { AppSettings } from "./config.ts";
import { type Db, openDb } from "./db/client.ts";
import {
  type Batch,
  type BatchAck,
  DEFAULT_MODULES,
  type InterfaceCounters,
  type Inventory,
  NodeName,
  WIRE_VERSION,
} from "./wire/batch.ts";

export const BOOT_A = "6f1c1c8e-5a3e-4c1b-9a55-0f6e0d2a1b11";
export const BOOT_B = "0b7d7d3e-2f4a-4e8b-8c1d-3a9e5f6b7c22";
/** Agent clock of the first batch in most tests. */
export const T0 = 1_700_000_000_000;

export interface TestDb {
  db: Db;
  close(): void;
}

/** `:memory:` by default; "file" gives a libSQL file in its own temp directory. */
export async function openTestDb(kind: "memory" | "file" = "memory"): Promise<TestDb> {
  if (kind === "memory") {
    const db = await openDb(":memory:");
    return { db, close: () => db.$client.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-test-"));
  const db = await openDb(`file:${join(dir, "test.db")}`);
  return {
    db,
    close: () => {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ADMIN_TOKEN = "ek8s_admin_test-admin-token-0123456789";
export const READ_TOKEN = "ek8s_read_test-read-token-0123456789";
const TOKENS = { adminTokenHash: await sha256Hex(ADMIN_TOKEN), readTokenHash: await sha256Hex(READ_TOKEN) };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const AS_ADMIN = bearer(ADMIN_TOKEN);

export interface TestAppOptions {
  logError?: (message: string, err: unknown) => void;
  settings?: Partial<AppSettings>;
}

type App = ReturnType<typeof createApp>;

/** What answers like app.request(): an app in-process, or a control plane reached over HTTP (`overHttp`). */
export interface Requester {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

/** A control plane running as its own process, for the helpers that take an app. */
export const overHttp = (base: string): Requester => ({ request: (path, init) => fetch(new URL(path, base), init) });

/** Which database each test app serves, so helpers can cache per database. */
const dbOfApp = new WeakMap<App, Db>();

/**
 * An app whose clock the test moves by assigning `clock.now`, knowing the
 * test admin and read tokens. Rate limits and the ingest admission bound
 * are raised far out of the way; tests of the limits set their own.
 */
export function testApp(db: Db, opts: TestAppOptions = {}) {
  const clock = { now: T0 + 500 };
  const app = createApp(db, {
    now: () => clock.now,
    logError: opts.logError,
    tokens: TOKENS,
    settings: {
      ingestRatePerSec: 1e6,
      ingestBurst: 1e6,
      ingestAdmission: { maxInFlight: 1e6, maxStoring: 2, maxQueued: 0, maxQueueMs: 1, retryAfterSeconds: 1 },
      ...opts.settings,
    },
  });
  dbOfApp.set(app, db);
  return { app, clock };
}

export interface TestContext {
  db: Db;
  app: App;
  clock: { now: number };
  /** A new app on the same database (other settings, fresh rate limits); replaces `app` and `clock`. */
  rebuild(opts?: TestAppOptions): void;
}

/**
 * A fresh in-memory database and test app before each test of the calling
 * file or block, closed after it. Read the fields inside tests (`s.app`):
 * they are replaced for every test.
 */
export function useTestApp(opts: TestAppOptions = {}): TestContext {
  const fresh = useTestDb();
  const ctx = {
    rebuild(again: TestAppOptions = opts) {
      Object.assign(ctx, testApp(ctx.db, again));
    },
  } as TestContext;
  beforeEach(() => {
    ctx.db = fresh.db;
    ctx.rebuild(opts);
  });
  return ctx;
}

/** A fresh in-memory database before each test of the calling file or block, closed after it (read `ctx.db` inside tests). */
export function useTestDb(): { db: Db } {
  const ctx = {} as { db: Db };
  let t: TestDb | undefined;
  beforeEach(async () => {
    t = await openTestDb();
    ctx.db = t.db;
  });
  afterEach(() => t?.close());
  return ctx;
}

/** Sends a JSON body (a string as-is) with the given method and headers. */
export function send(
  app: Requester,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return app.request(path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A new join token made through the admin API. */
export async function newJoinToken(
  app: Requester,
  body: unknown = {},
): Promise<{ id: string; token: string; expiresAt: string }> {
  const res = await send(app, "POST", "/api/v1/join-tokens", body, AS_ADMIN);
  if (res.status !== 201) throw new Error(`join token: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function postJoin(app: Requester, node: string, token: string) {
  return send(app, "POST", "/api/v1/join", { token, node });
}

/** Per database: one join token, and one credential per node (a second join of a live node is refused: 409). */
const credentials = new WeakMap<object, { joinToken?: Promise<string>; nodes: Map<string, Promise<string>> }>();

/** A credential of `node`, joined once per database and reused (so reusing it writes nothing). */
export function credentialFor(app: App, node: string): Promise<string> {
  const db = dbOfApp.get(app);
  if (db === undefined) throw new Error("credentialFor needs an app made by testApp()");
  let cache = credentials.get(db.$client);
  if (cache === undefined) credentials.set(db.$client, cache = { nodes: new Map() });
  const c = cache;
  let credential = c.nodes.get(node);
  if (credential === undefined) {
    c.joinToken ??= newJoinToken(app, { ttlSeconds: 30 * 86_400 }).then((t) => t.token);
    credential = c.joinToken.then(async (token) => {
      const res = await postJoin(app, node, token);
      if (res.status !== 200) throw new Error(`join ${node}: ${res.status} ${await res.text()}`);
      return (await res.json()).credential as string;
    });
    c.nodes.set(node, credential);
  }
  return credential;
}

export function iface(overrides: Partial<InterfaceCounters> = {}): InterfaceCounters {
  return { ifname: "veth0", ifindex: 7, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0, ...overrides };
}

export function batch(overrides: Partial<Batch> = {}): Batch {
  return {
    v: WIRE_VERSION,
    node: "node-a",
    bootId: BOOT_A,
    seq: 1,
    ts: T0,
    interval: 1,
    interfaces: [iface()],
    ...overrides,
  };
}

/**
 * POSTs a batch; a string is sent as-is (for malformed bodies). Without an
 * Authorization header it brings the credential of the batch's node (node-a
 * when the body names no valid node).
 */
export async function postBatch(app: App, body: unknown, headers: Record<string, string> = {}) {
  const named = typeof body === "object" && body !== null && "node" in body ? NodeName.safeParse(body.node) : undefined;
  const auth = "authorization" in headers
    ? {}
    : bearer(await credentialFor(app, named?.success ? named.data : "node-a"));
  return send(app, "POST", "/api/v1/ingest", body, { ...auth, ...headers });
}

/** What a node nobody switched should run. */
export const DEFAULT_DESIRED = { version: 0, modules: DEFAULT_MODULES };

/** The acknowledgement of a node with the default desired state. */
export function ack(seq: number, duplicate = false): BatchAck {
  return { ok: true, seq, duplicate, desired: DEFAULT_DESIRED };
}

/** A realistic inventory: ifstats on, two programs, one map. */
export function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    agentVersion: "0.2.0",
    kernel: "6.12.0-test",
    btf: true,
    bpfStats: true,
    features: { "prog:sched_cls": true, "map:sockhash": false },
    modules: [
      { name: "ifstats", desired: true, state: "on" },
      { name: "lb", desired: false, state: "off" },
      { name: "accel", desired: false, state: "unsupported" },
    ],
    programs: [
      {
        id: 41,
        name: "ifstats_ingress",
        type: "sched_cls",
        module: "ifstats",
        attach: "tc ingress veth0",
        runCount: 1_000,
        runTimeNs: 85_000,
      },
      { id: 42, name: "ifstats_egress", type: "sched_cls", module: "ifstats", attach: "tc egress veth0" },
    ],
    maps: [{ id: 7, name: "ifstats_counters", type: "percpu_hash", module: "ifstats", maxEntries: 1024, entries: 768 }],
    spool: { pending: 0, dropped: 0 },
    ...overrides,
  };
}

export async function getJson(
  app: Requester,
  path: string,
  headers: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any -- tests read answers' fields directly; the API's schema tests check shapes
): Promise<{ status: number; body: any }> {
  const res = await app.request(path, { headers });
  return { status: res.status, body: await res.json() };
}

/** The interface_samples view: one row per interface per stored batch, in the order they were stored. */
export async function samplesOf(db: Db): Promise<Array<Record<string, unknown>>> {
  const rows = await db.$client.execute("SELECT * FROM interface_samples");
  return rows.rows.map((row) => ({ ...row }));
}

/** Every row of every table (migrations bookkeeping included), in insertion order. */
export async function dumpTables(db: Pick<Db, "$client">): Promise<Record<string, unknown[]>> {
  const tables = await db.$client.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const dump: Record<string, unknown[]> = {};
  for (const { name } of tables.rows) {
    const rows = await db.$client.execute(`SELECT * FROM "${String(name)}" ORDER BY rowid`);
    dump[String(name)] = rows.rows.map((row) => ({ ...row }));
  }
  return dump;
}
