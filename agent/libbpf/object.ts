// SPDX-License-Identifier: Apache-2.0
/**
 * A BPF ELF object (struct bpf_object *): open, configure maps and programs,
 * load, use, close.
 *
 *   const obj = BpfObject.open("build/bpf/ifstats.bpf.o");
 *   obj.map("ifstats_big").setMaxEntries(4096);
 *   obj.load();                        // VerifierError carries the log
 *   const att = obj.program("ifstats_ingress").attachTc({ ifname: "ek8s0" }, "ingress");
 *   ...
 *   obj.close();                       // detaches what is still attached, then closes
 */
import { cstr, libbpf, readCString } from "./ffi.ts";
import { checkInt, checkPtr, LibbpfError, LibbpfUsageError, VerifierError } from "./errors.ts";
import { ensurePrintCallback, libbpfMessagesSince, libbpfSeq } from "./log.ts";
import { BpfMap } from "./map.ts";
import { BpfProgram } from "./program.ts";
import { LinkAttachment } from "./links.ts";
import { TcAttachment } from "./tc.ts";
import { type Attachment, detachAll, type DetachReport, listAttachments, unregisterAttachment } from "./registry.ts";

export interface OpenOptions {
  /** Verifier log buffer per program, in bytes (default 1 MiB). */
  logSize?: number;
}

export interface CloseOptions {
  /**
   * Leave attachments of this object's programs in the kernel (tc filters
   * and XDP keep the programs alive, and so does a pinned BPF link; other
   * links are destroyed regardless, since closing the object frees them).
   * They are dropped from the registry.
   */
  keepAttachments?: boolean;
}

const DEFAULT_LOG_SIZE = 1 << 20;

export class BpfObject {
  readonly path: string;
  readonly name: string;
  #ptr: Deno.PointerObject | null;
  #loaded = false;
  readonly #logSize: number;
  readonly #programs = new Map<string, BpfProgram>();
  readonly #maps = new Map<string, BpfMap>();

  private constructor(path: string, ptr: Deno.PointerObject, options: OpenOptions) {
    this.path = path;
    this.#ptr = ptr;
    this.#logSize = options.logSize ?? DEFAULT_LOG_SIZE;
    this.name = readCString(libbpf().bpf_object__name(ptr), path);
    const isLoaded = () => this.#loaded;
    for (let p = libbpf().bpf_object__next_program(ptr, null); p; p = libbpf().bpf_object__next_program(ptr, p)) {
      const prog = new BpfProgram(p, this, this.path, isLoaded);
      this.#programs.set(prog.name, prog);
    }
    for (let m = libbpf().bpf_object__next_map(ptr, null); m; m = libbpf().bpf_object__next_map(ptr, m)) {
      const map = new BpfMap(m, this.path, isLoaded);
      this.#maps.set(map.name, map);
    }
  }

  /** bpf_object__open_file: parses the ELF file (nothing reaches the kernel yet). */
  static open(path: string, options: OpenOptions = {}): BpfObject {
    const ptr = checkPtr("bpf_object__open_file", path, () => libbpf().bpf_object__open_file(cstr(path), null));
    return new BpfObject(path, ptr, options);
  }

  get #p(): Deno.PointerObject {
    if (!this.#ptr) throw new LibbpfUsageError(`${this.path}: the object is closed`);
    return this.#ptr;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  get closed(): boolean {
    return this.#ptr === null;
  }

