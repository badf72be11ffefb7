// SPDX-License-Identifier: Apache-2.0
/**
 * The hash a compact batch sends instead of a part the control plane already holds (the inventory, the pods'
 * metadata). Synchronous and the same under Deno and Node (WebCrypto's digest is asynchronous): two 32-bit
 * multiply-xor lanes over the value's canonical JSON (keys sorted), 64 bits in all. It only has to tell one
 * node's successive values apart; a node that forged a collision would only mislabel itself.
 */
export const CONTENT_HASH = /^[0-9a-f]{16}$/;

export function contentHash(value: unknown): string {
  return hashText(canonicalJson(value));
}

/** The same 64-bit hash of a text as it is (no canonical form): for callers that build a stable text themselves. */
export function hashText(text: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex(h1) + hex(h2);
}

const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** JSON with every object's keys sorted: the same value hashes the same whatever order it was built in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
