// SPDX-License-Identifier: Apache-2.0
/**
 * BPF-link based attachments (struct bpf_link *): cgroup
 * (bpf_program__attach_cgroup), tracepoint (bpf_program__attach_tracepoint)
 * and libbpf's section-driven auto attach (bpf_program__attach). All are
 * removed with bpf_link__destroy.
 */
import { cstr, errno, libbpf, libc } from "./ffi.ts";
import { checkInt, checkPtr, ENOENT, LibbpfError } from "./errors.ts";
import { closeFd, linkInfoByFd, progInfoById } from "./info.ts";
import { type Attachment, type AttachmentKind, registerAttachment, unregisterAttachment } from "./registry.ts";
import type { AttachableProgram } from "./tc.ts";

const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

/** A bpf_link owned by this library. */
export class LinkAttachment implements Attachment {
  #program: string;
  readonly description: string;
  readonly owner: object;
  #link: Deno.PointerObject | null;
  #pinPath: string | null;

  /** @internal */
  constructor(
    readonly kind: AttachmentKind,
    prog: { name: string; owner: object },
    link: Deno.PointerObject,
    description: string,
    pinPath: string | null = null,
  ) {
    this.#program = prog.name;
    this.owner = prog.owner;
    this.#link = link;
    this.description = description;
    this.#pinPath = pinPath;
  }

  /** Name of the program it runs. */
  get program(): string {
    return this.#program;
  }

  get attached(): boolean {
    return this.#link !== null;
  }

