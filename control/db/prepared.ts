// SPDX-License-Identifier: Apache-2.0
/**
 * Write transactions on an embedded (`file:`) database through a connection of our own that keeps its
 * statements prepared.
 *
 * Why: libSQL's client prepares every statement anew on every call. On the ingest path that was a sixth of
 * the store's CPU (the pods upsert alone: 0.46 ms a batch through the client, 0.22 ms prepared once; measured
 * with control/bench/store.ts), and the statements are the same few dozen texts over and over.
 *
 * Safe beside the client's own connections because every write of the control plane runs in the write queue
 * (write-queue.ts): this connection's transactions never overlap another write of this process, and other
 * processes are kept apart by SQLite's locking (busy timeout as the client's). Readers on the client's
 * connections see each commit (WAL).
 *
 * Only what the raw-transaction code uses is offered: `execute` of positional statements, answering
 * `rows` (objects by column name) and `rowsAffected`. In-memory and remote databases keep using the client
 * (a second connection to `:memory:` would be another database); the store path's tests run on both.
 */
import type { InArgs, InStatement, InValue, ResultSet, Transaction } from "@libsql/client";
import Database from "libsql";

/**
 * What a raw write transaction may do: libSQL's `execute`, and `executeMany`: one statement run for each of
 * many argument lists (prepared once here; one round trip to a remote database), answering the rows changed.
 */
export interface SqlTransaction extends Pick<Transaction, "execute"> {
  executeMany(sql: string, argLists: readonly InValue[][]): Promise<number>;
}

/** libSQL's own transaction as a SqlTransaction: for in-memory and remote databases. */
export function clientTransaction(tx: Transaction): SqlTransaction {
  return {
    execute: (stmt: InStatement) => tx.execute(stmt),
    executeMany: async (sql, argLists) => {
      if (argLists.length === 0) return 0;
      const results = await tx.batch(argLists.map((args) => ({ sql, args })));
      return results.reduce((n, r) => n + r.rowsAffected, 0);
    },
  };
}

/** Distinct statement texts kept prepared; the store path has a few dozen, a longer list is a bug somewhere else. */
const MAX_PREPARED = 512;

type Statement = Database.Statement;

export class PreparedConnection {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Statement>();

  constructor(path: string, opts: { busyTimeoutMs: number; cacheKib: number }) {
    this.#db = new Database(path, { timeout: opts.busyTimeoutMs });
    this.#db.exec(`PRAGMA cache_size = -${opts.cacheKib}`);
  }

  /** One write transaction: committed when `work` resolves, rolled back when it throws. */
  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    this.#db.exec("BEGIN IMMEDIATE");
    let done = false;
    const open = () => {
      if (done) throw new Error("the transaction is closed");
    };
    const tx: SqlTransaction = {
      execute: (stmt: InStatement | string, args?: InArgs) => {
        try {
          open();
          return Promise.resolve(this.#execute(stmt, args));
        } catch (err) {
          return Promise.reject(err);
        }
      },
      executeMany: (sql, argLists) => {
        try {
          open();
          const prepared = this.#prepare(sql);
          let changed = 0;
          for (const args of argLists) changed += prepared.run(args.map(toSql)).changes;
          return Promise.resolve(changed);
        } catch (err) {
          return Promise.reject(err);
        }
      },
    };
    try {
      const result = await work(tx);
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    } finally {
      done = true;
    }
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  #execute(stmt: InStatement | string, extra?: InArgs): ResultSet {
    const sql = typeof stmt === "string" ? stmt : stmt.sql;
    const args = typeof stmt === "string" ? extra ?? [] : stmt.args ?? [];
    if (!Array.isArray(args)) throw new TypeError("only positional arguments are supported here");
    const prepared = this.#prepare(sql);
    const values = args.map(toSql);
    if (prepared.reader) {
      const rows = prepared.all(values) as ResultSet["rows"];
      return result(rows, 0);
    }
    return result([], prepared.run(values).changes);
  }

  #prepare(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      if (this.#statements.size >= MAX_PREPARED) this.#statements.clear();
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }
}

/** As libSQL's client binds them: booleans as 0/1; undefined is a mistake, not NULL. */
function toSql(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value === undefined) throw new TypeError("undefined is not a valid SQL value (use null)");
  return value;
}

function result(rows: ResultSet["rows"], rowsAffected: number): ResultSet {
  return {
    columns: [],
    columnTypes: [],
    rows,
    rowsAffected,
    lastInsertRowid: undefined,
    toJSON: () => ({ rows, rowsAffected }),
  };
}
