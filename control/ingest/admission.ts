// SPDX-License-Identifier: Apache-2.0
/**
 * Ingest admission: a bound on the batches this process works on at once.
 *
 * Why: a batch costs the event loop a few milliseconds (reading, JSON, schema,
 * the store), so a control plane offered more batches than it can store does
 * not fail, it falls behind: every batch waits behind all the others. Measured
 * before this existed (control/bench/ingest.ts, 2 cores): 3,000 simulated nodes
 * gave p99 57 s and connection errors, 5,000 nodes a third of the requests
 * failed outright. Shedding instead: at most `maxInFlight` batches are read,
 * parsed and stored at once, at most `maxQueued` more wait for a slot, each at
 * most `maxQueueMs`; anything beyond is answered 503 with Retry-After at once,
 * before its body is read. The agent keeps a refused batch and sends it again
 * later (agent/delivery.ts), so nothing is lost: it arrives when there is room.
 *
 * A batch that is read and valid hands its slot on while it waits for its
 * commit (handOff), at most `maxStoring` of them: batches that queue for the
 * database then share a commit (control/db/group-commit.ts). With the slot
 * held to the end, one batch at a time, each paid a sync of its own (a fifth
 * of a batch's cost measured at 1,000 nodes). The bound keeps what waits
 * decoded in memory, and the longest turn of the event loop a group takes,
 * small.
 *
 * A refusal happens before the batch is looked at, so a refused batch is never
 * partly stored. The state is this process's own: with several replicas each
 * bounds its own work, and /metrics of each says its own load.
 */
import { jsonError } from "../http/json.ts";
import { RetrySchedule } from "./retry-schedule.ts";

export interface AdmissionSettings {
  /** Slots: batches read and parsed at once (each also stored in its slot, unless it hands the slot on). */
  maxInFlight: number;
  /** Batches read and valid that have handed their slot on and wait for their commit; 0: never handed on. */
  maxStoring: number;
  /** Batches waiting for a slot; one more is refused at once. 0: no waiting. */
  maxQueued: number;
  /** Longest a batch waits for a slot before it is refused. */
  maxQueueMs: number;
  /** The shortest Retry-After of a refusal, whole seconds; under a run of refusals they are spread further out. */
  retryAfterSeconds: number;
  /** The longest Retry-After (retry-schedule.ts). Default: retryAfterSeconds, which makes it fixed. */
  maxRetryAfterSeconds?: number;
}

/** Why a batch was refused: every slot and queue place taken, or no slot within maxQueueMs. */
export const SHED_REASONS = ["queue_full", "queue_timeout"] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

/** Upper bounds (seconds) of the queue-wait histogram's buckets; the last, +Inf, is implied. */
export const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

/** Refusals count as "recent" for this long after the latest (what the overview shows). */
export const RECENT_SHEDDING_MS = 5 * 60_000;

/** A run of refusals with less than RECENT_SHEDDING_MS between one and the next. */
export interface SheddingEpisode {
  /** First and latest refusal (the app's clock, ms). */
  since: number;
  lastAt: number;
  refused: number;
}

export interface AdmissionSnapshot {
  settings: AdmissionSettings;
  inFlight: number;
  /** Batches that handed their slot on and wait for their commit. */
  storing: number;
  queued: number;
  /** Since start: batches given a slot, and refused by reason. */
  admitted: number;
  shed: Record<ShedReason, number>;
  /** Time to a slot, or to a refusal after waiting; a batch refused at once is not in it. Cumulative counts per bucket. */
  queueWait: { buckets: number[]; sum: number; count: number };
  /** The latest run of refusals, if any. */
  episode: SheddingEpisode | null;
  /** Admissions per second (the last few seconds), and the Retry-After a refusal would get now. */
  admitRate: number;
  retryAfterSeconds: number;
}

interface Waiter {
  enqueuedAt: number;
  timer: ReturnType<typeof setTimeout>;
  settle: (outcome: "admitted" | "queue_timeout") => void;
}

export class IngestAdmission {
  #inFlight = 0;
  #storing = 0;
  /** FIFO; at most maxQueued long, so removing from the middle (a timeout) is cheap. */
  readonly #queue: Waiter[] = [];
  #admitted = 0;
  readonly #shed: Record<ShedReason, number> = { queue_full: 0, queue_timeout: 0 };
  readonly #waitBuckets: number[] = QUEUE_WAIT_BUCKETS.map(() => 0);
  #waitSum = 0;
  #waitCount = 0;
  #episode: SheddingEpisode | null = null;
  readonly #retry: RetrySchedule;

