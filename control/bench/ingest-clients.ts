// SPDX-License-Identifier: Apache-2.0
/**
 * The benchmark's load generator, run as a child process of
 * control/bench/ingest.ts so that building and sending requests does not
 * share an event loop with the server it measures.
 *
 * Protocol (IPC): receives one ClientJob; sends { phase: "posting" } when
 * every node has joined, { phase: "draining" } when no more batches are made,
 * then one ClientResult; exits.
 *
 * Every node joins first. Then each behaves as the real agent does
 * (agent/agent.ts, agent/delivery.ts): node i makes a batch at
 * start + i·interval/N and every interval after that (evenly staggered, no
 * drift) into its spool, and at each of those ticks sends its spool oldest
 * first, one batch at a time, until it is empty or a batch is refused. A
 * refused batch (503 or 429) stays in the spool, and the node sends nothing
 * before the Retry-After has passed, jittered as the agent does
 * (control/wire/retry.ts); a connection error waits for the next tick. After
 * `durationMs` no batch is made, and the nodes go on until their spools are
 * empty (at most `drainMs`): the control plane must then hold every batch.
 *
 * Batches travel as the agent sends them (agent/wire_encoding.ts), in the
 * job's encoding: compact + gzip, each node with the hashes of its last
 * acknowledged batch's inventory and pods' metadata, and on 412 the same
 * batch again at once whole (the exchange both share:
 * control/wire/compact/held-hashes.ts); or plain JSON, as wire version 3 and
 * before, to measure both side by side.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Batch } from "../wire/batch.ts";
import { type CompactBody, type CompactOutcome, HeldHashes, sendCompact } from "../wire/compact/held-hashes.ts";
import { UNKNOWN_PART_STATUS, UnknownPartAnswer } from "../wire/compact/http.ts";
import { jitteredRetryMs } from "../wire/retry.ts";
import { batchFor, inventoryFor, nodeName, type NodeShape, recordsOf } from "./simulated-node.ts";

export interface ClientJob {
  url: string;
  joinToken: string;
  nodes: number;
  shape: NodeShape;
  intervalMs: number;
  durationMs: number;
  /** After the last batch is made, how long the nodes may take to deliver their spools. */
  drainMs: number;
  /** How batches travel: compact + gzip as the agent sends them (the default), or plain JSON (wire version 3). */
  encoding?: "json" | "compact";
}

/** What one node made and got acknowledged: the control plane must hold seqs 1..made of bootId. */
export interface NodeSent {
  bootId: string;
  made: number;
  acked: number;
}

export interface ClientResult {
  joinMs: number;
  /** Per accepted batch: ms from sending the request to reading the whole answer. */
  latenciesMs: number[];
  /** The same per refused batch (503 or 429): how long the refusal took. */
  refusedMs: number[];
  statuses: Record<string, number>;
  /** The posting phase (batches made), ms of client clock. */
  elapsedMs: number;
  /** From the end of posting until every spool was empty; null when they were not within drainMs. */
  drainMs: number | null;
  /** Flow, TCP and drop records in the batches accepted during the posting phase. */
  recordsAccepted: number;
  /**
   * During the posting phase, per batch sent and answered (a 412 and the batch's whole resend are one): the
   * bytes of its request bodies as they travelled (gzipped when compact), and its flow records. Their ratio is
   * the bytes per flow record on the wire.
   */
  bodyBytesSent: number;
  flowRecordsSent: number;
  /**
   * The same for the batches after each node's first acknowledged one: the steady state, where a compact batch
   * names the inventory and pods' metadata by hash (the first, after an agent starts, carries them whole).
   */
  steadyBodyBytesSent: number;
  steadyFlowRecordsSent: number;
  /** Batches accepted during the posting phase. */
  acceptedWhilePosting: number;
  /** Requests that got no HTTP answer (refused connection, reset, no answer within the agent's timeout). */
  connectionErrors: number;
  /** Answers other than 200, 429 and 503 (the batch stays spooled, as the agent would keep it). */
  unexpectedAnswers: number;
  /** The first few of those and of the connection errors, as text. */
  errors: string[];
  /** This process's event loop delay, p99 ms, while posting: high means the latencies include the generator's own lag. */
  loopP99: number;
  nodes: NodeSent[];
}

const JOIN_CONCURRENCY = 50;
/** The agent's own request timeout (agent/control_api.ts). */
const REQUEST_TIMEOUT_MS = 5000;
const ERRORS_KEPT = 10;

