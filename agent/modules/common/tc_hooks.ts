// SPDX-License-Identifier: Apache-2.0
/**
 * A module's pair of tc programs (ingress and egress) on a set of interfaces
 * of one network namespace, at a fixed filter handle and priority.
 *
 * A fixed slot (rather than one the kernel picks) is what lets a restarted
 * agent swap its programs in atomically with replace (never two filters, no
 * gap) and lets a successor find what a crashed predecessor left. A filter
 * found in the slot that runs someone else's program is never replaced.
 * records() lists the interfaces and which clsact qdiscs we created, for
 * epoch.json: an adopting agent sees EEXIST for those qdiscs like for anyone
 * else's, and would otherwise leave them behind at its clean stop.
 */
import { z } from "zod";
import {
  type BpfObject,
  destroyClsact,
  type IfTarget,
  netnsExists,
  removeTcFilter,
  type TcAttachment,
  type TcDirection,
  tcFilterProgram,
} from "../../libbpf/mod.ts";
import { listInterfaces, type NetIf } from "../../netif.ts";

export const DIRECTIONS: TcDirection[] = ["ingress", "egress"];

export interface TcSlot {
  handle: number;
  priority: number;
  /** The object's program per direction it is attached in (TcHooks: both). */
  programs: Partial<Record<TcDirection, string>>;
  /** Whether a program name is one of ours (also of an older agent version). */
  isOurs: (progName: string) => boolean;
}

/** Every slot of this agent's modules: a qdisc is never deleted while a filter of ours is still on it. */
const SLOTS: TcSlot[] = [];

/** Declares a module's slot (at import time). */
export function tcSlot(slot: TcSlot): TcSlot {
  SLOTS.push(slot);
  return slot;
}

export const HookRecord = z.object({ ifname: z.string(), ifindex: z.number().int().positive(), ownQdisc: z.boolean() });
export type HookRecord = z.infer<typeof HookRecord>;

interface Hooked {
  netif: NetIf;
  att: Record<TcDirection, TcAttachment>;
}

export class TcHooks {
  readonly #hooked = new Map<number, Hooked>();

  constructor(
    private readonly obj: BpfObject,
    private readonly slot: TcSlot,
    private readonly netns: string | undefined,
  ) {}

  /** Interfaces hooked now. */
  get interfaces(): NetIf[] {
    return [...this.#hooked.values()].map((h) => h.netif);
  }

  has(ifindex: number): boolean {
    return this.#hooked.has(ifindex);
  }

  /** Attaches both programs (replacing ours in place); on failure nothing of this interface stays attached. */
  attach(netif: NetIf, claimQdisc = false): void {
    if (this.#hooked.has(netif.ifindex)) return;
    const done: TcAttachment[] = [];
    try {
      for (const d of DIRECTIONS) done.push(this.#attachOne(netif, d, claimQdisc));
    } catch (e) {
      for (const a of done.reverse()) {
        try {
          a.detach();
        } catch { /* the first error says more */ }
      }
      throw e;
    }
    this.#hooked.set(netif.ifindex, { netif, att: { ingress: done[0], egress: done[1] } });
  }

  /**
   * Detaches from an interface. When the device is gone (a pod's veth goes
   * with its netns) its filters went with it: they are only forgotten, so
   * that nothing is sent to an ifindex the kernel may give to a new device.
   * `present`: the namespace's interfaces, when the caller has just listed them.
   */
  detach(ifindex: number, present?: NetIf[]): void {
    const h = this.#hooked.get(ifindex);
    if (!h) return;
    this.#hooked.delete(ifindex);
    const now = present ?? (netnsExists(this.netns) ? listInterfaces(this.netns) : []);
    const there = now.some((i) => i.ifindex === ifindex && i.name === h.netif.name);
    for (const d of DIRECTIONS) there ? h.att[d].detach() : h.att[d].forget();
  }

  records(): HookRecord[] {
    return this.interfaces.map((netif) => ({
      ifname: netif.name,
      ifindex: netif.ifindex,
      ownQdisc: this.#hooked.get(netif.ifindex)!.att.ingress.createdQdisc,
    }));
  }

  /** Kernel program id -> where it runs ("tc ingress vethp1"), for the inventory. */
  programSites(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const { netif, att } of this.#hooked.values()) {
      for (const d of DIRECTIONS) out.set(att[d].progId, [...(out.get(att[d].progId) ?? []), `tc ${d} ${netif.name}`]);
    }
    return out;
  }

  #attachOne(netif: NetIf, direction: TcDirection, claimQdisc: boolean): TcAttachment {
    return attachInSlot(
      this.obj,
      this.slot,
      { ifname: netif.name, ifindex: netif.ifindex, netns: this.netns },
      direction,
      claimQdisc,
    );
  }
}

/** Attaches the slot's program of `direction`, replacing ours in place; a filter of someone else's in the slot is refused. */
export function attachInSlot(
  obj: BpfObject,
  slot: TcSlot,
  target: IfTarget,
  direction: TcDirection,
  claimQdisc = false,
): TcAttachment {
  const { handle, priority } = slot;
  const program = slot.programs[direction];
  if (!program) throw new Error(`tc ${direction}: the slot at handle 0x${handle.toString(16)} has no program for it`);
  const found = tcFilterProgram(target, direction, handle, priority);
  if (found && !slot.isOurs(found.name)) {
    throw new Error(
      `tc ${direction} on ${target.ifname ?? target.ifindex}: handle 0x${
        handle.toString(16)
      } priority ${priority} holds program ` +
        `${found.name || "?"} (id ${found.id}), not ours: not replacing it`,
    );
  }
  return obj.program(program).attachTc(target, direction, { handle, priority, replace: true, claimQdisc });
}

/** Removes a predecessor's filters (and the qdisc it created) from an interface no longer hooked. */
export function removeLeftoverHooks(slot: TcSlot, netns: string | undefined, p: HookRecord): void {
  const target = recordedTarget(netns, p);
  if (!target) return; // the interface is gone, and its filters with it
  for (const d of DIRECTIONS) removeTcFilter(target, d, slot.handle, slot.priority, slot.isOurs);
  // another module of ours may have adopted a filter on the same qdisc
  const ours = SLOTS.some((s) => DIRECTIONS.some((d) => tcFilterProgram(target, d, s.handle, s.priority)));
  if (p.ownQdisc && !ours) destroyClsact(target);
}

/** A recorded interface as a target, when it is still there (same ifindex and name); else null. */
export function recordedTarget(netns: string | undefined, p: HookRecord): IfTarget | null {
  if (!netnsExists(netns)) return null;
  const now = listInterfaces(netns).find((i) => i.ifindex === p.ifindex);
  return now?.name === p.ifname ? { ifname: p.ifname, ifindex: p.ifindex, netns } : null;
}

/** "tc ingress a, b, c" style text for the inventory, at most 256 characters. */
export function attachText(where: string[]): string {
  if (!where.length) return "not attached";
  const first = where[0].split(" ").slice(0, -1).join(" ");
  const same = where.every((w) => w.startsWith(first + " "));
  const text = same ? `${first} ${where.map((w) => w.slice(first.length + 1)).join(", ")}` : where.join("; ");
  return text.length <= 256 ? text : `${text.slice(0, 240)}… (${where.length})`;
}
