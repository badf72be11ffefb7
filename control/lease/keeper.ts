// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the work that must run once among replicas (control/main.ts: the
 * Kubernetes sync, rollups and retention, alert evaluation) only while this
 * replica holds the lease (lease.ts).
 *
 * Every `renewMs` one attempt takes or renews the lease; the work starts
 * when it is held and stops when it is not. A timer at the holder's own
 * deadline (`validUntil`, lease minus a margin after the last renewal was
 * sent) stops the work when renewals fail, so it has stopped before another
 * replica may take over. The work also gets the fencing check for its write
 * transactions. Each job's stop() is expected to end a run in progress soon
 * (maintenance stops between two transactions).
 *
 * step() and enforce() are what the timers call; tests call them directly
 * with a controlled clock.
 */
import type { Db } from "../db/client.ts";
import { type Fence, Lease } from "./lease.ts";

export interface LeaseSettings {
  /** How long a lease lasts without renewal. */
  leaseMs: number;
  /** How often the holder renews (and others try to take over); also the fencing margin. */
  renewMs: number;
}

/** What a job gets for its tenure. */
export interface Tenure {
  /** Call inside each write transaction whose effect must come from the holder only; throws LeaseLost. */
  fence: Fence;
}

export interface Running {
  /** Stops the job and waits for a run in progress. */
  stop(): Promise<void>;
}

export interface OnceOnlyJob {
  /** For the log. */
  name: string;
  start(tenure: Tenure): Running | Promise<Running>;
}

/** This replica's view of the lease, for /metrics, /readyz and the pages. */
export interface LeaseStatus {
  replica: string;
  /** True while this replica holds the lease and its work runs (or is starting). */
  held: boolean;
  /** The holder as last read or written by this replica (null: none seen yet), and that lease's expiry. */
  holder: string | null;
  expiresAt: number | null;
  /** Times this replica took the lease (a renewal is not counted), and renewal attempts that failed with an error. */
  acquisitions: number;
  failures: number;
}

export interface KeeperOptions extends LeaseSettings {
  db: Db;
  replica: string;
  name: string;
  now?: () => number;
  log?: (msg: string) => void;
}

export class LeaseKeeper {
  readonly lease: Lease;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private held = false;
  private validUntil = 0;
  private seen: { holder: string; expiresAt: number } | null = null;
  private counts = { acquisitions: 0, failures: 0 };
  private running: Running[] | null = null;
  /** Starts and stops, one after the other. */
  private transitions: Promise<void> = Promise.resolve();
  private stepping: Promise<void> | undefined;
  private timers: { renew?: ReturnType<typeof setInterval>; fence?: ReturnType<typeof setTimeout> } = {};
  private stopped = false;
  /** Started with timers (start()), rather than stepped by hand. */
  private timed = false;

  constructor(private readonly o: KeeperOptions, private readonly jobs: OnceOnlyJob[]) {
    if (!(o.renewMs > 0 && o.leaseMs >= 3 * o.renewMs)) {
      throw new Error(`a lease of ${o.leaseMs} ms needs renewals at most every third of it (got ${o.renewMs} ms)`);
    }
    this.now = o.now ?? Date.now;
    this.log = o.log ?? ((m) => console.log(`lease: ${m}`));
    this.lease = new Lease(o.db, {
      name: o.name,
      holder: o.replica,
      leaseMs: o.leaseMs,
      marginMs: o.renewMs,
      now: this.now,
    });
  }

  /** Tries at once, then every renewMs; the timers do not keep the process alive. */
  start(): void {
    this.timed = true;
    this.timers.renew = setInterval(() => void this.step(), this.o.renewMs);
    unref(this.timers.renew);
    void this.step();
  }

  /** One attempt to take or renew, then the work started or stopped to match. Never throws. */
  step(): Promise<void> {
    // A slow attempt (a busy database) is not stacked up behind: the next tick is skipped.
    this.stepping ??= this.attempt().finally(() => (this.stepping = undefined));
    return this.stepping;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let result;
    try {
      result = await this.lease.attempt();
    } catch (err) {
      this.counts.failures++;
      // Not renewed: the deadline set by the last success stands, and the fence timer enforces it.
      const then = this.held ? "; the work stops at the deadline unless a renewal succeeds by then" : "";
      this.log(`taking or renewing the lease failed (${(err as Error).message})${then}`);
      return this.enforce();
    }
    if (this.stopped) return;
    // An answer that took longer than the lease's margin arrives past its own deadline: it does not count.
    if (result.held && result.validUntil > this.now()) {
      if (!this.held) {
        this.counts.acquisitions++;
        const from = this.seen && this.seen.holder !== this.o.replica ? ` from ${this.seen.holder}` : "";
        this.log(`${this.o.replica} took the lease${from}: running ${this.jobs.map((j) => j.name).join(", ")}`);
      }
      this.held = true;
      this.validUntil = result.validUntil;
      this.seen = { holder: this.o.replica, expiresAt: result.expiresAt };
      this.armFence();
      await this.transition(true);
    } else if (result.held) {
      await this.lose("renewed too late");
    } else {
      if (result.current) this.seen = { holder: result.current.holder, expiresAt: result.current.expiresAt };
      await this.lose(`held by ${result.current?.holder ?? "another replica"}`);
    }
  }

  /** The fence: past its deadline, a holder that did not renew stops its work. */
  async enforce(): Promise<void> {
    if (this.held && this.now() >= this.validUntil) await this.lose("not renewed in time");
    else await this.transitions;
  }

  status(): LeaseStatus {
    return {
      replica: this.o.replica,
      held: this.held,
      holder: this.seen?.holder ?? null,
      expiresAt: this.seen?.expiresAt ?? null,
      ...this.counts,
    };
  }

  /** Stops the timers and the work, then releases the lease so another replica takes over at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timers.renew);
    clearTimeout(this.timers.fence);
    await this.stepping;
    const wasHeld = this.held;
    this.held = false;
    await this.transition(false);
    if (!wasHeld) return;
    try {
      await this.lease.release();
      this.log(`${this.o.replica} released the lease`);
    } catch (err) {
      this.log(`releasing failed (${(err as Error).message}); another replica takes over when it expires`);
    }
  }

  private async lose(why: string): Promise<void> {
    if (this.held) this.log(`${this.o.replica} lost the lease (${why}): stopping its work`);
    this.held = false;
    clearTimeout(this.timers.fence);
    await this.transition(false);
  }

  private armFence(): void {
    clearTimeout(this.timers.fence);
    if (!this.timed) return; // driven by hand (tests): enforce() is called directly
    const deadline = this.validUntil;
    // A renewal meanwhile moves the deadline (and re-arms); without one, this deadline is final.
    this.timers.fence = setTimeout(() => {
      if (this.held && this.validUntil === deadline) void this.lose("not renewed in time");
    }, Math.max(0, deadline - this.now()));
    unref(this.timers.fence);
  }

  /** Starts or stops the jobs, after whatever start or stop is under way. */
  private transition(run: boolean): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      if (run && this.running === null && this.held && !this.stopped) {
        const tenure: Tenure = { fence: (tx) => this.lease.check(tx) };
        const running: Running[] = (this.running = []);
        for (const job of this.jobs) {
          try {
            running.push(await job.start(tenure));
          } catch (err) {
            this.log(`starting ${job.name} failed: ${(err as Error).message}`);
          }
        }
      } else if (!run && this.running !== null) {
        const jobs = this.running;
        this.running = null;
        await Promise.all(jobs.map((j) => j.stop().catch(() => undefined)));
      }
    });
    return this.transitions;
  }
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
