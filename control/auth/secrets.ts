/**
 * Secrets (admin token, join tokens, node credentials) are random, shown once,
 * and kept only as SHA-256: the database alone never lets anyone in.
 *
 * Web Crypto only, so this runs unchanged under Node and Deno. A plain
 * SHA-256 (no salt, no slow hash) is right here because every secret is 256
 * random bits, not a password someone could guess.
 */

const encoder = new TextEncoder();

/** `prefix` + 32 random bytes in base64url (43 characters): 256 bits, and recognisable in a leaked log. */
export function newSecret(prefix: string): string {
  return prefix + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A short random id for rows people refer to (e.g. `DELETE /join-tokens/:id`): 64 bits in hex. */
export function newId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(8)));
}

export async function sha256Hex(secret: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret))));
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
