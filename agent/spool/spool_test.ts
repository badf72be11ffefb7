// SPDX-License-Identifier: Apache-2.0
/** The spool: order across restarts and boots, the bound kept by merging (and crash-safe merges), atomic files. */
import { type Batch, WIRE_VERSION } from "../../control/wire/batch.ts";
import type { FlowRecord } from "../../control/wire/monitoring.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { Spool } from "./spool.ts";
import { withTempDir } from "../testing/temp.ts";

const BOOT_A = "00000000-0000-4000-8000-00000000000a";
const BOOT_B = "00000000-0000-4000-8000-00000000000b";

const flow = (dst: string, packets: number): FlowRecord => ({
  src: "10.1.0.2",
  dst,
  port: 80,
  proto: 6,
  toServer: true,
  obs: "tx",
  packets,
  bytes: packets * 100,
  tcpFlags: 16,
});

/** Cumulative interface counters (rx = seq × 10) and, per seq, flows to three peers of seq, 2·seq and 1 packets. */
function batch(bootId: string, seq: number, rx = seq * 10): Batch {
  return {
    v: WIRE_VERSION,
    node: "n1",
    bootId,
    seq,
    ts: 1_700_000_000_000 + seq,
    interval: 1,
    interfaces: [{ ifname: "ek8s0", ifindex: 2, rxPackets: rx, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 }],
    flows: [flow("10.1.0.3", seq), flow("10.1.0.4", 2 * seq), flow("10.1.0.5", 1)],
  };
}

const withDir = (fn: (dir: string) => void) => withTempDir("ek8s-spool-", (d) => fn(`${d}/spool`));

/** a7: batch 7 of boot A; a1-5: batches 1 to 5 of boot A merged. */
const seqsOf = (s: Spool) =>
  s.entries().map((e) => `${e.bootId.at(-1)}${e.firstSeq === e.seq ? e.seq : `${e.firstSeq}-${e.seq}`}`);
const batchesOf = (s: Spool) => s.entries().map((e) => JSON.parse(Deno.readTextFileSync(e.file)) as Batch);
/** Flow packets per peer over every spooled batch. */
function flowTotals(s: Spool): Record<string, number> {
  const t: Record<string, number> = {};
  for (const b of batchesOf(s)) for (const f of b.flows ?? []) t[f.dst] = (t[f.dst] ?? 0) + f.packets;
  return t;
}
const filesIn = (dir: string) => [...Deno.readDirSync(dir)].map((f) => f.name).sort();

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

Deno.test("spool: full, it merges the oldest batches: every delta summed, the newest totals, files bounded, nothing dropped", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = Spool.open(dir, 4, (w) => warnings.push(w));
    const N = 100;
    for (let seq = 0; seq < N; seq++) {
      s.add(batch(BOOT_A, seq));
      assert(filesIn(dir).length <= 4, `at most 4 files after batch ${seq}`);
    }
    // the oldest three became one, carrying the seq of the newest it absorbed; the newest stay as they were
    assertEquals(seqsOf(s), ["a0-96", "a97", "a98", "a99"]);
    assertEquals([s.pending, s.merged, s.dropped], [4, N - 4, 0]);
    const sum = (f: (seq: number) => number) => Array.from({ length: N }, (_, i) => f(i)).reduce((a, b) => a + b);
    assertEquals(flowTotals(s), { "10.1.0.3": sum((i) => i), "10.1.0.4": sum((i) => 2 * i), "10.1.0.5": N });
    const merged = batchesOf(s)[0];
    assertEquals([merged.seq, merged.ts, merged.interfaces[0].rxPackets], [96, batch(BOOT_A, 96).ts, 960]);
    assertEquals(merged.flows!.length, 3, "one record per key");
    assertEquals(warnings, ["spool: full (4 batches): merging the oldest, their counts summed; nothing is lost"]);
    // a reopen with a lower limit merges down the same way
    const totals = flowTotals(s);
    const small = Spool.open(dir, 3);
    assertEquals(seqsOf(small), ["a0-96", "a97-98", "a99"]);
    assertEquals(flowTotals(small), totals);
    assertEquals(filesIn(dir).length, 3, "merged sources are removed");
  }));

