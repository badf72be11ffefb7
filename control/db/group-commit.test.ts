// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestDb, type TestDb } from "../test-support.ts";
import { preparedConnectionOf } from "./client.ts";
import { groupCommit } from "./group-commit.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb("file");
  await t.db.$client.execute("CREATE TABLE items (n INTEGER NOT NULL CHECK (n >= 0))");
});
afterEach(() => t.close());

/** Counts transactions by wrapping transaction() of the connection that runs them (prepared.ts on a file database). */
function countTransactions(): { count: number } {
  const counter = { count: 0 };
  const connection = preparedConnectionOf(t.db.$client);
  if (connection === undefined) throw new Error("a file database has a prepared connection");
  const original = connection.transaction.bind(connection);
  connection.transaction = (work) => {
    counter.count++;
    return original(work);
  };
  return counter;
}

const stored = async () =>
  (await t.db.$client.execute("SELECT n FROM items ORDER BY rowid")).rows.map((r) => Number(r.n));

describe("groupCommit", () => {
  it("stores writes that wait together in one transaction, in arrival order, each with its own result", async () => {
    const commits: number[] = [];
    const insert = groupCommit(t.db, async (tx, n: number) => {
      await tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [n] });
      return n * 10;
    }, { maxGroup: 32, onCommit: (n) => commits.push(n) });
    expect(await insert(0)).toBe(0); // a lone write
    const transactions = countTransactions();
    // Right after a write the database counts as busy, so these wait one turn of the loop and go together.
    expect(await Promise.all([1, 2, 3, 4, 5].map(insert))).toEqual([10, 20, 30, 40, 50]);
    expect(transactions.count).toBe(1);
    expect(commits).toEqual([1, 5]);
    expect(await stored()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("never puts more than maxGroup writes in one transaction", async () => {
    const insert = groupCommit(
      t.db,
      (tx, n: number) => tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [n] }),
      { maxGroup: 2 },
    );
    await insert(0);
    const transactions = countTransactions();
    await Promise.all([1, 2, 3, 4, 5].map(insert));
    expect(transactions.count).toBe(3);
    expect(await stored()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("a failing write fails alone: the rest of its group is stored", async () => {
    const insert = groupCommit(
      t.db,
      (tx, n: number) => tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [n] }),
      { maxGroup: 32 },
    );
    await insert(0);
    const results = await Promise.allSettled([1, -1, 2].map(insert));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/CHECK constraint/);
    expect(await stored()).toEqual([0, 1, 2]);
  });

  it("tells its owner about every rollback, before retrying, so memory kept beside the database can be dropped", async () => {
    const events: string[] = [];
    const insert = groupCommit(
      t.db,
      (tx, n: number) => (events.push(`work ${n}`), tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [n] })),
      { maxGroup: 32, onRollback: () => events.push("rollback"), onCommit: (n) => events.push(`commit ${n}`) },
    );
    await insert(0);
    events.length = 0;
    await Promise.allSettled([1, -1].map(insert));
    // The group of both fails and is rolled back; each is retried alone; -1 fails again.
    expect(events).toEqual(["work 1", "work -1", "rollback", "work 1", "commit 1", "work -1", "rollback"]);
  });
});
