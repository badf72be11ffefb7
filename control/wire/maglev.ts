// SPDX-License-Identifier: Apache-2.0
/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4), with
 * weights. Pure and deterministic: every agent computes the same table for
 * the same backends, and the control plane computes it too to show and test
 * what the kernel does. Agents import this file; keep it free of Node and
 * Deno APIs.
 *
 * Each backend walks its own permutation of the table's slots (offset and
 * skip from two hashes of its address) and, round by round, claims the next
 * slot still free. A slot's owner changes only when the set of backends
 * does, and mostly only for the slots of a backend that came or went: that
 * is why removing one backend moves little more than its own share.
 */

/**
 * Table sizes: primes (the permutation needs a prime size to visit every
 * slot), each about twice the last, so a table is always at least 100 slots
 * per backend (the paper's and Cilium's bound for an even spread) without
 * being much larger. They double as the size classes of the agent's pool.
 */
export const MAGLEV_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
export const MIN_SLOTS_PER_BACKEND = 100;

/** The smallest table size with ≥ 100 slots per backend; 0 for no backend (no table). */
export function maglevSize(backendCount: number): number {
  if (backendCount === 0) return 0;
  const size = MAGLEV_SIZES.find((m) => m >= MIN_SLOTS_PER_BACKEND * backendCount);
  if (size === undefined) {
    throw new Error(
      `maglev: ${backendCount} backends is more than the largest table (${
        MAGLEV_SIZES.at(-1)
      } slots) can spread evenly`,
    );
  }
  return size;
}

/**
 * The size a service's table should have now, given the size it had (none
 * for a new service). It grows when the backends outgrow it and never
 * shrinks: a new size reshuffles every slot, so removing a backend would
 * move every client instead of only that backend's. The control plane
 * decides it and sends it with the service, so every node builds the same
 * table.
 */
export function nextTableSize(current: number | undefined, backendCount: number): number {
  const needed = maglevSize(Math.max(1, backendCount));
  return current !== undefined && current >= needed ? current : needed;
}

export interface MaglevBackend {
  /** What the table holds for its slots. */
  id: number;
  /** What its permutation is derived from: "ip:port", the same on every node. */
  key: string;
  /** Relative share of the slots, ≥ 1. */
  weight: number;
}

/**
 * The lookup table: `size` backend ids. Backends are taken in the order of
 * their keys, so the caller's order does not matter. With equal weights each
 * backend claims one slot per round (the paper's algorithm); with weights,
 * a backend earns weight/maxWeight of a claim per round.
 */
export function maglevTable(backends: readonly MaglevBackend[], size = maglevSize(backends.length)): Uint32Array {
  const table = new Uint32Array(size);
  if (backends.length === 0) return table;
  if (!isPrime(size)) throw new Error(`maglev: table size ${size} is not prime`);
  const sorted = [...backends].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].key === sorted[i - 1].key) throw new Error(`maglev: backend ${sorted[i].key} listed twice`);
  }
  const n = sorted.length;
  const offset = new Uint32Array(n), skip = new Uint32Array(n), next = new Uint32Array(n);
  const credit = new Float64Array(n), share = new Float64Array(n);
  const maxWeight = Math.max(...sorted.map((b) => b.weight));
  sorted.forEach((b, i) => {
    if (!(b.weight >= 1)) throw new Error(`maglev: backend ${b.key} has weight ${b.weight}; it must be ≥ 1`);
    offset[i] = murmur3(b.key, 0x9747b28c) % size;
    skip[i] = (murmur3(b.key, 0x5bd1e995) % (size - 1)) + 1;
    share[i] = b.weight / maxWeight;
  });

  const taken = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      credit[i] += share[i];
      while (credit[i] >= 1 && filled < size) {
        credit[i] -= 1;
        // the next slot of this backend's permutation that is still free
        let slot = (offset[i] + next[i] * skip[i]) % size;
        while (taken[slot]) {
          next[i]++;
          slot = (offset[i] + next[i] * skip[i]) % size;
        }
        taken[slot] = 1;
        table[slot] = sorted[i].id;
        next[i]++;
        filled++;
      }
    }
  }
  return table;
}

/** Slots per backend id. */
export function slotCounts(table: Uint32Array): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of table) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** MurmurHash3 x86_32 of the string's UTF-16 code units (addresses are ASCII). */
function murmur3(key: string, seed: number): number {
  let h = seed >>> 0;
  const len = key.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (key.charCodeAt(i) & 0xff) | ((key.charCodeAt(i + 1) & 0xff) << 8) |
      ((key.charCodeAt(i + 2) & 0xff) << 16) | ((key.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= (key.charCodeAt(blocks + 2) & 0xff) << 16; // falls through
    case 2:
      k ^= (key.charCodeAt(blocks + 1) & 0xff) << 8; // falls through
    case 1:
      k ^= key.charCodeAt(blocks) & 0xff;
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