Deno.test("spool: a batch read for sending is never merged (the control plane may have stored it); nor the oldest after a restart", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 3);
    for (let seq = 0; seq < 3; seq++) s.add(batch(BOOT_A, seq));
    s.read(s.oldest()!); // sent, no answer yet
    s.add(batch(BOOT_A, 3));
    s.add(batch(BOOT_A, 4));
    assertEquals(seqsOf(s), ["a0", "a1-3", "a4"]);
    // a new process cannot know whether its predecessor was sending a0: it stays apart too
    const again = Spool.open(dir, 3);
    again.add(batch(BOOT_A, 5));
    assertEquals(seqsOf(again), ["a0", "a1-4", "a5"]);
    again.remove(again.oldest()!); // acknowledged
    again.add(batch(BOOT_A, 6));
    assertEquals(seqsOf(again), ["a1-4", "a5", "a6"], "room was made by the ack");
    again.add(batch(BOOT_A, 7));
    assertEquals(seqsOf(again), ["a1-5", "a6", "a7"]);
  }));

Deno.test("spool: a crash between writing a merged batch and removing its sources neither loses nor doubles a delta", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 3);
    for (let seq = 0; seq < 3; seq++) s.add(batch(BOOT_A, seq));
    const sources = s.entries().slice(0, 2).map((e) => ({ file: e.file, text: Deno.readTextFileSync(e.file) }));
    s.add(batch(BOOT_A, 3)); // merges a0 and a1
    assertEquals(seqsOf(s), ["a0-1", "a2", "a3"]);
    const expected = flowTotals(s);
    // the crash: the merged file is in place, the sources still there (or one of them)
    for (const { file, text } of sources) Deno.writeTextFileSync(file, text);
    assertEquals(filesIn(dir).length, 5);
    const again = Spool.open(dir, 3);
    assertEquals(seqsOf(again), ["a0-1", "a2", "a3"]);
    assertEquals(flowTotals(again), expected);
    assertEquals(filesIn(dir).length, 3, "the sources are gone");
    Deno.writeTextFileSync(sources[1].file, sources[1].text);
    assertEquals(seqsOf(Spool.open(dir, 3)), ["a0-1", "a2", "a3"]);
    // a crash before the merged file was renamed into place: the sources stand, the torn file goes
    const merged = again.entries()[0].file;
    Deno.renameSync(merged, `${merged}.tmp`);
    for (const { file, text } of sources) Deno.writeTextFileSync(file, text);
    const torn = Spool.open(dir, 3);
    // four batches for three places: merged again, the oldest (maybe being sent before the crash) apart
    assertEquals(seqsOf(torn), ["a0", "a1-2", "a3"]);
    assertEquals(flowTotals(torn), expected);
  }));

Deno.test("spool: never merged across boots; when a merge does not fit, the next batches start another merged one", () =>
  withDir((dir) => {
    const s = Spool.open(dir, 3);
    s.add(batch(BOOT_A, 0));
    s.add(batch(BOOT_A, 1));
    s.add(batch(BOOT_B, 0));
    s.add(batch(BOOT_B, 1)); // a0 and a1 merge, not a1 and b0
    assertEquals(seqsOf(s), ["a0-1", "b0", "b1"]);
    s.add(batch(BOOT_B, 2));
    assertEquals(seqsOf(s), ["a0-1", "b0-1", "b2"]);
    // batches whose records together are over the wire's cap stay apart: the merge goes on in the next pair
    const big = (seq: number, from: number) => ({
      ...batch(BOOT_B, seq),
      flows: Array.from({ length: 3000 }, (_, i) => flow(`10.2.${(from + i) >> 8}.${(from + i) & 255}`, 1)),
    });
    const t = Spool.open(`${dir}2`, 3);
    t.add(big(0, 0));
    t.add(big(1, 3000));
    t.add(big(2, 3000));
    t.add(big(3, 0)); // b0 + b1: 6,000 records, over the cap of 5,000: b1 + b2 instead
    assertEquals(seqsOf(t), ["b0", "b1-2", "b3"]);
    t.add(big(4, 0)); // b1-2 + b3 does not fit either: b3 + b4 start a second merged batch
    assertEquals(seqsOf(t), ["b0", "b1-2", "b3-4"]);
    assertEquals([t.merged, t.dropped], [2, 0]);
  }));

Deno.test("spool: only when no two batches can be merged does the oldest go, counted and with a warning", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = Spool.open(dir, 1, (w) => warnings.push(w));
    s.add(batch(BOOT_A, 4));
    s.add(batch(BOOT_B, 0));
    assertEquals([seqsOf(s), s.dropped, s.merged], [["b0"], 1, 0]);
    assertEquals(warnings.length, 1);
    assert(warnings[0].includes("what it counted is lost"), warnings[0]);
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
    assertEquals(filesIn(dir), [`000000000000-${BOOT_A}-1.json`, "README"]);
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
