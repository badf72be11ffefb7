// SPDX-License-Identifier: Apache-2.0
/**
 * Secrets (admin token, join tokens, node credentials) are random, shown once,
 * and kept only as SHA-256: the database alone never lets anyone in.
 *
 * Web Crypto and node:crypto (which Deno provides too), so this runs unchanged
 * under Node and Deno. A plain
 * SHA-256 (no salt, no slow hash) is right here because every secret is 256
 * random bits, not a password someone could guess.
 */

import { createHash } from "node:crypto";

/** `prefix` + 32 random bytes in base64url (43 characters): 256 bits, and recognisable in a leaked log. */
export function newSecret(prefix: string): string {
  return prefix + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A short random id for rows people refer to (e.g. `DELETE /join-tokens/:id`): 64 bits in hex. */
export function newId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(8)));
}

/**
 * Hashed in this thread: Web Crypto's digest goes through a worker pool and a promise, which measured 2 % of
 * the control plane's time at 1,000 nodes (every batch checks its node's credential); this is a few µs.
 * Still a promise, so callers need not change if it ever has to go back.
 */
export function sha256Hex(secret: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(secret, "utf8").digest("hex"));
}

/** Compares two hex digests without an early exit, so timing says nothing about how much matched. */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
