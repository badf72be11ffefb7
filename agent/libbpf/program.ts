// SPDX-License-Identifier: Apache-2.0
/** Programs of an opened object (struct bpf_program *). */
import { alloc, bufferString, cstr, libbpf, ptrOf, readCString } from "./ffi.ts";
import { checkInt, LibbpfError, LibbpfUsageError } from "./errors.ts";
import { progInfoByFd } from "./info.ts";
import { progTypeName } from "./probe.ts";
import { attachAuto, attachCgroup, attachTracepoint, type LinkAttachment, PROG_PTR } from "./links.ts";
import { attachTc, type IfTarget, type TcAttachment, type TcAttachOptions, type TcDirection } from "./tc.ts";
import { testRunFd, type TestRunOptions, type TestRunResult } from "./test_run.ts";
import { attachXdp, type XdpAttachment, type XdpAttachOptions } from "./xdp.ts";

/** enum bpf_prog_type (linux/bpf.h), the ones this project uses or may. */
export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  SOCK_OPS: 13,
  SK_SKB: 14,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  TRACING: 26,
} as const;

export class BpfProgram {
  readonly name: string;
  readonly sectionName: string;
  /** @internal the BpfObject this program belongs to */
  readonly owner: object;
  #ptr: Deno.PointerObject | null;
  #logBuf: Uint8Array | null = null;
  readonly #objectName: string;
  readonly #isLoaded: () => boolean;

  /** @internal created by BpfObject */
  constructor(ptr: Deno.PointerObject, owner: object, objectName: string, isLoaded: () => boolean) {
    this.#ptr = ptr;
    this.owner = owner;
    this.#objectName = objectName;
    this.#isLoaded = isLoaded;
    this.name = readCString(libbpf().bpf_program__name(ptr), "?");
    this.sectionName = readCString(libbpf().bpf_program__section_name(ptr), "");
  }

  get #p(): Deno.PointerObject {
    if (!this.#ptr) throw new LibbpfUsageError(`program '${this.name}' of ${this.#objectName}: the object is closed`);
    return this.#ptr;
  }

  /** @internal for links.ts */
  [PROG_PTR] = (): Deno.PointerObject => this.#p;

  /** enum bpf_prog_type. */
  get type(): number {
    return libbpf().bpf_program__type(this.#p);
  }

  /** libbpf's name for the type, e.g. "sched_cls". */
  get typeName(): string {
    return progTypeName(this.type);
  }

  /** The program fd, after load (owned by libbpf; closed with the object). */
  get fd(): number {
    const p = this.#p;
    if (!this.#isLoaded()) {
      throw new LibbpfUsageError(`program '${this.name}' of ${this.#objectName}: load the object first`);
    }
    const fd = libbpf().bpf_program__fd(p);
    if (fd < 0) throw new LibbpfError("bpf_program__fd", `${this.name} (not loaded: autoload off?)`, -fd);
    return fd;
  }

  /** Kernel program id, after load (what `bpftool prog show id N` shows). */
  get id(): number {
    return progInfoByFd(this.fd, this.name).id;
  }

  get autoload(): boolean {
    return libbpf().bpf_program__autoload(this.#p);
  }

  /** Before load: whether load() loads this program. */
  setAutoload(on: boolean): this {
    checkInt("bpf_program__set_autoload", `${this.name}, ${on}`, () => libbpf().bpf_program__set_autoload(this.#p, on));
    return this;
  }

  /** @internal Before load: gives libbpf a verifier log buffer of `size` bytes. */
  _setLogBuffer(size: number): void {
    const buf = alloc(size);
    checkInt(
      "bpf_program__set_log_buf",
      this.name,
      () => libbpf().bpf_program__set_log_buf(this.#p, ptrOf(buf), BigInt(size)),
    );
    this.#logBuf = buf; // referenced until load finished: libbpf keeps the address
  }

  /** @internal the verifier log libbpf wrote (empty when none). */
  _logText(): string {
    return this.#logBuf ? bufferString(this.#logBuf) : "";
  }

  /** @internal after load: the log buffer is no longer used by libbpf. */
  _dropLogBuffer(): void {
    if (this.#logBuf && this.#ptr) libbpf().bpf_program__set_log_buf(this.#ptr, null, 0n);
    this.#logBuf = null;
  }

  /** Pins the program at `path` in bpffs. */
  pin(path: string): void {
    checkInt("bpf_program__pin", `${this.name} at ${path}`, () => libbpf().bpf_program__pin(this.#p, cstr(path)));
  }

  /** Removes the pin at `path`. */
  unpin(path: string): void {
    checkInt("bpf_program__unpin", `${this.name} at ${path}`, () => libbpf().bpf_program__unpin(this.#p, cstr(path)));
  }

  /** BPF_PROG_TEST_RUN: runs the program on `data` without attaching it. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return testRunFd(this.fd, this.name, options);
  }

  /** tc clsact attach (see tc.ts). */
  attachTc(target: IfTarget, direction: TcDirection, options?: TcAttachOptions): TcAttachment {
    return attachTc(this, target, direction, options);
  }

  /** XDP attach (see xdp.ts). */
  attachXdp(target: IfTarget, options?: XdpAttachOptions): XdpAttachment {
    return attachXdp(this, target, options);
  }

  /** cgroup attach to a cgroup v2 directory (see links.ts). */
  attachCgroup(cgroupPath: string): LinkAttachment {
    return attachCgroup(this, cgroupPath);
  }

  /** Tracepoint attach, e.g. ("skb", "kfree_skb"). */
  attachTracepoint(category: string, name: string): LinkAttachment {
    return attachTracepoint(this, category, name);
  }

  /** libbpf auto attach from the section name. */
  attach(): LinkAttachment {
    return attachAuto(this);
  }

  /** @internal the owning object closed. */
  _invalidate(): void {
    this.#ptr = null;
    this.#logBuf = null;
  }
}