  /** `now`: the app's clock, for the shedding episode (the queue and the retry slots run on the monotonic clock). */
  constructor(readonly settings: AdmissionSettings, private readonly now: () => number = Date.now) {
    this.#retry = new RetrySchedule(
      settings.retryAfterSeconds,
      Math.max(settings.retryAfterSeconds, settings.maxRetryAfterSeconds ?? settings.retryAfterSeconds),
    );
  }

  /**
   * Runs `work` (read, parse and store one batch) in a slot, waiting for one
   * if need be; answers 503 with Retry-After instead when there is none.
   * `work` calls `handOff` once the batch is read and valid, before it waits
   * for the store: the slot passes on if fewer than maxStoring batches wait
   * so, else it is kept to the end.
   */
  async run(work: (handOff: () => void) => Promise<Response>): Promise<Response> {
    const outcome = await this.#enter();
    if (outcome !== "admitted") return this.#refuse(outcome);
    let holds: "slot" | "storing" = "slot";
    const handOff = () => {
      if (holds !== "slot" || this.#storing >= this.settings.maxStoring) return;
      holds = "storing";
      this.#storing++;
      this.#leave();
    };
    try {
      return await work(handOff);
    } finally {
      if (holds === "slot") this.#leave();
      else this.#storing--;
    }
  }

  /**
   * 503 when every slot and queue place is taken, else undefined: for the route to ask before its own
   * cheaper-than-a-batch checks (the credential's lookup), so that a refusal under overload costs nothing
   * but its answer. A batch that passes still takes its slot through run().
   */
  refuseIfFull(): Response | undefined {
    const full = this.#inFlight >= this.settings.maxInFlight && this.#queue.length >= this.settings.maxQueued;
    return full ? this.#refuse("queue_full") : undefined;
  }

  snapshot(): AdmissionSnapshot {
    let cumulative = 0;
    return {
      settings: this.settings,
      inFlight: this.#inFlight,
      storing: this.#storing,
      queued: this.#queue.length,
      admitted: this.#admitted,
      shed: { ...this.#shed },
      queueWait: {
        buckets: this.#waitBuckets.map((n) => (cumulative += n)),
        sum: this.#waitSum,
        count: this.#waitCount,
      },
      episode: this.#episode && { ...this.#episode },
      admitRate: this.#retry.rate(performance.now()),
      retryAfterSeconds: this.#retry.peek(performance.now()),
    };
  }

  #enter(): Promise<"admitted" | ShedReason> | "admitted" | ShedReason {
    if (this.#inFlight < this.settings.maxInFlight && this.#queue.length === 0) {
      this.#inFlight++;
      this.#admit();
      this.#observeWait(0);
      return "admitted";
    }
    if (this.#queue.length >= this.settings.maxQueued) return "queue_full";
    return new Promise((settle) => {
      const waiter: Waiter = {
        enqueuedAt: performance.now(),
        settle,
        timer: setTimeout(() => {
          this.#queue.splice(this.#queue.indexOf(waiter), 1);
          this.#observeWait(performance.now() - waiter.enqueuedAt);
          settle("queue_timeout");
        }, this.settings.maxQueueMs),
      };
      this.#queue.push(waiter);
    });
  }

  #leave(): void {
    this.#inFlight--;
    const next = this.#queue.shift();
    if (next === undefined) return;
    clearTimeout(next.timer);
    // The slot passes straight to the oldest waiter: a newcomer cannot overtake it.
    this.#inFlight++;
    this.#admit();
    this.#observeWait(performance.now() - next.enqueuedAt);
    next.settle("admitted");
  }

  #admit(): void {
    this.#admitted++;
    this.#retry.admitted(performance.now());
  }

  #refuse(reason: ShedReason): Response {
    this.#shed[reason]++;
    const at = this.now();
    if (this.#episode === null || at - this.#episode.lastAt > RECENT_SHEDDING_MS) {
      this.#episode = { since: at, lastAt: at, refused: 0 };
    }
    this.#episode.lastAt = at;
    this.#episode.refused++;
    const { maxInFlight, maxQueued } = this.settings;
    const retryAfterSeconds = this.#retry.refused(performance.now());
    const res = jsonError(
      503,
      `control plane at capacity (${maxInFlight} slot(s) taken, ${maxQueued} waiting; ` +
        `${this.#storing} more waiting to be stored); ` +
        `keep the batch and retry in ${retryAfterSeconds} s`,
      { reason, retryAfterSeconds },
    );
    res.headers.set("Retry-After", String(retryAfterSeconds));
    return res;
  }

  #observeWait(ms: number): void {
    const seconds = ms / 1000;
    const i = QUEUE_WAIT_BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) this.#waitBuckets[i]!++;
    this.#waitSum += seconds;
    this.#waitCount++;
  }
}
