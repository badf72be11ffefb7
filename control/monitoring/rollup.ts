// SPDX-License-Identifier: Apache-2.0
/**
 * Time buckets: raw (one per batch, at the batch's agent time) → 1 min → 1 h.
 *
 * Time convention: a batch reported at `ts` carries the deltas of the
 * interval ending at `ts`, so its packets belong to the bucket containing
 * ts − 1 ms: a coarse bucket starting at `s` holds reports with
 * s < ts ≤ s + size. (A batch at exactly 12:01:00.000 counts for the 12:00
 * minute, whose packets it counted.) Raw rows keep `bucket = ts`.
 *
 * Every counter is a sum (srtt as sum and samples), flags an OR, so a
 * bucket is exact however its batches are merged into it
 * (control/monitoring-store/rollup.ts adds them in, late ones included).
 */
import type { FlowRow } from "./flows.ts";
import { endpointKey, type StoredEndpoint } from "./attribution.ts";

export const LEVELS = ["raw", "1m", "1h"] as const;
export type Level = (typeof LEVELS)[number];

/** Bucket sizes; raw rows are instants. */
export const BUCKET_MS: Record<Level, number> = { raw: 0, "1m": 60_000, "1h": 3_600_000 };

/** How long each level is kept, in ms (settings). */
export type RetentionSettings = Record<Level, number>;
export const DEFAULT_RETENTION: RetentionSettings = {
  raw: 2 * 3_600_000,
  "1m": 48 * 3_600_000,
  "1h": 30 * 24 * 3_600_000,
};

/** The bucket of `level` that a batch reported at `ts` falls into. */
export function bucketOfReport(level: Level, ts: number): number {
  const size = BUCKET_MS[level];
  return size === 0 ? ts : Math.floor((ts - 1) / size) * size;
}

/**
 * What to delete at time `now`: per level, rows with `bucket ≤ maxBucket`,
 * i.e. buckets entirely older than the retention (bucket end ≤ now − retention).
 */
export function expiredBuckets(now: number, retention: RetentionSettings = DEFAULT_RETENTION): Record<Level, number> {
  const out = {} as Record<Level, number>;
  for (const level of LEVELS) out[level] = now - retention[level] - BUCKET_MS[level];
  return out;
}

/** The finest level still holding data back to `since`. */
export function levelFor(since: number, now: number, retention: RetentionSettings = DEFAULT_RETENTION): Level {
  for (const level of LEVELS) if (since >= now - retention[level]) return level;
  return "1h";
}

/** A stretch of a window read from one level: rows with from ≤ bucket < to (raw: report times in (from, to]). */
export interface WindowPart {
  level: Level;
  from: number;
  to: number;
}

/** A query window on one level, widened to whole buckets, with the seconds the data covers. */
export interface Window extends WindowPart {
  /** Seconds the selected buckets cover, up to `now` for the current bucket: the divisor of rates. */
  seconds: number;
  /**
   * Where sums over the window are read from, when not all from `level`
   * (withHourParts): a 1m window's whole hours come from 1h, the same sums
   * in a sixtieth of the rows. Absent: all from `level`.
   */
  parts?: WindowPart[];
}

/** Report-time window (since, until] on `level`, with `now` bounding the current (partial) bucket. */
export function windowOn(level: Level, since: number, until: number, now: number = until): Window {
  const size = BUCKET_MS[level];
  if (size === 0) return { level, from: since, to: until, seconds: (until - since) / 1000 };
  const from = Math.floor(since / size) * size;
  const to = Math.ceil(until / size) * size;
  return { level, from, to, seconds: (Math.min(to, Math.max(now, from)) - from) / 1000 };
}

/**
 * `w` (on 1m) with the whole hours inside it read from 1h, when the 1h
 * level still holds them at `now`; the minutes before the first whole hour
 * and after the last stay on 1m. Sums are the same (every batch is in both
 * levels, or still raw and added to either), but a day takes 24 hour
 * buckets and at most two hours of minutes instead of 1,440 minutes.
 * Series by minute (charts) read `level` alone.
 */
export function withHourParts(w: Window, now: number, retention: RetentionSettings = DEFAULT_RETENTION): Window {
  const hour = BUCKET_MS["1h"];
  const first = Math.ceil(w.from / hour) * hour;
  const last = Math.floor(w.to / hour) * hour;
  if (w.level !== "1m" || last <= first || first <= now - retention["1h"]) return w;
  const parts: WindowPart[] = [
    { level: "1m", from: w.from, to: first },
    { level: "1h", from: first, to: last },
    { level: "1m", from: last, to: w.to },
  ];
  return { ...w, parts: parts.filter((p) => p.to > p.from) };
}

export interface Talker {
  /** "pod:<uid>" (pods mode) or "<client key>→<server key>" (pairs mode). */
  key: string;
  /** The pod (pods mode) or client (pairs mode). */
  a: StoredEndpoint;
  /** The server (pairs mode). */
  b?: StoredEndpoint;
  bytes: number;
  packets: number;
}

/**
 * Top N by bytes (both directions) over some flow rows (e.g. a window's).
 * "pairs": client → server, any endpoint, over all ports; "pods": each pod
 * with everything it sent and received (a pod → pod row counts for both
 * pods). Ties: by key, so the order is stable.
 */
export function topTalkers(rows: readonly FlowRow[], n: number, by: "pairs" | "pods"): Talker[] {
  const out = new Map<string, Talker>();
  const add = (key: string, a: StoredEndpoint, b: StoredEndpoint | undefined, r: FlowRow) => {
    const t = out.get(key) ?? { key, a, ...(b ? { b } : {}), bytes: 0, packets: 0 };
    t.bytes += r.fwdBytes + r.revBytes;
    t.packets += r.fwdPackets + r.revPackets;
    out.set(key, t);
  };
  for (const r of rows) {
    if (by === "pairs") add(`${endpointKey(r.client)}→${endpointKey(r.server)}`, r.client, r.server, r);
    else {
      for (
        const e of r.client.kind === "pod" && endpointKey(r.client) === endpointKey(r.server)
          ? [r.client]
          : [r.client, r.server]
      ) {
        if (e.kind === "pod") add(endpointKey(e), e, undefined, r);
      }
    }
  }
  return [...out.values()].sort((x, y) => y.bytes - x.bytes || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).slice(
    0,
    Math.max(0, n),
  );
}
