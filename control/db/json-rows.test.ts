// SPDX-License-Identifier: Apache-2.0
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestDb, type TestDb } from "../test-support.ts";
import { insertJsonRows, jsonRows } from "./json-rows.ts";
import { interfaces, nodes } from "./schema.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
  await t.db.insert(nodes).values({ name: "n1", bootId: "b", lastSeq: 0, lastTs: 1, firstSeen: 1, lastSeen: 1 });
});
afterEach(() => t.close());

const KEYS = ["ifname", "ifindex", "rxPackets", "rxBytes", "txPackets", "txBytes", "drops", "rxBytesPerSec"] as const;
const shared = { node: "n1", ts: 5, updatedAt: 6 };
const read = () => t.db.select().from(interfaces).where(eq(interfaces.node, "n1")).orderBy(interfaces.ifname);
const run = (statement: ReturnType<typeof insertJsonRows>) => t.db.$client.execute(statement);

describe("insertJsonRows", () => {
  it("stores every value exactly as given: texts that look like numbers, 2^53 - 1, fractions, null, any Unicode", async () => {
    const rows = jsonRows(KEYS, [
      ["123", 1, Number.MAX_SAFE_INTEGER, 0, 1, 2, 3, 0.1],
      ["vé🙂\"'\\", 2, 0, 0, 0, 0, 0, null],
    ]);
    await run(insertJsonRows(interfaces, { rows, shared }));
    expect(await read()).toEqual([
      expect.objectContaining({
        ifname: "123",
        ifindex: 1,
        rxPackets: Number.MAX_SAFE_INTEGER,
        rxBytesPerSec: 0.1,
        ts: 5,
        updatedAt: 6,
      }),
      expect.objectContaining({ ifname: "vé🙂\"'\\", ifindex: 2, rxBytesPerSec: null, txPacketsPerSec: null }),
    ]);
  });

  it("keeps texts that are themselves JSON, and negative and large numbers, as they were given", async () => {
    const rows = jsonRows(KEYS, [
      ['{"app":"web","n":[1,2]}', -1, 2 ** 52 + 1, -(2 ** 40), 0, 0, 0, -0.25],
      ["[1,2]", 3, 1, 1, 1, 1, 1, 1e-7],
      ["null", 4, 1, 1, 1, 1, 1, 12345.678],
    ]);
    await run(insertJsonRows(interfaces, { rows, shared }));
    expect((await read()).map((r) => [r.ifname, r.ifindex, r.rxPackets, r.rxBytes, r.rxBytesPerSec])).toEqual([
      ["[1,2]", 3, 1, 1, 1e-7],
      ["null", 4, 1, 1, 12345.678],
      ['{"app":"web","n":[1,2]}', -1, 2 ** 52 + 1, -(2 ** 40), -0.25],
    ]);
  });

  it("upserts: an existing key gets every other column from the new row", async () => {
    const upsertOn = ["node", "ifname"] as const;
    await run(insertJsonRows(interfaces, { rows: jsonRows(KEYS, [["eth0", 1, 1, 1, 1, 1, 1, 1]]), shared, upsertOn }));
    await run(
      insertJsonRows(interfaces, {
        rows: jsonRows(KEYS, [["eth0", 2, 9, 9, 9, 9, 9, null], ["eth1", 3, 0, 0, 0, 0, 0, null]]),
        shared: { ...shared, ts: 7 },
        upsertOn,
      }),
    );
    expect((await read()).map((r) => [r.ifname, r.ifindex, r.rxPackets, r.rxBytesPerSec, r.ts])).toEqual([
      ["eth0", 2, 9, null, 7],
      ["eth1", 3, 0, null, 7],
    ]);
  });

  it("inserts nothing for no rows", async () => {
    await run(insertJsonRows(interfaces, { rows: jsonRows(KEYS, []), shared }));
    expect(await read()).toEqual([]);
  });
});