  /** The link's fd (while attached). */
  get fd(): number {
    if (!this.#link) throw new LibbpfError("bpf_link__fd", this.description, 9);
    return checkInt("bpf_link__fd", this.description, () => libbpf().bpf_link__fd(this.#link!));
  }

  /** Kernel link id (while attached). */
  get id(): number {
    return linkInfoByFd(this.fd, this.description).id;
  }

  /** Kernel id of the program the link runs. */
  get progId(): number {
    return linkInfoByFd(this.fd, this.description).progId;
  }

  /** cgroup links: id of the cgroup it is attached to (the inode of its cgroup v2 directory). */
  get cgroupId(): number {
    return linkInfoByFd(this.fd, this.description).cgroupId;
  }

  /** Where the link is pinned in bpffs, or null. */
  get pinPath(): string | null {
    return this.#pinPath;
  }

  /**
   * Pins the link in bpffs (bpf_link__pin): it then stays attached when this
   * process exits or dies, until someone unpins and closes it.
   */
  pin(path: string): void {
    checkInt("bpf_link__pin", `${this.description} at ${path}`, () => libbpf().bpf_link__pin(this.#link!, cstr(path)));
    this.#pinPath = path;
  }

  /**
   * Replaces the program the link runs, atomically (bpf_link__update_program,
   * BPF_LINK_UPDATE): there is no moment without a program. For adopting a
   * pinned link with the programs of a newly loaded object.
   */
  updateProgram(prog: AttachableProgram): void {
    if (!this.#link) throw new LibbpfError("bpf_link__update_program", this.description, 9);
    checkInt(
      "bpf_link__update_program",
      `${this.description} to ${prog.name}`,
      () => libbpf().bpf_link__update_program(this.#link!, progPtr(prog)),
    );
    this.#program = prog.name;
  }

  /**
   * Lets go of a pinned link without detaching it: it stays attached through
   * its pin. bpf_link__disconnect keeps destroy from running libbpf's detach
   * (for a tracepoint that would disable the perf event the pinned link still
   * uses); our link fd is closed by hand. A tracepoint's perf event fd stays
   * open until the process exits (libbpf does not expose it): meant for
   * simulating a crash in tests. Unpinned links cannot outlive their fd, so
   * they are detached instead.
   */
  release(): void {
    const link = this.#link;
    if (!link) return;
    if (!this.#pinPath) return this.detach();
    const fd = this.fd;
    this.#link = null;
    unregisterAttachment(this);
    libbpf().bpf_link__disconnect(link);
    libbpf().bpf_link__destroy(link);
    closeFd(fd);
  }

  /**
   * Detaches: removes the pin if any (a pinned link would outlive its fd),
   * then bpf_link__destroy; harmless twice.
   */
  detach(): void {
    const link = this.#link;
    if (!link) return;
    if (this.#pinPath) {
      const r = libbpf().bpf_link__unpin(link);
      if (r < 0 && r !== -ENOENT) {
        throw new LibbpfError("bpf_link__unpin", `${this.description} at ${this.#pinPath}`, -r);
      }
      this.#pinPath = null;
    }
    this.#link = null;
    unregisterAttachment(this);
    const ret = libbpf().bpf_link__destroy(link);
    if (ret < 0) throw new LibbpfError("bpf_link__destroy", this.description, -ret);
  }
}

/**
 * Opens a link pinned in bpffs (bpf_link__open), e.g. one a previous run of
 * this program left attached; `owner` groups it with other attachments.
 * detach() unpins it and so detaches it.
 */
export function openPinnedLink(path: string, owner: object): LinkAttachment {
  const link = checkPtr("bpf_link__open", path, () => libbpf().bpf_link__open(cstr(path)));
  try {
    const fd = checkInt("bpf_link__fd", path, () => libbpf().bpf_link__fd(link));
    const progName = progInfoById(linkInfoByFd(fd, path).progId)?.name ?? "?";
    const att = new LinkAttachment("link", { name: progName, owner }, link, `link ${progName} pinned at ${path}`, path);
    registerAttachment(att);
    return att;
  } catch (e) {
    libbpf().bpf_link__destroy(link); // closes our fd only: the pin keeps the link
    throw e;
  }
}

/**
 * Attaches a cgroup program (cgroup_skb, cgroup/sock, sockops, ...) to the
 * cgroup v2 directory `cgroupPath`; the attach type comes from the program's
 * section name.
 */
export function attachCgroup(prog: AttachableProgram, cgroupPath: string): LinkAttachment {
  const what = `${prog.name} to cgroup ${cgroupPath}`;
  const fd = libc().open(cstr(cgroupPath), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw new LibbpfError("bpf_program__attach_cgroup", what, errno() || 2, {
      detail: `(open of the cgroup directory failed)`,
    });
  }
  try {
    const link = checkPtr(
      "bpf_program__attach_cgroup",
      what,
      () => libbpf().bpf_program__attach_cgroup(progPtr(prog), fd),
    );
    const att = new LinkAttachment("cgroup", prog, link, `cgroup ${prog.name} on ${cgroupPath}`);
    registerAttachment(att);
    return att;
  } finally {
    closeFd(fd); // the link holds its own reference to the cgroup
  }
}

/** Attaches a tracepoint program to tracepoint `category:name` (e.g. "skb", "kfree_skb"). */
export function attachTracepoint(prog: AttachableProgram, category: string, name: string): LinkAttachment {
  const what = `${prog.name} to ${category}:${name}`;
  const link = checkPtr(
    "bpf_program__attach_tracepoint",
    what,
    () => libbpf().bpf_program__attach_tracepoint(progPtr(prog), cstr(category), cstr(name)),
  );
  const att = new LinkAttachment("tracepoint", prog, link, `tracepoint ${prog.name} on ${category}:${name}`);
  registerAttachment(att);
  return att;
}

/** libbpf's auto attach from the section name (tracepoints, kprobes, fentry, ...). */
export function attachAuto(prog: AttachableProgram & { sectionName?: string }): LinkAttachment {
  const what = `${prog.name} (section ${prog.sectionName ?? "?"})`;
  const link = checkPtr("bpf_program__attach", what, () => libbpf().bpf_program__attach(progPtr(prog)));
  const att = new LinkAttachment("link", prog, link, `link ${what}`);
  registerAttachment(att);
  return att;
}

/** @internal programs keep their libbpf pointer behind this symbol. */
export const PROG_PTR = Symbol("bpf_program");

function progPtr(prog: AttachableProgram): Deno.PointerObject {
  const p = (prog as unknown as Record<symbol, (() => Deno.PointerObject) | undefined>)[PROG_PTR];
  if (!p) throw new TypeError(`${prog.name}: not a BpfProgram of an opened object`);
  return p();
}
