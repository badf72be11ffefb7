// SPDX-License-Identifier: Apache-2.0
/**
 * tc attachment on the clsact qdisc, following libbpf's contract
 * (libbpf.h bpf_tc_*; libbpf-bootstrap examples/c/tc.c):
 *
 *  attach:  bpf_tc_hook_create(hook)  -- creates clsact; -EEXIST means it
 *                                        pre-existed (then it is not ours)
 *           bpf_tc_attach(hook, opts) -- handle/priority 0 let the kernel
 *                                        pick free ones; libbpf writes the
 *                                        chosen handle, priority, prog_id back
 *  detach:  bpf_tc_detach(hook, opts) with opts.flags = prog_fd = prog_id = 0
 *                                        and handle + priority set
 *           bpf_tc_hook_destroy(hook) -- only if we created the qdisc, and
 *                                        only once no filter of ours is left;
 *                                        attach_point INGRESS|EGRESS deletes
 *                                        the clsact qdisc itself (a single
 *                                        direction would only flush filters)
 *
 * Calls are made inside the target's network namespace (netns.ts).
 */
import { libbpf } from "./ffi.ts";
import { checkInt, EEXIST, EINVAL, ENODEV, ENOENT, LibbpfError } from "./errors.ts";
import { progInfoById } from "./info.ts";
import { ifindexOf, netnsExists, withNetns } from "./netns.ts";
import { type Attachment, registerAttachment, unregisterAttachment } from "./registry.ts";
import { BPF_TC_EGRESS, BPF_TC_F_REPLACE, BPF_TC_INGRESS, readTcOpts, tcHook, tcOpts } from "./structs.ts";

export type TcDirection = "ingress" | "egress";

/** An interface, by name or index, optionally in another network namespace (name or path). */
export interface IfTarget {
  ifname?: string;
  ifindex?: number;
  netns?: string;
}

export interface TcAttachOptions {
  /** Filter handle; 0 (default) lets the kernel choose. */
  handle?: number;
  /** Filter priority 1..65535; 0 (default) lets the kernel choose. */
  priority?: number;
  /** Replace an existing filter with the same handle and priority (both must be set). */
  replace?: boolean;
  /**
   * Treat an existing clsact qdisc as created by us, so it is destroyed with
   * our last filter: for a process that restarts and adopts the qdisc its
   * predecessor created (it sees EEXIST like for anyone else's qdisc).
   */
  claimQdisc?: boolean;
}

/** What the attach functions need of a program (BpfProgram satisfies it). */
export interface AttachableProgram {
  readonly name: string;
  readonly fd: number;
  /** @internal the BpfObject the program belongs to */
  readonly owner: object;
}

interface HookState {
  netns: string | undefined;
  ifindex: number;
  label: string;
  createdByUs: boolean;
  filters: Set<TcAttachment>;
}

const hooks = new Map<string, HookState>();

function hookKey(netns: string | undefined, ifindex: number): string {
  return `${netns ?? ""}\0${ifindex}`;
}

/** @internal resolves name/index; returns the index and a label for messages. */
export function resolveTarget(t: IfTarget, call: string, what: string): { ifindex: number; label: string } {
  const name = t.ifname ?? (t.ifindex !== undefined ? `ifindex ${t.ifindex}` : undefined);
  if (!name) throw new LibbpfError(call, `${what}: no interface given`, 22);
  let label = name;
  if (t.netns) label += ` (netns ${t.netns})`;
  if (t.ifindex !== undefined) return { ifindex: t.ifindex, label };
  try {
    return { ifindex: ifindexOf(t.ifname!, t.netns), label };
  } catch (e) {
    if (e instanceof LibbpfError) {
      throw new LibbpfError(call, `${what.replace("%s", label)}`, e.errno, { detail: `(${e.message})`, cause: e });
    }
    throw e;
  }
}

/** A tc filter this library attached. */
export class TcAttachment implements Attachment {
  readonly kind = "tc" as const;
  readonly program: string;
  readonly description: string;
  readonly owner: object;
  readonly ifindex: number;
  readonly netns: string | undefined;
  readonly direction: TcDirection;
  /** Handle and priority the kernel used (needed to detach). */
  readonly handle: number;
  readonly priority: number;
  /** Kernel id of the attached program. */
  readonly progId: number;
  #attached = true;
  readonly #hook: HookState;