interface SimNode {
  index: number;
  bootId: string;
  credential: string;
  /** Seqs made and not acknowledged, oldest first, with the agent clock they were made at (resent as they were). */
  spool: Array<{ seq: number; ts: number }>;
  /** The head of the spool, kept while it is refused: resent as it was, and not built again. */
  head?: { seq: number; batch: Batch; json?: string; records: number; flows: number };
  /** What the control plane holds for this node (compact): the hashes of its last acknowledged batch. */
  held: HeldHashes;
  made: number;
  acked: number;
  notBefore: number;
  sending: boolean;
  /** Past the posting phase with an empty spool (or given up): this node is through. */
  done: boolean;
  /** When its spool was last emptied (performance.now()). */
  emptiedAt: number;
}

/** An answer read whole, or the error that left a request without one. */
type Reply = { status: number; text: string; retryAfter: string | null } | { error: Error };

/** What an answer means to the compact exchange: a 412 is the contract's only when its body says so. */
function outcome(reply: Reply): CompactOutcome {
  if ("error" in reply) return "other";
  if (reply.status === 200) return "acknowledged";
  if (reply.status !== UNKNOWN_PART_STATUS) return "other";
  try {
    return UnknownPartAnswer.safeParse(JSON.parse(reply.text)).success ? "unknown part" : "other";
  } catch {
    return "other";
  }
}

async function joinAll(job: ClientJob): Promise<string[]> {
  const credentials: string[] = new Array(job.nodes);
  for (let first = 0; first < job.nodes; first += JOIN_CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(JOIN_CONCURRENCY, job.nodes - first) }, async (_, k) => {
        const i = first + k;
        const res = await fetch(`${job.url}/api/v1/join`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: job.joinToken, node: nodeName(i) }),
        });
        if (res.status !== 200) throw new Error(`join of ${nodeName(i)}: ${res.status} ${await res.text()}`);
        credentials[i] = (await res.json()).credential;
      }),
    );
  }
  return credentials;
}

