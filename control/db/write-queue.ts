// SPDX-License-Identifier: Apache-2.0
/**
 * Runs write transactions on one database one after another within this
 * process.
 *
 * An embedded libSQL database executes statements synchronously on the event
 * loop thread. If a second request opened a write transaction while the first
 * was still awaiting between its statements, the second would busy-wait for a
 * lock that only the (now blocked) first one can release. Queueing them here
 * avoids that; across processes and replicas, SQLite's own locking (or sqld)
 * still serialises writers.
 */
import { type Db, preparedConnectionOf, type Tx } from "./client.ts";
import { clientTransaction, type SqlTransaction } from "./prepared.ts";

const tails = new WeakMap<object, Promise<unknown>>();

/** `key` identifies the database (use the libSQL client, shared by every handle on it). */
export function enqueueWrite<T>(key: object, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  // A failed predecessor must not stop the queue: its caller already got the error.
  const result = previous.catch(() => undefined).then(work);
  tails.set(key, result.catch(() => undefined));
  return result;
}

/**
 * One write transaction, queued behind the others on the same database. Every
 * write of the control plane goes through here, single statements included: a
 * statement outside the queue would take another connection and wait for the
 * lock synchronously, blocking the very event loop that has to release it.
 */
export function writeTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return enqueueWrite(db.$client, () => db.transaction(work));
}

/**
 * The same, with hand-written statements: for the ingest path, where
 * building each statement through drizzle measured ~0.1 ms more per
 * statement than the statement itself. On an embedded database the
 * statements stay prepared (prepared.ts). Not committed unless `work`
 * resolves.
 */
export function rawWriteTransaction<T>(db: Db, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  return enqueueWrite(db.$client, () => rawTransaction(db, work));
}

/** One libSQL write transaction, not queued: only for work that already runs in the queue. */
export async function rawTransaction<T>(db: Db, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const prepared = preparedConnectionOf(db.$client);
  if (prepared !== undefined) return prepared.transaction(work);
  const tx = await db.$client.transaction("write");
  try {
    const result = await work(clientTransaction(tx));
    await tx.commit();
    return result;
  } finally {
    tx.close(); // rolls back unless committed
  }
}
