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
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
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
  /** The head of the spool as sent, kept while it is refused: resent as it was, and not built again. */
  head?: { seq: number; body: string; records: number };
  made: number;
  acked: number;
  notBefore: number;
  sending: boolean;
  /** Past the posting phase with an empty spool (or given up): this node is through. */
  done: boolean;
  /** When its spool was last emptied (performance.now()). */
  emptiedAt: number;
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

  /** One batch from the head of the spool: true to go on with the next. */
  const sendOldest = async (n: SimNode): Promise<boolean> => {
    const { seq, ts } = n.spool[0]!;
    if (n.head?.seq !== seq) {
      const batch = { ...batchFor(n.index, job.nodes, n.bootId, seq, job.intervalMs / 1000, inventory, job.shape), ts };
      n.head = { seq, body: JSON.stringify(batch), records: recordsOf(batch) };
    }
    const { body, records } = n.head;
    const sent = performance.now();
    let res: Response, text: string;
    try {
      res = await fetch(`${job.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${n.credential}` },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (e) {
      r.connectionErrors++;
      note(`${nodeName(n.index)} seq ${seq}: ${(e as Error).message} ${String((e as Error).cause ?? "")}`);
      return false;
    }
    const ms = performance.now() - sent;
    r.statuses[res.status] = (r.statuses[res.status] ?? 0) + 1;
    if (res.status === 200) {
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
    if (res.status === 503 || res.status === 429) {
      r.refusedMs.push(ms);
      const after = Number(res.headers.get("retry-after") ?? "1");
      n.notBefore = performance.now() + jitteredRetryMs((Number.isFinite(after) ? after : 1) * 1000);
      return false;
    }
    r.unexpectedAnswers++;
    note(`${nodeName(n.index)} seq ${seq}: ${res.status} ${text.slice(0, 200)}`);
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
