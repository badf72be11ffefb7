// SPDX-License-Identifier: Apache-2.0
/**
 * Pods appear and vanish live. Each node's batch lists the pods it has now;
 * a pod missing from a later batch of its node has vanished (from that
 * batch's time on), and is dropped once a grace period has passed (on the
 * control plane's clock: the `pods` query lists it until then, and
 * maintenance deletes it; control/monitoring-store/); a pod that comes back
 * within it simply continues.
 *
 * Batches can arrive out of order (an agent emptying its spool): a batch
 * only changes entries it is not older than, so an old batch neither
 * resurrects a vanished pod nor makes a current one vanish.
 */
import { NO_RATES, type Rates, ratesBetween } from "../ingest/rates.ts";
import type { PodReport } from "../wire/monitoring.ts";

/** Setting: how long a vanished pod stays listed (and its series kept) before it is dropped. */
export const DEFAULT_POD_GRACE_MS = 5 * 60_000;

export interface PodPresence {
  uid: string;
  node: string;
  firstSeen: number;
  lastSeen: number;
  /** Time of the first batch of its node without it. */
  vanishedAt?: number;
}

export interface PresenceUpdate {
  presence: PodPresence[];
  appeared: string[];
  vanished: string[];
  /** Vanished pods seen again. */
  returned: string[];
}

const lastChange = (p: PodPresence) => Math.max(p.lastSeen, p.vanishedAt ?? -Infinity);

/** Applies one batch of `node` at agent time `ts` listing `uids`; other nodes' entries are untouched. Sorted by uid. */
export function observePods(
  prev: readonly PodPresence[],
  node: string,
  ts: number,
  uids: Iterable<string>,
): PresenceUpdate {
  const now = new Set(uids);
  const out = new Map<string, PodPresence>();
  const appeared: string[] = [], vanished: string[] = [], returned: string[] = [];
  for (const p of prev) {
    if (p.node !== node && !now.has(p.uid)) {
      out.set(p.uid, p);
      continue;
    }
    if (p.node === node && ts < lastChange(p)) {
      out.set(p.uid, p); // an older batch: knows less than we do
      now.delete(p.uid);
      continue;
    }
    if (now.has(p.uid)) {
      if (p.node !== node) continue; // listed by another node now: treated as new there (below)
      if (p.vanishedAt !== undefined) returned.push(p.uid);
      out.set(p.uid, { uid: p.uid, node, firstSeen: p.firstSeen, lastSeen: ts });
      now.delete(p.uid);
    } else if (p.vanishedAt === undefined) {
      vanished.push(p.uid);
      out.set(p.uid, { ...p, vanishedAt: ts });
    } else {
      out.set(p.uid, p);
    }
  }
  for (const uid of now) {
    appeared.push(uid);
    out.set(uid, { uid, node, firstSeen: ts, lastSeen: ts });
  }
  const byUid = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    presence: [...out.values()].sort((a, b) => byUid(a.uid, b.uid)),
    appeared: appeared.sort(byUid),
    vanished: vanished.sort(byUid),
    returned: returned.sort(byUid),
  };
}

/** A PodReport's counters with the agent time of the batch that carried it. */
export type TimedPodCounters =
  & Pick<PodReport, "uid" | "rxPackets" | "rxBytes" | "txPackets" | "txBytes" | "drops" | "ifindex">
  & { ts: number };

/**
 * Pod RX/TX rates from two successive reports of the same pod and agent boot
 * (the caller checks the boot): like interface rates, none when time did not
 * advance, a counter went down, or the pod's veth changed (its counters
 * restarted with a new sandbox). RX is what the pod received.
 */
export function podRates(prev: TimedPodCounters | undefined, cur: TimedPodCounters): Rates {
  if (prev === undefined || prev.uid !== cur.uid) return NO_RATES;
  const asIf = (c: TimedPodCounters) => ({
    ifindex: c.ifindex ?? 0,
    ts: c.ts,
    rxPackets: c.rxPackets,
    rxBytes: c.rxBytes,
    txPackets: c.txPackets,
    txBytes: c.txBytes,
    drops: c.drops,
  });
  return ratesBetween(asIf(prev), asIf(cur));
}