  /** All programs, in ELF order. */
  get programs(): BpfProgram[] {
    return [...this.#programs.values()];
  }

  /** All maps, including libbpf's internal ones (.rodata, .bss, ...). */
  get maps(): BpfMap[] {
    return [...this.#maps.values()];
  }

  /** The program called `name` (bpf_object__find_program_by_name). */
  program(name: string): BpfProgram {
    const p = this.#p;
    const found = libbpf().bpf_object__find_program_by_name(p, cstr(name));
    const prog = found ? this.#programs.get(name) : undefined;
    if (!prog) {
      throw new LibbpfError("bpf_object__find_program_by_name", `${this.path}, ${name}`, 2, {
        detail: `programs in ${this.path}: ${[...this.#programs.keys()].join(", ") || "(none)"}`,
      });
    }
    return prog;
  }

  /** The map called `name` (bpf_object__find_map_by_name). */
  map(name: string): BpfMap {
    const p = this.#p;
    const found = libbpf().bpf_object__find_map_by_name(p, cstr(name));
    const map = found ? this.#maps.get(name) : undefined;
    if (!map) {
      throw new LibbpfError("bpf_object__find_map_by_name", `${this.path}, ${name}`, 2, {
        detail: `maps in ${this.path}: ${[...this.#maps.keys()].join(", ") || "(none)"}`,
      });
    }
    return map;
  }

  /**
   * bpf_object__load: creates maps (or reuses pinned ones), relocates and
   * loads every program with autoload on. On failure throws VerifierError
   * with the log of the program the kernel rejected (libbpf retries a failed
   * load with log_level 1 into the buffer set here).
   */
  load(): this {
    const p = this.#p;
    if (this.#loaded) throw new LibbpfUsageError(`${this.path}: already loaded`);
    for (const prog of this.#programs.values()) prog._setLogBuffer(this.#logSize);
    ensurePrintCallback();
    const seq = libbpfSeq();
    const ret = libbpf().bpf_object__load(p);
    const messages = libbpfMessagesSince(seq);
    try {
      if (ret < 0) {
        const failed = [...this.#programs.values()].find((pr) => pr._logText().length > 0);
        const log = failed?._logText() ?? "";
        const failedByMessage = messages.map((m) =>
          /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(m.text)?.[1]
        ).find(Boolean);
        const progName = failed?.name ?? failedByMessage;
        const target = progName ? `${this.path}, program ${progName}` : this.path;
        if (log || progName) throw new VerifierError("bpf_object__load", target, -ret, progName, log, messages);
        throw new LibbpfError("bpf_object__load", target, -ret, { messages });
      }
    } finally {
      for (const prog of this.#programs.values()) prog._dropLogBuffer();
    }
    this.#loaded = true;
    return this;
  }

  /** Attachments of this object's programs that are in place. */
  attachments(): Attachment[] {
    return listAttachments(this);
  }

  /** Detaches every attachment of this object's programs (newest first). */
  detachAll(): DetachReport {
    return detachAll(this);
  }

  /**
   * Detaches what is still attached (unless keepAttachments), then
   * bpf_object__close. Harmless when called again. Throws an AggregateError
   * if some detach failed (the object is closed anyway).
   */
  close(options: CloseOptions = {}): void {
    const ptr = this.#ptr;
    if (!ptr) return;
    let report: DetachReport = { detached: [], errors: [] };
    if (options.keepAttachments) {
      for (const a of listAttachments(this)) {
        if (a instanceof TcAttachment) a.forget();
        else if (a.kind === "xdp") unregisterAttachment(a);
        else if (a instanceof LinkAttachment && a.pinPath) a.release();
        else report = mergeErrors(report, a);
      }
    } else {
      report = detachAll(this);
    }
    for (const prog of this.#programs.values()) prog._invalidate();
    for (const map of this.#maps.values()) map._invalidate();
    this.#ptr = null;
    libbpf().bpf_object__close(ptr);
    if (report.errors.length) {
      throw new AggregateError(
        report.errors,
        `closing ${this.path}: ${report.errors.length} detach(es) failed: ${
          report.errors.map((e) => e.message).join("; ")
        }`,
      );
    }
  }

  /** Pins every map under directory `dir` (bpf_object__pin_maps; names are the map names). */
  pinMaps(dir: string): void {
    checkInt(
      "bpf_object__pin_maps",
      `${this.path} under ${dir}`,
      () => libbpf().bpf_object__pin_maps(this.#p, cstr(dir)),
    );
  }

  /** Removes the pins made by pinMaps(dir). */
  unpinMaps(dir: string): void {
    checkInt(
      "bpf_object__unpin_maps",
      `${this.path} under ${dir}`,
      () => libbpf().bpf_object__unpin_maps(this.#p, cstr(dir)),
    );
  }
}

function mergeErrors(report: DetachReport, a: Attachment): DetachReport {
  try {
    a.detach();
    report.detached.push(a.description);
  } catch (e) {
    report.errors.push(e instanceof Error ? e : new Error(String(e)));
  }
  return report;
}
