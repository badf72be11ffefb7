/** The spool: order across restarts and boots, the bound and which batch it drops, atomic files. */
import type { Batch } from "../../control/wire/batch.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { Spool } from "./spool.ts";
import { withTempDir } from "../testing/temp.ts";

const BOOT_A = "00000000-0000-4000-8000-00000000000a";
const BOOT_B = "00000000-0000-4000-8000-00000000000b";

function batch(bootId: string, seq: number, rx = seq * 10): Batch {
  return {
    v: 1,
    node: "n1",
    bootId,
    seq,
    ts: 1_700_000_000_000 + seq,
    interval: 1,
    interfaces: [{ ifname: "ek8s0", ifindex: 2, rxPackets: rx, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 }],
  };
}

const withDir = (fn: (dir: string) => void) => withTempDir("ek8s-spool-", (d) => fn(`${d}/spool`));

const seqsOf = (s: Spool) => s.entries().map((e) => `${e.bootId.at(-1)}${e.seq}`);

Deno.test("spool: oldest first, across boots and across a reopen; content is the batch; removal on ack", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 10);
    s.add(batch(BOOT_A, 7));
    s.add(batch(BOOT_A, 8));
    s.add(batch(BOOT_B, 0)); // a new boot after a restart: still after A's
    assertEquals(seqsOf(s), ["a7", "a8", "b0"]);
    assertEquals(JSON.parse(s.read(s.oldest()!)!), batch(BOOT_A, 7));
    assertEquals([s.maxSeq(BOOT_A), s.maxSeq(BOOT_B), s.maxSeq("none")], [8, 0, -1]);

    const again = Spool.open(dir, 10);
    assertEquals(seqsOf(again), ["a7", "a8", "b0"]);
    again.remove(again.oldest()!);
    again.remove(again.entries()[0]);
    assertEquals(seqsOf(again), ["b0"]);
    again.add(batch(BOOT_B, 1));
    assertEquals(seqsOf(Spool.open(dir, 10)), ["b0", "b1"]);
    assertEquals([...Deno.readDirSync(dir)].length, 2);
  }));

Deno.test("spool: bounded; when full the oldest batch superseded by a newer one of its boot is dropped and counted", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = Spool.open(dir, 3, (w) => warnings.push(w));
    s.add(batch(BOOT_A, 0));
    s.add(batch(BOOT_A, 1));
    s.add(batch(BOOT_A, 2));
    s.add(batch(BOOT_A, 3)); // drops a0: a3 carries the same totals and more
    assertEquals([seqsOf(s), s.pending, s.dropped], [["a1", "a2", "a3"], 3, 1]);
    s.add(batch(BOOT_B, 0)); // drops a1, not a3 (the last of boot A: its final totals)
    s.add(batch(BOOT_B, 1)); // drops a2
    assertEquals([seqsOf(s), s.dropped], [["a3", "b0", "b1"], 3]);
    s.add(batch(BOOT_B, 2)); // a3 stays: b0 is superseded
    assertEquals(seqsOf(s), ["a3", "b1", "b2"]);
    assertEquals(warnings, []);
    // a lowered bound at the next start drops the surplus the same way
    const small = Spool.open(dir, 2, (w) => warnings.push(w));
    assertEquals([seqsOf(small), small.dropped], [["a3", "b2"], 1]);
    assertEquals([...Deno.readDirSync(dir)].length, 2, "dropped files are removed");
  }));

Deno.test("spool: only when every batch is the last of its boot does the very oldest go, with a warning", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = Spool.open(dir, 1, (w) => warnings.push(w));
    s.add(batch(BOOT_A, 4));
    s.add(batch(BOOT_B, 0));
    assertEquals([seqsOf(s), s.dropped], [["b0"], 1]);
    assertEquals(warnings.length, 1);
    assert(warnings[0].includes("its final totals are lost"), warnings[0]);
  }));

Deno.test("spool: a torn write (a .tmp file) is ignored and removed; foreign files are left alone; a read of a dropped entry is null", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 10);
    const e = s.add(batch(BOOT_A, 1));
    Deno.writeTextFileSync(`${dir}/000000000001-${BOOT_A}-2.json.tmp`, '{"v":1,"node":"n1","boo'); // killed mid-write
    Deno.writeTextFileSync(`${dir}/README`, "not a batch");
    const warnings: string[] = [];
    const again = Spool.open(dir, 10, (w) => warnings.push(w));
    assertEquals(seqsOf(again), ["a1"]);
    assertEquals([...Deno.readDirSync(dir)].map((f) => f.name).sort(), [`000000000000-${BOOT_A}-1.json`, "README"]);
    assertEquals(warnings.length, 1);
    // the next file index follows the newest batch, not the torn one
    assertEquals(again.add(batch(BOOT_A, 2)).index, 1);
    s.remove(e);
    assertEquals(s.read(e), null);
    s.remove(e); // harmless
  }));

Deno.test("spool: files are written whole (atomically) and readable by the next process", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 10);
    const e = s.add(batch(BOOT_A, 42, 123456));
    assertEquals(JSON.parse(Deno.readTextFileSync(e.file)).interfaces[0].rxPackets, 123456);
    assertEquals([...Deno.readDirSync(dir)].filter((f) => f.name.endsWith(".tmp")), []);
    assertEquals(Deno.statSync(e.file).mode! & 0o777, 0o600);
  }));
