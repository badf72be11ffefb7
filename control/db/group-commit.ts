// SPDX-License-Identifier: Apache-2.0
/**
 * Group commit: writes that arrive while the database is busy wait together
 * and are then stored in one transaction.
 *
 * Why: every commit syncs the WAL to disk, and an embedded libSQL database
 * does that on the event loop thread, which stalls every other request for
 * the duration (measured ~1–2 ms per commit here, a third of the cost of
 * storing a batch). When batches queue up — a thousand agents reporting at
 * once, the first round after a control-plane restart, a slow disk — storing
 * the queued ones under one commit lets the control plane catch up instead of
 * falling further behind. Without a queue a group is a single write and
 * nothing changes.
 *
 * Results are handed out only after the commit, so nothing is acknowledged
 * that is not on disk. If a group fails, each of its writes is retried alone
 * in its own transaction, so one bad write fails only itself.
 */
import type { SqlTransaction } from "./prepared.ts";
import type { Db } from "./client.ts";
import { enqueueWrite, rawTransaction } from "./write-queue.ts";

/** Writes closer together than this count as a busy database. */
const BUSY_WITHIN_MS = 20;

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  /** Items stored under one commit at most. */
  maxGroup: number;
  /**
   * Runs whenever a transaction fails, before anything is retried: for state
   * `work` keeps in memory beside the database, which may now be ahead of it.
   */
  onRollback?: () => void;
  /** Runs after each commit with the number of items it stored (for /metrics). */
  onCommit?: (items: number) => void;
}

/**
 * Returns a function that stores one item with `work`, together with
 * whatever else is waiting (at most `maxGroup`).
 */
export function groupCommit<I, O>(
  db: Db,
  work: (tx: SqlTransaction, item: I) => Promise<O>,
  { maxGroup, onRollback = () => {}, onCommit = () => {} }: GroupCommitOptions,
): (item: I) => Promise<O> {
  const pending: Array<Pending<I, O>> = [];
  let drainQueued = false;
  let lastDrainEnd = -Infinity;

  const queueDrain = () => {
    if (drainQueued) return;
    drainQueued = true;
    // Behind every other write on this database (joins, switches), never beside it.
    const start = () => void enqueueWrite(db.$client, drain);
    // A transaction runs without yielding to the event loop, so requests that
    // are already waiting on I/O can only join a group if the drain waits one
    // turn of the loop. Only when writes are frequent: an idle control plane
    // stores a lone batch at once.
    if (performance.now() - lastDrainEnd < BUSY_WITHIN_MS) setTimeout(start, 0);
    else start();
  };

  const drain = async () => {
    drainQueued = false;
    const group = pending.splice(0, maxGroup);
    if (pending.length > 0) queueDrain();
    if (group.length === 0) return;
    let values: O[];
    try {
      values = await rawTransaction(db, async (tx) => {
        const out: O[] = [];
        for (const { item } of group) out.push(await work(tx, item));
        return out;
      });
    } catch (err) {
      onRollback();
      if (group.length === 1) return group[0]!.reject(err);
      for (const p of group) {
        await rawTransaction(db, (tx) => work(tx, p.item)).then((value) => {
          p.resolve(value);
          onCommit(1);
        }, (e) => {
          onRollback();
          p.reject(e);
        });
      }
      return;
    } finally {
      lastDrainEnd = performance.now();
    }
    // Answered once committed, outside the try: nothing after the commit can make it count as rolled back.
    group.forEach((p, i) => p.resolve(values[i]!));
    onCommit(group.length);
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      queueDrain();
    });
}