  /** @internal */
  constructor(
    prog: AttachableProgram,
    hook: HookState,
    direction: TcDirection,
    handle: number,
    priority: number,
    progId: number,
  ) {
    this.program = prog.name;
    this.owner = prog.owner;
    this.#hook = hook;
    this.ifindex = hook.ifindex;
    this.netns = hook.netns;
    this.direction = direction;
    this.handle = handle;
    this.priority = priority;
    this.progId = progId;
    this.description = `tc ${prog.name} on ${hook.label} ${direction} (handle ${handle}, priority ${priority})`;
  }

  get attached(): boolean {
    return this.#attached;
  }

  /** Whether the clsact qdisc was created by this library (and will be deleted with the last filter). */
  get createdQdisc(): boolean {
    return this.#hook.createdByUs;
  }

  /**
   * Forgets the filter without removing it (it stays in the kernel, as after
   * a crash): dropped from the registry and from its qdisc's bookkeeping, so
   * a later attach at the same hook does not count it as one of ours.
   */
  forget(): void {
    if (!this.#attached) return;
    this.#attached = false;
    unregisterAttachment(this);
    this.#hook.filters.delete(this);
    if (this.#hook.filters.size === 0) hooks.delete(hookKey(this.#hook.netns, this.#hook.ifindex));
  }

  /**
   * Removes the filter, then the clsact qdisc if we created it and no filter
   * of ours is left on it. A filter, device or network namespace that is
   * already gone counts as detached.
   */
  detach(): void {
    if (!this.#attached) return;
    const hook = this.#hook;
    if (!netnsExists(hook.netns)) {
      this.#attached = false;
      unregisterAttachment(this);
      hook.filters.delete(this);
      if (hook.filters.size === 0) hooks.delete(hookKey(hook.netns, hook.ifindex));
      return;
    }
    const target = `${this.program} on ${hook.label} ${this.direction}`;
    withNetns(hook.netns, () => {
      const h = tcHook(hook.ifindex, this.direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS);
      const o = tcOpts({ handle: this.handle, priority: this.priority }); // flags, prog_fd, prog_id zero
      const ret = libbpf().bpf_tc_detach(h, o);
      if (ret < 0 && ret !== -ENOENT && ret !== -ENODEV) {
        throw new LibbpfError("bpf_tc_detach", target, -ret);
      }
      this.#attached = false;
      unregisterAttachment(this);
      hook.filters.delete(this);
      if (hook.filters.size === 0) {
        hooks.delete(hookKey(hook.netns, hook.ifindex));
        if (hook.createdByUs) {
          const both = tcHook(hook.ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
          const r = libbpf().bpf_tc_hook_destroy(both);
          if (r < 0 && r !== -ENOENT && r !== -ENODEV) {
            throw new LibbpfError("bpf_tc_hook_destroy", `clsact on ${hook.label}`, -r);
          }
        }
      }
    });
  }
}

/**
 * Attaches a SCHED_CLS program to the clsact `direction` hook of an
 * interface, creating the clsact qdisc when absent.
 */
export function attachTc(
  prog: AttachableProgram,
  target: IfTarget,
  direction: TcDirection,
  options: TcAttachOptions = {},
): TcAttachment {
  const what = `${prog.name} on %s ${direction}`;
  const { ifindex, label } = resolveTarget(target, "bpf_tc_attach", what);
  const desc = what.replace("%s", label);
  const progFd = prog.fd;
  return withNetns(target.netns, () => {
    const key = hookKey(target.netns, ifindex);
    let hook = hooks.get(key);
    let fresh = false;
    if (!hook) {
      const ret = libbpf().bpf_tc_hook_create(tcHook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS));
      if (ret < 0 && ret !== -EEXIST) throw new LibbpfError("bpf_tc_hook_create", `clsact for ${desc}`, -ret);
      hook = { netns: target.netns, ifindex, label, createdByUs: ret === 0, filters: new Set() };
      fresh = true;
    }
    if (options.claimQdisc) hook.createdByUs = true;
    const h = tcHook(ifindex, direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    const o = tcOpts({
      progFd,
      handle: options.handle ?? 0,
      priority: options.priority ?? 0,
      flags: options.replace ? BPF_TC_F_REPLACE : 0,
    });
    try {
      checkInt("bpf_tc_attach", desc, () => libbpf().bpf_tc_attach(h, o));
    } catch (e) {
      if (fresh && hook.createdByUs && !options.claimQdisc) {
        libbpf().bpf_tc_hook_destroy(tcHook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS));
      }
      throw e;
    }
    const out = readTcOpts(o);
    hooks.set(key, hook);
    const att = new TcAttachment(prog, hook, direction, out.handle, out.priority, out.progId);
    hook.filters.add(att);
    registerAttachment(att);
    return att;
  });
}

/** Whether a filter with this handle/priority is attached at the hook (bpf_tc_query); returns its prog id or 0. */
export function queryTc(target: IfTarget, direction: TcDirection, handle: number, priority: number): number {
  const { ifindex, label } = resolveTarget(target, "bpf_tc_query", `%s ${direction}`);
  return withNetns(target.netns, () => {
    const o = tcOpts({ handle, priority });
    const ret = libbpf().bpf_tc_query(tcHook(ifindex, direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS), o);
    if (ret === -ENOENT) return 0;
    if (ret < 0) {
      throw new LibbpfError("bpf_tc_query", `${label} ${direction} handle ${handle} priority ${priority}`, -ret);
    }
    return readTcOpts(o).progId;
  });
}

/** The program (kernel id and name) of the filter at handle/priority, or null when there is none. */
export function tcFilterProgram(
  target: IfTarget,
  direction: TcDirection,
  handle: number,
  priority: number,
): { id: number; name: string } | null {
  let id: number;
  try {
    id = queryTc(target, direction, handle, priority);
  } catch (e) {
    // no clsact (EINVAL) or no device: no filter either
    if (e instanceof LibbpfError && (e.errno === EINVAL || e.errno === ENODEV)) return null;
    throw e;
  }
  if (!id) return null;
  return { id, name: progInfoById(id)?.name ?? "" };
}

/**
 * Removes the filter at handle/priority without an attachment object, e.g.
 * one a previous run of this process left behind. Only when `isOurs(name)`
 * holds for the name of the program it runs; returns whether one was removed.
 */
export function removeTcFilter(
  target: IfTarget,
  direction: TcDirection,
  handle: number,
  priority: number,
  isOurs: (progName: string) => boolean,
): boolean {
  const found = tcFilterProgram(target, direction, handle, priority);
  if (!found || !isOurs(found.name)) return false;
  const { ifindex, label } = resolveTarget(target, "bpf_tc_detach", `%s ${direction}`);
  return withNetns(target.netns, () => {
    const ret = libbpf().bpf_tc_detach(
      tcHook(ifindex, direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS),
      tcOpts({ handle, priority }),
    );
    if (ret < 0 && ret !== -ENOENT && ret !== -ENODEV) {
      throw new LibbpfError("bpf_tc_detach", `${found.name} on ${label} ${direction}`, -ret);
    }
    return ret === 0;
  });
}

/** Deletes the clsact qdisc of an interface (and every filter on it); false when there was none. */
export function destroyClsact(target: IfTarget): boolean {
  let resolved: { ifindex: number; label: string };
  try {
    resolved = resolveTarget(target, "bpf_tc_hook_destroy", "clsact on %s");
  } catch (e) {
    if (e instanceof LibbpfError && e.errno === ENODEV) return false;
    throw e;
  }
  return withNetns(target.netns, () => {
    const r = libbpf().bpf_tc_hook_destroy(tcHook(resolved.ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS));
    if (r < 0 && r !== -ENOENT && r !== -ENODEV && r !== -EINVAL) {
      throw new LibbpfError("bpf_tc_hook_destroy", `clsact on ${resolved.label}`, -r);
    }
    return r === 0;
  });
}
