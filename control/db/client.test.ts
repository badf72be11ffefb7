import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localFilePath, openDb } from "./client.ts";
import { nodes } from "./schema.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("openDb", () => {
  it("creates the file's directory, applies migrations once, and keeps data across opens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-db-"));
    dirs.push(dir);
    const url = `file:${join(dir, "nested", "control.db")}`;

    const first = await openDb(url);
    expect(existsSync(join(dir, "nested", "control.db"))).toBe(true);
    await first.insert(nodes).values({ name: "n1", bootId: "b", lastSeq: 0, lastTs: 1, firstSeen: 1, lastSeen: 1 });
    first.$client.close();

    const second = await openDb(url);
    expect(await second.select({ name: nodes.name }).from(nodes)).toEqual([{ name: "n1" }]);
    const applied = await second.$client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    expect(applied.rows[0]!.n).toBe(1);
    const mode = await second.$client.execute("PRAGMA journal_mode");
    expect(mode.rows[0]!.journal_mode).toBe("wal");
    second.$client.close();
  });

  it("works in memory", async () => {
    const db = await openDb(":memory:");
    expect(await db.select().from(nodes)).toEqual([]);
    db.$client.close();
  });
});

describe("localFilePath", () => {
  it.each([
    ["file:./data/ebpf-k8s.db", "./data/ebpf-k8s.db"],
    ["file:/var/lib/x.db", "/var/lib/x.db"],
    ["file:///var/lib/x.db", "/var/lib/x.db"],
    ["file:x.db?mode=rwc", "x.db"],
    [":memory:", undefined],
    ["file::memory:", undefined],
    ["libsql://db.example.com", undefined],
  ])("%s → %s", (url, path) => {
    expect(localFilePath(url)).toBe(path);
  });
});
