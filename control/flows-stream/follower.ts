// SPDX-License-Identifier: Apache-2.0
/**
 * One follower of the flow stream: a bounded queue of lines and the HTTP
 * body that drains it.
 *
 * The body is pulled (highWaterMark 0): the server asks for the next chunk
 * only once the previous one is written (Node's server waits for the socket's
 * "drain", Deno's likewise), so a reader that does not read leaves its lines
 * here, where they are counted. At `maxQueued` records it is dropped: its
 * queue is replaced by one final line saying why (when the replica shuts
 * down, that line comes after what is queued), and its connection ends once
 * that line is written; if the reader takes none of it within `dropGraceMs`,
 * the connection is closed without it. Memory per follower is thus at most
 * `maxQueued` records (shared with the other followers; their lines are made
 * as the connection takes them) plus the socket's buffers.
 */
import type { DropReason, StreamedFlow, StreamFormat } from "./record.ts";

/** A chunk handed to the connection holds at most about this many characters of lines. */
const MAX_CHUNK_CHARS = 64 * 1024;

/** A record (its line is made when the connection takes it: a record dropped unread costs no JSON) or a line. */
type Line = StreamedFlow | string;

export interface FollowerOptions {
  /** Which batches' rows to look at (by the reporting node), and which of those rows to stream. */
  match: { node?: string; row: (r: StreamedFlow) => boolean };
  format: StreamFormat;
  maxQueued: number;
  dropGraceMs: number;
  /** Called once when the follower leaves (it disconnected, was dropped, or its stream ended). */
  onLeave: (follower: Follower, dropped: DropReason | undefined) => void;
  /** Counts records handed to the connection. */
  onStreamed: (records: number) => void;
  /** Ends the connection at once when the stream's own end cannot (a reader that reads nothing). */
  abandon?: () => void;
}

export class Follower {
  readonly stream: ReadableStream<Uint8Array>;
  #queue: Line[] = [];
  #records = 0;
  #state: "open" | "ending" | "closed" = "open";
  #wake: (() => void) | undefined;
  #lastSeq = 0;
  #sentSinceTick = false;
  #grace: ReturnType<typeof setTimeout> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  readonly #o: FollowerOptions;

  constructor(o: FollowerOptions) {
    this.#o = o;
    const encoder = new TextEncoder();
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: async (controller) => {
        while (this.#queue.length === 0 && this.#state !== "closed") await new Promise<void>((r) => this.#wake = r);
        if (this.#state === "closed") return;
        const text = this.#take();
        if (text !== "") controller.enqueue(encoder.encode(text));
        if (this.#state === "ending" && this.#queue.length === 0) this.#close(() => controller.close());
      },
      cancel: () => this.#close(),
    }, { highWaterMark: 0 });
  }

  /** Records queued and not yet handed to the connection. */
  get queued(): number {
    return this.#records;
  }

  /** Whether rows reported by `node` may be for this follower. */
  wants(node: string): boolean {
    return this.#state === "open" && (this.#o.match.node === undefined || this.#o.match.node === node);
  }

  /** Queues `r` when it matches; drops the follower when its queue is full. */
  offer(r: StreamedFlow): void {
    if (this.#state !== "open" || !this.#o.match.row(r)) return;
    if (this.#records >= this.#o.maxQueued) return this.drop("slow_reader");
    this.#push(r);
    this.#records++;
  }

  /** A keep-alive line when nothing was queued since the last tick and nothing waits (one at most). */
  tick(seq: number): void {
    if (this.#state === "open" && !this.#sentSinceTick && this.#queue.length === 0) {
      this.#push(this.#o.format.keepAlive(seq));
    }
    this.#sentSinceTick = false;
  }

  /**
   * Ends the follower with a last line saying why: after what is queued when the replica shuts down, instead of
   * it when the queue is full (a slow reader).
   */
  drop(reason: DropReason): void {
    if (this.#state !== "open") return;
    this.#state = "ending";
    if (reason === "slow_reader") this.#queue = [];
    let seq = this.#lastSeq;
    for (const line of this.#queue) if (typeof line !== "string") seq = line.seq;
    this.#queue.push(this.#o.format.dropped(reason, seq));
    this.#records = 0;
    this.#o.onLeave(this, reason);
    this.#grace = setTimeout(() => {
      // Nothing pulled the final line: the reader reads nothing at all. Node's server waits for the socket to
      // drain before it reads on, so only closing the socket ends it (an error would be logged and written out);
      // elsewhere an errored body ends the connection.
      const { abandon } = this.#o;
      if (abandon) {
        abandon();
        this.#close(() => this.#controller?.close());
      } else this.#close(() => this.#controller?.error(new Error(`follower dropped (${reason})`)));
    }, this.#o.dropGraceMs);
    this.#wake?.();
  }

  #push(line: Line) {
    this.#queue.push(line);
    this.#sentSinceTick = true;
    this.#wake?.();
  }

  /** Lines from the head of the queue, up to a chunk's size. */
  #take(): string {
    let n = 0;
    let records = 0;
    let text = "";
    while (n < this.#queue.length && (n === 0 || text.length < MAX_CHUNK_CHARS)) {
      const line = this.#queue[n++]!;
      if (typeof line === "string") text += line;
      else {
        text += this.#o.format.record(line);
        records++;
        this.#lastSeq = line.seq;
      }
    }
    this.#queue.splice(0, n);
    if (this.#state === "open") this.#records -= records;
    if (records > 0) this.#o.onStreamed(records);
    return text;
  }

  /** Ends the follower once (`end` closes or errors the stream when it is not the reader that went). */
  #close(end?: () => void) {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    clearTimeout(this.#grace);
    this.#queue = [];
    this.#records = 0;
    this.#wake?.();
    try {
      end?.();
    } catch {
      // Already closed by the other side.
    }
    if (wasOpen) this.#o.onLeave(this, undefined);
  }
}
