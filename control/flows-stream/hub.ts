// SPDX-License-Identifier: Apache-2.0
/**
 * The flow stream hub of one control-plane replica: the flow rows of each
 * batch this replica stores, published once the batch's transaction has
 * committed (control/ingest/store.ts tells it, never for a rolled-back batch
 * nor a duplicate), numbered, and offered to every follower (follower.ts).
 *
 * Per replica, by choice: a follower sees the batches of the replica it is
 * connected to. The database is not polled (no extra reads on the hot path,
 * and a record is in a follower's queue in the event loop's next turn after
 * its commit, once the batches' answers are on their way); with several replicas a user follows each one, or the one
 * a sticky load balancer keeps them on (docs/api.md, GET /api/v1/flows/stream).
 */
import type { Db } from "../db/client.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { Follower, type FollowerOptions } from "./follower.ts";
import { DROP_REASONS, type DropReason, StreamedBatch, StreamedFlow, type StreamFormat } from "./record.ts";

export interface FlowStreamSettings {
  /** Followers at once on this replica; one more is answered 503 with Retry-After. */
  maxFollowers: number;
  /** Records queued for a follower that does not read; one more drops it. */
  maxQueued: number;
  /** A follower that was sent nothing for this long gets a keep-alive line, so proxies do not cut it. */
  keepAliveMs: number;
  /** How long a dropped follower has to read its final line before its connection is closed without it. */
  dropGraceMs: number;
}

export const DEFAULT_FLOW_STREAM_SETTINGS: FlowStreamSettings = {
  maxFollowers: 100,
  maxQueued: 4096,
  keepAliveMs: 15_000,
  dropGraceMs: 5_000,
};

/** What /metrics shows of the hub (control/metrics/flow-stream.ts). */
export interface FlowStreamSnapshot {
  followers: number;
  maxFollowers: number;
  /** Records waiting in followers' queues (each at most maxQueued). */
  queued: number;
  published: number;
  streamed: number;
  refused: number;
  dropped: Record<DropReason, number>;
}

/** The hubs of the apps serving each database, so that a shutdown can end their streams (endFollowers). */
const hubsOf = new WeakMap<object, Set<FlowStreamHub>>();

/** Ends the streams of every app on `db` (control/main.ts, on SIGTERM, beside the agents' long polls). */
export function endFollowers(db: Db): void {
  for (const hub of hubsOf.get(db.$client) ?? []) hub.end();
}

/** A batch published and not yet offered. */
interface Published {
  node: string;
  ts: number;
  storedAt: number;
  rows: readonly FlowRow[];
}

export class FlowStreamHub {
  readonly settings: FlowStreamSettings;
  #seq = 0;
  #pending: Published[] = [];
  #followers = new Set<Follower>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #streamed = 0;
  #refused = 0;
  #dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  readonly #now: () => number;

  /** `db`: the database the app serves, for endFollowers. */
  constructor(settings: Partial<FlowStreamSettings> = {}, now: () => number = Date.now, db?: Db) {
    this.settings = { ...DEFAULT_FLOW_STREAM_SETTINGS, ...settings };
    this.#now = now;
    if (db !== undefined) {
      let hubs = hubsOf.get(db.$client);
      if (hubs === undefined) hubsOf.set(db.$client, hubs = new Set());
      hubs.add(this);
    }
  }

  /**
   * A committed batch's flow rows, in commit order. They are offered to the followers in the event loop's next
   * turn, in the order published: the answers to the batches of a commit (which wait on each other's reactions)
   * go out first, so following costs the agents no latency.
   */
  publish(node: string, ts: number, rows: readonly FlowRow[]): void {
    if (this.#followers.size === 0 && this.#pending.length === 0) {
      this.#seq += rows.length;
      return;
    }
    this.#pending.push({ node, ts, storedAt: this.#now(), rows });
    if (this.#pending.length === 1) setImmediate(() => this.#offerPending());
  }

  #offerPending(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#offer(p);
  }

  #offer({ node, ts, storedAt, rows }: Published): void {
    // Those that follow this node or any (a follower dropped meanwhile leaves the set, and is told nothing more).
    const followers = [...this.#followers].filter((f) => f.wants(node));
    if (followers.length === 0) {
      this.#seq += rows.length;
      return;
    }
    const batch = new StreamedBatch(node, ts, storedAt);
    for (const row of rows) {
      const record = new StreamedFlow(++this.#seq, batch, row);
      for (const f of followers) f.offer(record);
    }
  }

  /**
   * A new follower, or undefined when this replica has `maxFollowers` already.
   * `abandon` ends its connection when the stream's own end cannot (see follower.ts).
   */
  follow(match: FollowerOptions["match"], format: StreamFormat, abandon?: () => void): Follower | undefined {
    if (this.#followers.size >= this.settings.maxFollowers) {
      this.#refused++;
      return undefined;
    }
    const follower = new Follower({
      match,
      format,
      maxQueued: this.settings.maxQueued,
      dropGraceMs: this.settings.dropGraceMs,
      abandon,
      onStreamed: (n) => this.#streamed += n,
      onLeave: (f, reason) => this.#leave(f, reason),
    });
    this.#followers.add(follower);
    this.#ticker ??= setInterval(() => {
      for (const f of this.#followers) f.tick(this.#seq);
    }, this.settings.keepAliveMs);
    return follower;
  }

  /** Drops every follower with a final line (shutting down: open streams would hold the server's close). */
  end(): void {
    this.#offerPending(); // what was committed before the shutdown comes before its last line
    for (const f of [...this.#followers]) f.drop("shutdown");
  }

  snapshot(): FlowStreamSnapshot {
    return {
      followers: this.#followers.size,
      maxFollowers: this.settings.maxFollowers,
      queued: [...this.#followers].reduce((n, f) => n + f.queued, 0),
      published: this.#seq,
      streamed: this.#streamed,
      refused: this.#refused,
      dropped: { ...this.#dropped },
    };
  }

  #leave(f: Follower, reason: DropReason | undefined) {
    if (!this.#followers.delete(f)) return;
    if (reason !== undefined) this.#dropped[reason]++;
    if (this.#followers.size === 0) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }
}
