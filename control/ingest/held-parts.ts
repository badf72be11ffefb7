// SPDX-License-Identifier: Apache-2.0
/**
 * The parts of a batch that a compact batch may send by hash (the inventory, the pods' metadata): per node, the
 * last ones this control-plane process acknowledged, so that the node's next batch can name them by hash alone
 * (control/wire/compact/http.ts).
 *
 * Only memory, of this process: after a restart, or at another replica, a node's next hash-only batch is
 * answered 412 once and resent whole. That also makes the bound harmless: beyond `maxNodes` the node heard
 * from least recently is forgotten, and pays the same single round trip.
 */
import type { Inventory } from "../wire/batch.ts";
import type { Held } from "../wire/compact/decode.ts";
import type { HeldPart } from "../wire/compact/http.ts";
import type { PodInfo } from "../wire/pods.ts";

/**
 * Nodes whose parts are held at most: twice the 5,000-node cluster one control plane is meant for. A node of the
 * bench's shape (20 pods, the inventory of every module) holds about 17 KB of heap (measured), so at most about
 * 170 MB.
 */
export const HELD_PARTS_NODES = 10_000;

/** What is held for one node. */
export interface NodeParts {
  inventory?: Held<Inventory>;
  pods?: Held<PodInfo[]>;
}

export class HeldParts {
  /** Insertion order is recency: a node touched is moved to the end, the first one is evicted. */
  readonly #nodes = new Map<string, NodeParts>();

  constructor(readonly maxNodes = HELD_PARTS_NODES) {
    if (!(maxNodes >= 1)) throw new Error(`held parts: maxNodes must be at least 1, not ${maxNodes}`);
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** What is held for `node` (nothing: an empty object). */
  of(node: string): NodeParts {
    return this.#nodes.get(node) ?? {};
  }

  /** The parts whose hash `sent` names that are not the ones held for `node`: those must come whole. */
  unknown(node: string, sent: Partial<Record<HeldPart, string>>): HeldPart[] {
    const held = this.of(node);
    const parts: HeldPart[] = [];
    if (sent.inventory !== undefined && held.inventory?.hash !== sent.inventory) parts.push("inventory");
    if (sent.pods !== undefined && held.pods?.hash !== sent.pods) parts.push("pods");
    return parts;
  }

  /**
   * After `node`'s batch is stored: the parts it carried (whole or by hash) are what the agent now takes as held.
   * A part the batch did not carry stays as it was.
   */
  remember(node: string, parts: NodeParts): void {
    const held = this.#nodes.get(node);
    this.#nodes.delete(node);
    this.#nodes.set(node, { ...held, ...definedOnly(parts) });
    if (this.#nodes.size > this.maxNodes) this.#nodes.delete(this.#nodes.keys().next().value!);
  }
}

function definedOnly(parts: NodeParts): NodeParts {
  const out: NodeParts = {};
  if (parts.inventory) out.inventory = parts.inventory;
  if (parts.pods) out.pods = parts.pods;
  return out;
}
