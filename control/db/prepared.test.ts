// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestDb, type TestDb } from "../test-support.ts";
import { preparedConnectionOf } from "./client.ts";
import { rawWriteTransaction } from "./write-queue.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb("file");
  await t.db.$client.execute("CREATE TABLE items (n INTEGER NOT NULL CHECK (n >= 0), label TEXT)");
});
afterEach(() => t.close());

const stored = async () =>
  (await t.db.$client.execute("SELECT n, label FROM items ORDER BY rowid")).rows.map((r) => [Number(r.n), r.label]);

describe("write transactions on the prepared connection (file databases)", () => {
  it("is what a file database's raw transactions run on; an in-memory one has none", async () => {
    expect(preparedConnectionOf(t.db.$client)).toBeDefined();
    const memory = await openTestDb("memory");
    try {
      expect(preparedConnectionOf(memory.db.$client)).toBeUndefined();
    } finally {
      memory.close();
    }
  });

  it("answers rows by column name and rowsAffected, as the client does; the client's connections see the commit", async () => {
    const out = await rawWriteTransaction(t.db, async (tx) => {
      const inserted = await tx.execute({
        sql: "INSERT INTO items (n, label) VALUES (?, ?), (?, ?)",
        args: [1, "a", 2, null],
      });
      const updated = await tx.execute({ sql: "UPDATE items SET label = ? WHERE n >= ?", args: ["b", 1] });
      const rows = (await tx.execute({ sql: "SELECT n, label FROM items ORDER BY n", args: [] })).rows;
      return { inserted: inserted.rowsAffected, updated: updated.rowsAffected, rows: rows.map((r) => [r.n, r.label]) };
    });
    expect(out).toEqual({ inserted: 2, updated: 2, rows: [[1, "b"], [2, "b"]] });
    expect(await stored()).toEqual([[1, "b"], [2, "b"]]);
  });

  it("binds booleans as 0/1 and refuses undefined (a mistake, not NULL)", async () => {
    await rawWriteTransaction(t.db, (tx) => tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [true] }));
    await expect(
      rawWriteTransaction(t.db, (tx) => tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [undefined!] })),
    ).rejects.toThrow(/undefined is not a valid SQL value/);
    expect(await stored()).toEqual([[1, null]]);
  });

  it("rolls everything back when the work throws: nothing half-written, and the next transaction works", async () => {
    await expect(rawWriteTransaction(t.db, async (tx) => {
      await tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [5] });
      await tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [-1] }); // CHECK fails
    })).rejects.toThrow(/CHECK constraint/);
    expect(await stored()).toEqual([]);
    await rawWriteTransaction(t.db, (tx) => tx.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [6] }));
    expect(await stored()).toEqual([[6, null]]);
  });

  it("refuses a statement on a transaction that is over", async () => {
    let kept: Parameters<Parameters<typeof rawWriteTransaction>[1]>[0] | undefined;
    await rawWriteTransaction(t.db, (tx) => (kept = tx, Promise.resolve()));
    await expect(kept!.execute({ sql: "INSERT INTO items (n) VALUES (?)", args: [1] })).rejects.toThrow(/closed/);
    expect(await stored()).toEqual([]);
  });

  it("keeps working past its cap of prepared statements (thousands of distinct texts)", async () => {
    await rawWriteTransaction(t.db, async (tx) => {
      for (let i = 0; i < 2000; i++) {
        await tx.execute({ sql: `INSERT INTO items (n, label) VALUES (?, 'x${i}')`, args: [i] });
      }
    });
    const count = await t.db.$client.execute("SELECT count(*) AS c, sum(n) AS s FROM items");
    expect([Number(count.rows[0]!.c), Number(count.rows[0]!.s)]).toEqual([2000, (1999 * 2000) / 2]);
  });

  it("is closed with the client", async () => {
    const other = await openTestDb("file");
    const connection = preparedConnectionOf(other.db.$client)!;
    other.close();
    expect(preparedConnectionOf(other.db.$client)).toBeUndefined();
    await expect(connection.transaction(() => Promise.resolve())).rejects.toThrow();
  });
});
