/**
 * Helpers for the control-plane and web tests: a fresh database per test,
 * batch builders, and a dump of every table to prove a request changed nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "./app.ts";
import { openDb, type Db } from "./db/client.ts";
import { WIRE_VERSION, type Batch, type InterfaceCounters } from "./wire/batch.ts";

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

/** An app whose clock the test moves by assigning `clock.now`. */
export function testApp(db: Db, opts: { logError?: (message: string, err: unknown) => void } = {}) {
  const clock = { now: T0 + 500 };
  const app = createApp(db, { now: () => clock.now, ...opts });
  return { app, clock };
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

type App = ReturnType<typeof createApp>;

/** POSTs a batch; a string is sent as-is (for malformed bodies). */
export function postBatch(app: App, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/api/v1/ingest", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function getJson(app: App, path: string): Promise<{ status: number; body: any }> {
  const res = await app.request(path);
  return { status: res.status, body: await res.json() };
}

/** Every row of every table (migrations bookkeeping included), in insertion order. */
export async function dumpTables(db: Db): Promise<Record<string, unknown[]>> {
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
