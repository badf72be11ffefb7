// SPDX-License-Identifier: Apache-2.0
/**
 * The on-disk spool of batches not yet acknowledged by the control plane.
 *
 * Every batch is written here before it is sent (one file per batch,
 * atomically: files.ts) and removed once acknowledged, so neither a control
 * plane outage nor an agent crash loses one. Files are named
 *   <12-digit spool index>-<bootId>-<seq>.json             one batch
 *   <12-digit spool index>-<bootId>-<firstSeq>-<seq>.json  batches firstSeq..seq merged
 * the index increasing with every batch spooled, so they are sent strictly in
 * the order they were made, across boots, oldest first.
 *
 * Bounded (maxBatches): when a new batch makes one too many, the oldest two
 * neighbouring batches that can be merged (merge.ts: same boot and lb state
 * version, and the result within the wire's limits) become one, which
 * carries the newer one's seq. Deltas are summed, so an outage of any length
 * loses nothing; the files stay at most maxBatches (one more while adding)
 * and each is bounded by its distinct record keys. Once a merge did not fit,
 * the older batch is not offered another (it is full): the merging goes on
 * with the batches after it, into a second merged batch.
 *
 * Never merged: a batch that was read for sending (the control plane may
 * have stored it without the acknowledgement arriving; merged into a newer
 * seq it would be counted twice), and after a restart the oldest batch (the
 * previous process may have been sending it). Delivery sends one batch at a
 * time, oldest first, so that is a single batch at the head.
 *
 * Crash safety of a merge: the merged file is written (atomically) before
 * its sources are removed, and its name says which seqs of its boot it
 * covers; open() removes any file whose seqs a bigger file of its boot
 * covers (those are sources of a merge that was interrupted). So a crash
 * at any step neither loses nor doubles a delta.
 *
 * Only when no two batches can be merged (every neighbour of another boot or
 * lb state version, or too big) is the oldest batch dropped, counted and
 * warned about. Memory is bounded too: the index keeps names only, at most
 * maxBatches, and a merge holds two batches. Methods are synchronous so that
 * no other task can interleave with one.
 */
import type { Batch } from "../../control/wire/batch.ts";
import { removeIfExists, syncDir, TMP_SUFFIX, writeFileAtomic } from "../state/files.ts";
import { mergeWithinLimits } from "./merge.ts";

export interface SpoolEntry {
  index: number;
  bootId: string;
  /** The seqs of its boot the batch covers: firstSeq..seq (firstSeq < seq once merged). */
  firstSeq: number;
  seq: number;
  file: string;
}

const NAME = /^(\d{12})-([0-9a-f-]{36})-(\d+)(?:-(\d+))?\.json$/;

function fileName(dir: string, e: Omit<SpoolEntry, "file">): string {
  const seqs = e.firstSeq === e.seq ? `${e.seq}` : `${e.firstSeq}-${e.seq}`;
  return `${dir}/${String(e.index).padStart(12, "0")}-${e.bootId}-${seqs}.json`;
}

/** `a` covers `b`: same boot, a bigger range of seqs that includes b's. */
const covers = (a: SpoolEntry, b: SpoolEntry) =>
  a !== b && a.bootId === b.bootId && a.firstSeq <= b.firstSeq && b.seq <= a.seq &&
  a.seq - a.firstSeq > b.seq - b.firstSeq;

export class Spool {
  readonly #entries: SpoolEntry[] = [];
  /** Read for sending: possibly stored by the control plane already, so never merged. */
  readonly #sent = new Set<SpoolEntry>();
  /** A merge with its newer neighbour did not fit (or was not allowed): not tried again. */
  readonly #full = new Set<SpoolEntry>();
  #nextIndex = 0;
  #dropped = 0;
  #merged = 0;
  /** Said that the spool is full and merging; said again after it was emptied. */
  #saidMerging = false;

  private constructor(
    readonly dir: string,
    readonly maxBatches: number,
    private readonly warn: (msg: string) => void,
  ) {}

