// SPDX-License-Identifier: Apache-2.0
/** The quarantine of refused batches: moved (never copied, never lost), with the reason, bounded, kept across restarts. */
import { assertEquals } from "../testing/assert.ts";
import { withTempDir } from "../testing/temp.ts";
import { Quarantine } from "./quarantine.ts";

const spoolFile = (dir: string, index: number) => {
  const file = `${dir}/spool/${String(index).padStart(12, "0")}-00000000-0000-4000-8000-00000000000a-${index}.json`;
  Deno.writeTextFileSync(file, JSON.stringify({ seq: index }));
  return file;
};
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("quarantine: a refused batch moves out of the spool with its reason, and reopens in order", () =>
  withTempDir("ek8s-quarantine-", (dir) => {
    Deno.mkdirSync(`${dir}/spool`);
    const q = Quarantine.open(`${dir}/quarantine`, 10, () => {});
    const a = spoolFile(dir, 3), b = spoolFile(dir, 7);
    q.admit(b, { status: 400, message: "invalid batch" }, Date.UTC(2026, 0, 1));
    q.admit(a, { status: 413, message: "too large" });
    assertEquals(names(`${dir}/spool`), [], "moved, not copied");
    const name = a.slice(a.lastIndexOf("/") + 1);
    assertEquals(JSON.parse(Deno.readTextFileSync(`${dir}/quarantine/${name}`)), { seq: 3 });
    const reason = JSON.parse(
      Deno.readTextFileSync(`${dir}/quarantine/${b.slice(b.lastIndexOf("/") + 1)}.reason.json`),
    );
    assertEquals(reason, { status: 400, message: "invalid batch", at: "2026-01-01T00:00:00.000Z" });

    const again = Quarantine.open(`${dir}/quarantine`, 10, () => {});
    assertEquals(again.entries().map((e) => JSON.parse(again.read(e)!).seq), [3, 7], "oldest first");
    again.remove(again.entries()[0]);
    assertEquals(names(`${dir}/quarantine`).length, 2, "the batch and its reason both gone");
    assertEquals(again.count, 1);
  }));

Deno.test("quarantine: bounded; when full the oldest is dropped, counted and said", () =>
  withTempDir("ek8s-quarantine-", (dir) => {
    Deno.mkdirSync(`${dir}/spool`);
    const said: string[] = [];
    const q = Quarantine.open(`${dir}/quarantine`, 2, (m) => said.push(m));
    for (const i of [1, 2, 3]) q.admit(spoolFile(dir, i), { status: 400, message: "x" });
    assertEquals([q.count, q.dropped, said.length], [2, 1, 1]);
    assertEquals(q.entries().map((e) => JSON.parse(q.read(e)!).seq), [2, 3]);
    assertEquals(names(`${dir}/quarantine`).length, 4);
  }));
