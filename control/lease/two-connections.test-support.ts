// SPDX-License-Identifier: Apache-2.0
/**
 * Two connections to one libSQL file, as two replicas (processes) would
 * have, fresh for each test of the calling file, with a clock the test moves.
 */
import { afterEach, beforeEach } from "vitest";
import { type Db, openDb } from "../db/client.ts";
import { openTestDb, T0, type TestDb } from "../test-support.ts";

export interface TwoConnections {
  /** The first connection (and the file's owner: closing it removes the file). */
  file: TestDb;
  other: Db;
  /** Another connection to the same file; the caller closes it. */
  open(): Promise<Db>;
  clock: { now: number };
  now: () => number;
}

export function useTwoConnections(): TwoConnections {
  const ctx = { clock: { now: T0 } } as TwoConnections;
  ctx.now = () => ctx.clock.now;
  beforeEach(async () => {
    ctx.file = await openTestDb("file");
    const path = String((await ctx.file.db.$client.execute("PRAGMA database_list")).rows[0]!.file);
    ctx.open = () => openDb(`file:${path}`);
    ctx.other = await ctx.open();
    ctx.clock.now = T0;
  });
  afterEach(() => {
    ctx.other.$client.close();
    ctx.file.close();
  });
  return ctx;
}