  /**
   * Opens (creates) the spool directory: files of interrupted writes and the
   * sources of an interrupted merge are removed, the rest indexed in order.
   * If more than maxBatches are found (the limit was lowered), they are
   * merged down as if spooled now.
   */
  static open(dir: string, maxBatches: number, warn: (msg: string) => void = () => {}): Spool {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const s = new Spool(dir, maxBatches, warn);
    const found: SpoolEntry[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(TMP_SUFFIX)) {
        removeIfExists(`${dir}/${e.name}`); // torn: never renamed into place
        continue;
      }
      const m = NAME.exec(e.name);
      if (!m) {
        warn(`spool: ignoring ${dir}/${e.name} (not a spooled batch)`);
        continue;
      }
      const seq = Number(m[4] ?? m[3]);
      found.push({ index: Number(m[1]), bootId: m[2], firstSeq: Number(m[3]), seq, file: `${dir}/${e.name}` });
    }
    for (const e of found) {
      if (found.some((m) => covers(m, e))) removeIfExists(e.file); // merged already, the merge was interrupted
      else s.#entries.push(e);
    }
    syncDir(dir);
    s.#entries.sort((a, b) => a.index - b.index);
    s.#nextIndex = (s.#entries.at(-1)?.index ?? -1) + 1;
    // The previous process may have been sending it when it stopped.
    if (s.#entries.length) s.#sent.add(s.#entries[0]);
    while (s.#entries.length > maxBatches) s.#makeRoom();
    return s;
  }

  /** Batches waiting to be acknowledged. */
  get pending(): number {
    return this.#entries.length;
  }

  /** Batches lost because the spool was full and none could be merged, since this agent started. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Batches merged into a neighbour because the spool was full, since this agent started. */
  get merged(): number {
    return this.#merged;
  }

  /**
   * Writes a batch (durably) as the newest entry, then makes room if that
   * was one too many (so the new batch can be merged into its predecessor).
   */
  add(batch: Batch): SpoolEntry {
    const at = { index: this.#nextIndex++, bootId: batch.bootId, firstSeq: batch.seq, seq: batch.seq };
    const entry = { ...at, file: fileName(this.dir, at) };
    writeFileAtomic(entry.file, JSON.stringify(batch));
    this.#entries.push(entry);
    while (this.#entries.length > this.maxBatches) this.#makeRoom();
    return entry;
  }

  /** The batch to send next. */
  oldest(): SpoolEntry | undefined {
    return this.#entries[0];
  }

  /** Every pending entry, oldest first. */
  entries(): readonly SpoolEntry[] {
    return this.#entries;
  }

  /**
   * The batch's JSON text, or null if it was merged or dropped meanwhile.
   * Reading is for sending: from now on the entry is never merged.
   */
  read(entry: SpoolEntry): string | null {
    if (!this.#entries.includes(entry)) return null;
    this.#sent.add(entry);
    try {
      return Deno.readTextFileSync(entry.file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      this.warn(`spool: ${entry.file} vanished`);
      this.#forget(entry);
      return null;
    }
  }

  /** Removes an acknowledged (or refused) batch; harmless if already gone. */
  remove(entry: SpoolEntry): void {
    if (!this.#forget(entry)) return;
    removeIfExists(entry.file);
    syncDir(this.dir);
    if (this.#entries.length === 0) this.#saidMerging = false;
  }

  /** Highest spooled seq of a boot, or -1. */
  maxSeq(bootId: string): number {
    let max = -1;
    for (const e of this.#entries) if (e.bootId === bootId && e.seq > max) max = e.seq;
    return max;
  }

  /** Frees one place: merges the oldest pair that can be, else drops the oldest batch. */
  #makeRoom(): void {
    for (let i = 0; i + 1 < this.#entries.length; i++) {
      const [a, b] = [this.#entries[i], this.#entries[i + 1]];
      if (a.bootId !== b.bootId || this.#full.has(a) || this.#sent.has(a) || this.#sent.has(b)) continue;
      if (this.#merge(i)) return;
      this.#full.add(a);
    }
    const victim = this.#entries[0];
    this.warn(
      `spool: full, and no two spooled batches can be merged (other boots or lb state versions, or too big together): ` +
        `dropping batch ${victim.seq} of boot ${victim.bootId}; what it counted is lost`,
    );
    this.remove(victim);
    this.#dropped++;
  }

  /** Merges entries i and i+1 into one file; false if they cannot be. */
  #merge(i: number): boolean {
    const [a, b] = [this.#entries[i], this.#entries[i + 1]];
    const older = this.#parse(a);
    const newer = older && this.#parse(b);
    const text = newer ? mergeWithinLimits(older!, newer) : null;
    if (text === null) return false;
    const at = { index: b.index, bootId: b.bootId, firstSeq: a.firstSeq, seq: b.seq };
    const merged = { ...at, file: fileName(this.dir, at) };
    writeFileAtomic(merged.file, text);
    // From here the merged file stands for both; a crash before the removals is finished by open().
    this.#entries.splice(i, 2, merged);
    this.#full.delete(a);
    this.#full.delete(b);
    removeIfExists(a.file);
    removeIfExists(b.file);
    syncDir(this.dir);
    this.#merged++;
    if (!this.#saidMerging) {
      this.#saidMerging = true;
      this.warn(`spool: full (${this.maxBatches} batches): merging the oldest, their counts summed; nothing is lost`);
    }
    return true;
  }

  #parse(entry: SpoolEntry): Batch | null {
    try {
      return JSON.parse(Deno.readTextFileSync(entry.file)) as Batch;
    } catch (e) {
      this.warn(`spool: cannot read ${entry.file} to merge it: ${(e as Error).message}`);
      return null;
    }
  }

  #forget(entry: SpoolEntry): boolean {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    this.#sent.delete(entry);
    this.#full.delete(entry);
    return true;
  }
}