async function run(job: ClientJob): Promise<ClientResult> {
  const r: ClientResult = {
    joinMs: 0,
    latenciesMs: [],
    refusedMs: [],
    statuses: {},
    elapsedMs: 0,
    drainMs: null,
    recordsAccepted: 0,
    bodyBytesSent: 0,
    flowRecordsSent: 0,
    steadyBodyBytesSent: 0,
    steadyFlowRecordsSent: 0,
    acceptedWhilePosting: 0,
    connectionErrors: 0,
    unexpectedAnswers: 0,
    errors: [],
    loopP99: NaN,
    nodes: [],
  };
  const note = (message: string) => void (r.errors.length < ERRORS_KEPT && r.errors.push(message));

  const joinStart = performance.now();
  const credentials = await joinAll(job);
  r.joinMs = performance.now() - joinStart;

  const inventory = inventoryFor(job.shape.interfaces);
  // Tells the server side to start measuring: joins are not part of the steady state.
  process.send!({ phase: "posting" });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const start = performance.now() + 100;
  const end = start + job.durationMs;
  const giveUp = end + job.drainMs;
  let posting = true;

  /** One request; its answer read whole, or the error that left it without one. */
  const post = async (n: SimNode, body: string | CompactBody): Promise<Reply> => {
    const plain = typeof body === "string";
    try {
      const res = await fetch(`${job.url}/api/v1/ingest`, {
        method: "POST",
        headers: {
          ...(plain ? { "content-type": "application/json" } : body.headers),
          authorization: `Bearer ${n.credential}`,
        },
        body: plain ? body : body.body as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const reply = { status: res.status, text: await res.text(), retryAfter: res.headers.get("retry-after") };
      r.statuses[res.status] = (r.statuses[res.status] ?? 0) + 1;
      return reply;
    } catch (e) {
      return { error: e as Error };
    }
  };

  /**
   * The head batch as the job's encoding sends it: the last answer, the bytes of every body sent, and the ms
   * from sending to the answer, summed over its requests (making the body is not the server's time).
   */
  const send = async (n: SimNode): Promise<{ reply: Reply; bytes: number; ms: number; protocolError: boolean }> => {
    const head = n.head!;
    let ms = 0;
    const timed = async (body: string | CompactBody) => {
      const at = performance.now();
      const reply = await post(n, body);
      ms += performance.now() - at;
      return reply;
    };
    if (job.encoding === "json") {
      head.json ??= JSON.stringify(head.batch);
      return { reply: await timed(head.json), bytes: Buffer.byteLength(head.json), ms, protocolError: false };
    }
    const sent = await sendCompact(head.batch, n.held, timed, outcome);
    return { reply: sent.answer, bytes: sent.bytes, ms, protocolError: sent.protocolError };
  };

  /** One batch from the head of the spool: true to go on with the next. */
  const sendOldest = async (n: SimNode): Promise<boolean> => {
    const { seq, ts } = n.spool[0]!;
    if (n.head?.seq !== seq) {
      const batch = { ...batchFor(n.index, job.nodes, n.bootId, seq, job.intervalMs / 1000, inventory, job.shape), ts };
      n.head = { seq, batch, records: recordsOf(batch), flows: batch.flows?.length ?? 0 };
    }
    const { records, flows } = n.head;
    const steady = n.acked > 0;
    const { reply, bytes, ms, protocolError } = await send(n);
    if ("error" in reply) {
      r.connectionErrors++;
      note(`${nodeName(n.index)} seq ${seq}: ${reply.error.message} ${String(reply.error.cause ?? "")}`);
      return false;
    }
    if (posting) {
      r.bodyBytesSent += bytes;
      r.flowRecordsSent += flows;
      if (steady) {
        r.steadyBodyBytesSent += bytes;
        r.steadyFlowRecordsSent += flows;
      }
    }
    if (protocolError) note(`${nodeName(n.index)} seq ${seq}: 412 for a batch sent whole`);
    if (reply.status === 200) {
      n.spool.shift();
      n.acked++;
      if (n.spool.length === 0) n.emptiedAt = performance.now();
      r.latenciesMs.push(ms);
      if (posting) {
        r.acceptedWhilePosting++;
        r.recordsAccepted += records;
      }
      return true;
    }
    if (reply.status === 503 || reply.status === 429) {
      r.refusedMs.push(ms);
      const after = Number(reply.retryAfter ?? "1");
      n.notBefore = performance.now() + jitteredRetryMs((Number.isFinite(after) ? after : 1) * 1000);
      return false;
    }
    r.unexpectedAnswers++;
    note(`${nodeName(n.index)} seq ${seq}: ${reply.status} ${reply.text.slice(0, 200)}`);
    return false;
  };

  let running = job.nodes;
  let allDone: () => void;
  const through = new Promise<void>((done) => (allDone = done));
  const finish = (n: SimNode) => {
    if (n.done) return;
    n.done = true;
    if (--running === 0) allDone();
  };

  const deliver = async (n: SimNode) => {
    n.sending = true;
    try {
      while (n.spool.length > 0 && performance.now() < giveUp && (await sendOldest(n)));
    } finally {
      n.sending = false;
      if (performance.now() >= end && n.spool.length === 0) finish(n);
    }
  };

  const nodes: SimNode[] = credentials.map((credential, index) => ({
    index,
    bootId: crypto.randomUUID(),
    credential,
    spool: [],
    made: 0,
    acked: 0,
    notBefore: 0,
    sending: false,
    done: false,
    emptiedAt: 0,
    held: new HeldHashes(),
  }));

  for (const n of nodes) {
    const at = (k: number) => start + (n.index * job.intervalMs) / job.nodes + k * job.intervalMs;
    const tick = (k: number) => {
      setTimeout(() => {
        if (n.done) return;
        const now = performance.now();
        if (now < end) n.spool.push({ seq: ++n.made, ts: Date.now() });
        // As the agent's sender: one drain at a time, none before the Retry-After.
        if (!n.sending && now >= n.notBefore) void deliver(n);
        if (now >= giveUp || (now >= end && n.spool.length === 0 && !n.sending)) finish(n);
        else tick(k + 1);
      }, Math.max(0, at(k) - performance.now()));
    };
    tick(0);
  }
  setTimeout(() => {
    posting = false;
    r.elapsedMs = performance.now() - start;
    loop.disable();
    r.loopP99 = loop.percentile(99) / 1e6;
    process.send!({ phase: "draining" });
  }, Math.max(0, end - performance.now()));
  await through;
  // Given up on: a drain may still be under way; wait for its answer so the totals below are final.
  while (nodes.some((n) => n.sending)) await new Promise((ok) => setTimeout(ok, 50));
  const drained = nodes.every((n) => n.spool.length === 0);
  r.drainMs = drained ? Math.max(0, ...nodes.map((n) => n.emptiedAt - end)) : null;
  r.nodes = nodes.map((n) => ({ bootId: n.bootId, made: n.made, acked: n.acked }));
  return r;
}

process.once("message", (job: ClientJob) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err) => process.send!({ fatal: String(err) }, () => process.exit(1)),
  );
});
