// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dumpTables, openTestDb, type TestDb } from "../test-support.ts";
import { resolveAdminToken } from "./admin-token.ts";
import { sha256Hex } from "./secrets.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
});
afterEach(() => t.close());

describe("resolveAdminToken", () => {
  it("generates a token at the first start, stores only its SHA-256, and never hands it out again", async () => {
    const first = await resolveAdminToken(t.db, undefined, 1_000);
    expect(first.source).toBe("generated");
    if (first.source !== "generated") return;
    expect(first.token).toMatch(/^ek8s_admin_[\w-]{43}$/);
    expect(first.hash).toBe(await sha256Hex(first.token));

    const dump = JSON.stringify(await dumpTables(t.db));
    expect(dump).not.toContain(first.token);
    expect(dump).toContain(first.hash);

    expect(await resolveAdminToken(t.db, undefined, 2_000)).toEqual({ source: "stored", hash: first.hash });
  });

  it("EBPF_K8S_ADMIN_TOKEN wins and is not stored", async () => {
    const before = await dumpTables(t.db);
    expect(await resolveAdminToken(t.db, "my-own-admin-token-123", 1_000)).toEqual({
      source: "env",
      hash: await sha256Hex("my-own-admin-token-123"),
    });
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("two replicas starting at once on a fresh database agree on one token, and only one prints it", async () => {
    const f = await openTestDb("file");
    try {
      const results = await Promise.all([resolveAdminToken(f.db, undefined, 1), resolveAdminToken(f.db, undefined, 1)]);
      expect(results.filter((r) => r.source === "generated")).toHaveLength(1);
      expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    } finally {
      f.close();
    }
  });
});
