// SPDX-License-Identifier: Apache-2.0
/**
 * Opens the control plane's database and brings its schema up to date.
 *
 * libSQL takes a URL: `file:` for an embedded database on this machine (the
 * default), `:memory:` for tests, `libsql://`/`http(s)://` for a shared sqld or
 * Turso server when several replicas run. node:fs/node:url are used only to
 * create the data directory and find the migrations; Deno provides both through
 * its Node compatibility layer, so this module runs under Node and Deno alike.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient, type ResultSet } from "@libsql/client";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { PreparedConnection } from "./prepared.ts";
import * as schema from "./schema.ts";

export const DEFAULT_DATABASE_URL = "file:./data/ebpf-k8s.db";

/** Resolved from this module, not the working directory, so any entry point finds them. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

/**
 * How long a statement waits for another process's lock on a `file:` database
 * before failing with SQLITE_BUSY (libSQL's default is to fail at once).
 */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Replicas started together on a new database race to apply the same
 * migrations: each reads which are applied, then applies the rest in one
 * transaction, and all but the first fail ("table already exists"). A failed
 * transaction rolls back whole, so the losers look again after a pause and
 * find nothing left to do. Tries, and the longest pause (ms, jittered).
 */
const MIGRATE_TRIES = 6;
const MIGRATE_PAUSE_MS = 500;

/** Page cache per connection, KiB. */
const CACHE_KIB = 128 * 1024;

export type Db = LibSQLDatabase<typeof schema> & { $client: Client };
/** The handle a `db.transaction(...)` callback receives. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either of the two, for queries that run alone or inside a transaction. */
export type Queryable = BaseSQLiteDatabase<"async", ResultSet, typeof schema>;

export interface OpenDbOptions {
  /** For `libsql://` servers that require one (Turso, sqld with auth). */
  authToken?: string;
}

/** Opens `url`, applies pending migrations and returns a ready drizzle handle. */
export async function openDb(url: string = DEFAULT_DATABASE_URL, opts: OpenDbOptions = {}): Promise<Db> {
  const filePath = localFilePath(url);
  if (filePath !== undefined) mkdirSync(dirname(filePath), { recursive: true });

  const client = createClient({ url, authToken: opts.authToken, timeout: BUSY_TIMEOUT_MS });
  try {
    // WAL lets page reads proceed while an ingest transaction writes; the
    // setting is stored in the file, so once per open is enough.
    if (filePath !== undefined) await client.execute("PRAGMA journal_mode = WAL");
    // SQLite's default page cache is 2 MiB; the statistics tables' indexes are
    // far larger, and every rollup upsert that misses the cache reads a page
    // back. Per connection, so set on every open.
    await client.execute(`PRAGMA cache_size = -${CACHE_KIB}`);
    const db = drizzle(client, { schema });
    await migrateRacingReplicas(db);
    if (filePath !== undefined) keepPrepared(client, filePath);
    return db;
  } catch (err) {
    client.close();
    throw err;
  }
}

const prepared = new WeakMap<Client, PreparedConnection>();

/** The connection whose statements stay prepared, for the raw write transactions of an embedded database. */
export function preparedConnectionOf(client: Client): PreparedConnection | undefined {
  return prepared.get(client);
}

/** Opened after the migrations (statements prepared against the final schema), closed with the client. */
function keepPrepared(client: Client, filePath: string): void {
  const connection = new PreparedConnection(filePath, { busyTimeoutMs: BUSY_TIMEOUT_MS, cacheKib: CACHE_KIB });
  prepared.set(client, connection);
  const close = client.close.bind(client);
  client.close = () => {
    prepared.delete(client);
    connection.close();
    close();
  };
}

async function migrateRacingReplicas(db: Db): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (err) {
      if (attempt >= MIGRATE_TRIES) throw err;
      await new Promise((ok) => setTimeout(ok, Math.random() * MIGRATE_PAUSE_MS * Math.min(1, attempt / 3)));
    }
  }
}

/** The path of an on-disk `file:` database, or undefined for memory and remote URLs. */
export function localFilePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  // file:relative/path, file:/abs/path and file:///abs/path are all accepted by libSQL.
  const path = url.slice("file:".length).replace(/^\/\/(?=\/)/, "").split("?")[0]!;
  return path === "" || path === ":memory:" ? undefined : path;
}
