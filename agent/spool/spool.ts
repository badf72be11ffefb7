/**
 * The on-disk spool of batches not yet acknowledged by the control plane.
 *
 * Every batch is written here before it is sent (one file per batch,
 * atomically: files.ts) and removed once acknowledged, so neither a control
 * plane outage nor an agent crash loses one. Files are named
 *   <12-digit spool index>-<bootId>-<seq>.json
 * the index increasing with every batch spooled, so they are sent strictly in
 * the order they were made, across boots, oldest first.
 *
 * Bounded (maxBatches): when full, the oldest batch is dropped and counted.
 * Nothing is lost by that as long as a newer batch of the same boot is still
 * spooled: counters are cumulative per (node, bootId), so the newest batch of
 * a boot carries the exact totals and the dropped one only its intermediate
 * point. So the oldest batch that has a newer one of its boot is dropped
 * first; only when every spooled batch is the last of its boot does the very
 * oldest go (and with it that boot's final totals).
 *
 * Memory is bounded too: the index keeps names only, at most maxBatches.
 * Methods are synchronous so that no other task can interleave with one.
 */
import type { Batch } from "../../control/wire/batch.ts";
import { removeIfExists, syncDir, TMP_SUFFIX, writeFileAtomic } from "../state/files.ts";

export interface SpoolEntry {
  index: number;
  bootId: string;
  seq: number;
  file: string;
}

const NAME = /^(\d{12})-([0-9a-f-]{36})-(\d+)\.json$/;

export class Spool {
  readonly #entries: SpoolEntry[] = [];
  #nextIndex = 0;
  #dropped = 0;

  private constructor(
    readonly dir: string,
    readonly maxBatches: number,
    private readonly warn: (msg: string) => void,
  ) {}

  /**
   * Opens (creates) the spool directory: files of interrupted writes are
   * removed, the rest indexed in order. If more than maxBatches are found
   * (the limit was lowered), the surplus is dropped as if spooled now.
   */
  static open(dir: string, maxBatches: number, warn: (msg: string) => void = () => {}): Spool {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const s = new Spool(dir, maxBatches, warn);
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
      s.#entries.push({ index: Number(m[1]), bootId: m[2], seq: Number(m[3]), file: `${dir}/${e.name}` });
    }
    s.#entries.sort((a, b) => a.index - b.index);
    s.#nextIndex = (s.#entries.at(-1)?.index ?? -1) + 1;
    while (s.#entries.length > maxBatches) s.#dropOne();
    return s;
  }

  /** Batches waiting to be acknowledged. */
  get pending(): number {
    return this.#entries.length;
  }

  /** Batches dropped because the spool was full, since this agent started. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes a batch (durably) as the newest entry, first making room if full. */
  add(batch: Batch): SpoolEntry {
    while (this.#entries.length >= this.maxBatches) this.#dropOne();
    const index = this.#nextIndex++;
    const file = `${this.dir}/${String(index).padStart(12, "0")}-${batch.bootId}-${batch.seq}.json`;
    writeFileAtomic(file, JSON.stringify(batch));
    const entry = { index, bootId: batch.bootId, seq: batch.seq, file };
    this.#entries.push(entry);
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

  /** The batch's JSON text, or null if it was dropped meanwhile. */
  read(entry: SpoolEntry): string | null {
    if (!this.#entries.includes(entry)) return null;
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
  }

  /** Highest spooled seq of a boot, or -1. */
  maxSeq(bootId: string): number {
    let max = -1;
    for (const e of this.#entries) if (e.bootId === bootId && e.seq > max) max = e.seq;
    return max;
  }

  #dropOne(): void {
    const lastOfBoot = new Map<string, number>();
    for (const e of this.#entries) lastOfBoot.set(e.bootId, e.index);
    const superseded = this.#entries.find((e) => lastOfBoot.get(e.bootId)! > e.index);
    const victim = superseded ?? this.#entries[0];
    if (!superseded) {
      this.warn(
        `spool: full; dropping batch ${victim.seq} of boot ${victim.bootId}, the last one of that boot: its final totals are lost`,
      );
    }
    this.remove(victim);
    this.#dropped++;
  }

  #forget(entry: SpoolEntry): boolean {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    return true;
  }
}
