// SPDX-License-Identifier: Apache-2.0
/**
 * Waiting for the lb version to move, for the long-poll of
 * GET /api/v1/lb/state. A change made in this process wakes its waiters at
 * once (announceVersion, called after the commit); a change made by another
 * replica is seen by one shared re-read of the version every
 * RECHECK_MS while anyone waits, however many agents do.
 */
import type { Db } from "../db/client.ts";
import { readVersion } from "./version.ts";

/** How often the version is re-read while requests wait (changes by other replicas reach their agents within this). */
export const RECHECK_MS = 1_000;

interface Waiter {
  after: number;
  wake(): void;
  /** Ends the wait as if it had timed out. */
  end(): void;
}

interface Watch {
  waiters: Set<Waiter>;
  timer?: ReturnType<typeof setInterval>;
}

const watches = new WeakMap<object, Watch>();

function watchOf(db: Db): Watch {
  let watch = watches.get(db.$client);
  if (watch === undefined) watches.set(db.$client, watch = { waiters: new Set() });
  return watch;
}

/** Wakes the waiters that wait for a version other than `version`. */
export function announceVersion(db: Db, version: number): void {
  const watch = watches.get(db.$client);
  if (watch === undefined) return;
  for (const waiter of watch.waiters) if (waiter.after !== version) waiter.wake();
}

/** Ends every wait at once (they answer 204): for shutting down without holding agents' requests for their whole wait. */
export function endWaits(db: Db): void {
  const watch = watches.get(db.$client);
  if (watch !== undefined) { for (const waiter of watch.waiters) waiter.end(); }
}

/**
 * Resolves true as soon as the version is not `after` (checked once right
 * away, then on every announcement and re-read), false after `waitMs` or
 * when `signal` aborts (the client went away).
 */
export function waitForChange(db: Db, after: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
  const watch = watchOf(db);
  return new Promise<boolean>((resolve) => {
    const done = (changed: boolean) => {
      if (!watch.waiters.delete(waiter)) return;
      clearTimeout(timeout);
      signal?.removeEventListener("abort", aborted);
      if (watch.waiters.size === 0 && watch.timer !== undefined) {
        clearInterval(watch.timer);
        watch.timer = undefined;
      }
      resolve(changed);
    };
    const waiter: Waiter = { after, wake: () => done(true), end: () => done(false) };
    const aborted = () => done(false);
    const timeout = setTimeout(() => done(false), waitMs);
    watch.waiters.add(waiter);
    signal?.addEventListener("abort", aborted);
    if (signal?.aborted) return done(false);
    watch.timer ??= setInterval(() => void recheck(db), RECHECK_MS);
    // A change committed between the caller's read and this registration was announced to nobody.
    void recheck(db);
  });
}

async function recheck(db: Db): Promise<void> {
  try {
    announceVersion(db, await readVersion(db));
  } catch {
    // A failed read (the database closing, a busy moment) is retried at the next tick; waiters time out meanwhile.
  }
}
