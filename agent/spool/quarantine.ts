// SPDX-License-Identifier: Apache-2.0
/**
 * Batches the control plane refused as invalid (400) or too large (413),
 * moved out of the spool so that the batches after them still go out, but
 * never deleted for being refused: the refusal may be the control plane's
 * mistake (an older or newer build judging a field differently), and its fix
 * should find the data still there. The agent resends them on a slow backoff
 * and after a control plane restart (delivery.ts); an acknowledged one goes.
 *
 * One directory, beside the spool: per batch its file exactly as spooled
 * (same name, so names sort oldest first) and `<name>.reason.json` with the
 * status, the control plane's answer and when. Bounded (maxBatches): when
 * full, the oldest is dropped, counted and logged.
 */
import { removeIfExists, syncDir, TMP_SUFFIX, writeFileAtomic } from "../state/files.ts";

/** Batches kept in quarantine at most (each at most MAX_BATCH_BYTES). */
export const QUARANTINE_MAX_BATCHES = 100;

const REASON_SUFFIX = ".reason.json";

export interface QuarantineEntry {
  /** The spool file's name, e.g. 000000000012-<bootId>-12.json. */
  name: string;
}

export interface Refusal {
  status: number;
  message: string;
}

export class Quarantine {
  readonly #entries: QuarantineEntry[] = [];
  #dropped = 0;

  private constructor(
    readonly dir: string,
    readonly maxBatches: number,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Opens (creates) the directory and indexes what an earlier run left there, oldest first. */
  static open(dir: string, maxBatches: number, warn: (msg: string) => void): Quarantine {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const q = new Quarantine(dir, maxBatches, warn);
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(TMP_SUFFIX)) removeIfExists(`${dir}/${e.name}`); // torn: never renamed into place
      else if (e.name.endsWith(".json") && !e.name.endsWith(REASON_SUFFIX)) q.#entries.push({ name: e.name });
    }
    q.#entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    while (q.#entries.length > maxBatches) q.#dropOldest();
    return q;
  }

  /** Batches in quarantine now. */
  get count(): number {
    return this.#entries.length;
  }

  /** Batches dropped because the quarantine was full, since this agent started. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Oldest first. */
  entries(): readonly QuarantineEntry[] {
    return this.#entries;
  }

  /**
   * Moves the spooled file `spoolFile` here (a rename: it is never in neither
   * place), with the reason written first. The caller then forgets it in the
   * spool. Returns the path it now has.
   */
  admit(spoolFile: string, refusal: Refusal, at = Date.now()): string {
    const name = spoolFile.slice(spoolFile.lastIndexOf("/") + 1);
    while (this.#entries.length >= this.maxBatches) this.#dropOldest();
    writeFileAtomic(
      `${this.dir}/${name}${REASON_SUFFIX}`,
      JSON.stringify({ ...refusal, at: new Date(at).toISOString() }),
    );
    Deno.renameSync(spoolFile, `${this.dir}/${name}`);
    syncDir(this.dir);
    syncDir(spoolFile.slice(0, spoolFile.lastIndexOf("/")));
    if (!this.#entries.some((e) => e.name === name)) this.#entries.push({ name });
    return `${this.dir}/${name}`;
  }

  /** The batch's JSON text, or null if it is gone. */
  read(entry: QuarantineEntry): string | null {
    try {
      return Deno.readTextFileSync(`${this.dir}/${entry.name}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      this.#forget(entry);
      return null;
    }
  }

  /** Removes a batch the control plane has now acknowledged. */
  remove(entry: QuarantineEntry): void {
    if (!this.#forget(entry)) return;
    removeIfExists(`${this.dir}/${entry.name}`);
    removeIfExists(`${this.dir}/${entry.name}${REASON_SUFFIX}`);
    syncDir(this.dir);
  }

  #dropOldest(): void {
    const victim = this.#entries[0];
    this.warn(`quarantine full (${this.maxBatches}): dropping the oldest refused batch, ${this.dir}/${victim.name}`);
    this.remove(victim);
    this.#dropped++;
  }

  #forget(entry: QuarantineEntry): boolean {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    return true;
  }
}
