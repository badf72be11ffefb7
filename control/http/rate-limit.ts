// SPDX-License-Identifier: Apache-2.0
/**
 * Token buckets in memory, one per key (a node, a client address).
 *
 * A bucket holds up to `burst` tokens and regains `ratePerSec` per second; a
 * request takes one. The state lives in this process only: with several
 * replicas each enforces its own share, which is enough to keep one agent or
 * one client from flooding any of them.
 */
import { jsonError } from "./json.ts";

export interface BucketSettings {
  ratePerSec: number;
  burst: number;
  now: () => number;
  /** Beyond this many keys, full buckets (indistinguishable from new ones) are forgotten. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(private readonly settings: BucketSettings) {
    this.maxKeys = settings.maxKeys ?? 10_000;
  }

  /** Takes a token: 0 when allowed, otherwise whole seconds until one is available. */
  take(key: string): number {
    const wait = this.waitSeconds(key);
    if (wait === 0) this.bucket(key).tokens -= 1;
    return wait;
  }

  /** Whole seconds until `key` may make a request (0: now), without taking a token. */
  waitSeconds(key: string): number {
    const { tokens } = this.bucket(key);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.settings.ratePerSec));
  }

  /** The bucket of `key`, refilled up to now. */
  private bucket(key: string): Bucket {
    const now = this.settings.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.prune();
      bucket = { tokens: this.settings.burst, at: now };
      this.buckets.set(key, bucket);
    } else if (now > bucket.at) {
      bucket.tokens = Math.min(
        this.settings.burst,
        bucket.tokens + ((now - bucket.at) / 1000) * this.settings.ratePerSec,
      );
      bucket.at = now;
    }
    return bucket;
  }

  private prune() {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key] of this.buckets) if (this.bucket(key).tokens >= this.settings.burst) this.buckets.delete(key);
    // Still full of busy keys: forget the oldest (it starts over with a full bucket).
    for (const [key] of this.buckets) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

/** 429 with Retry-After, for a bucket that said to wait `seconds`. */
export function tooManyRequests(what: string, seconds: number): Response {
  const res = jsonError(429, `too many ${what}; retry in ${seconds} s`, { retryAfterSeconds: seconds });
  res.headers.set("Retry-After", String(seconds));
  return res;
}
