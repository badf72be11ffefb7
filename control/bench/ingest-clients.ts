/**
 * The benchmark's load generator, run as a child process of
 * control/bench/ingest.ts so that building and sending requests does not
 * share an event loop with the server it measures.
 *
 * Protocol (IPC): receives one ClientJob; sends { phase: "posting" } when
 * every node has joined, then one ClientResult; exits.
 * Every node joins first; then node i posts at start + i·interval/N and
 * every interval after that (evenly staggered, no drift), until the time is up.
 */
import { batchFor, inventoryFor, nodeName, type NodeShape, recordsOf } from "./simulated-node.ts";

export interface ClientJob {
  url: string;
  joinToken: string;
  nodes: number;
  shape: NodeShape;
  intervalMs: number;
  durationMs: number;
}

export interface ClientResult {
  joinMs: number;
  /** Per accepted batch: ms from sending the request to reading the whole answer. */
  latenciesMs: number[];
  statuses: Record<string, number>;
  /** When the posting phase started and ended (ms, client clock). */
  elapsedMs: number;
  /** Flow, TCP and drop records in the accepted batches. */
  recordsAccepted: number;
  errors: string[];
}

const JOIN_CONCURRENCY = 50;

async function run(job: ClientJob): Promise<ClientResult> {
  const errors: string[] = [];
  const statuses: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let recordsAccepted = 0;

  const joinStart = performance.now();
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
  const joinMs = performance.now() - joinStart;

  const inventory = inventoryFor(job.shape.interfaces);
  // Tells the server side to start measuring: joins are not part of the steady state.
  process.send!({ phase: "posting" });
  const start = performance.now() + 100;
  const end = start + job.durationMs;
  const inFlight = new Set<Promise<void>>();

  const post = async (i: number, bootId: string, seq: number) => {
    const batch = batchFor(i, job.nodes, bootId, seq, job.intervalMs / 1000, inventory, job.shape);
    const body = JSON.stringify(batch);
    const sent = performance.now();
    try {
      const res = await fetch(`${job.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${credentials[i]}` },
        body,
      });
      await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        latenciesMs.push(performance.now() - sent);
        recordsAccepted += recordsOf(batch);
      }
    } catch (e) {
      if (errors.length < 10) errors.push(String(e));
    }
  };

  await new Promise<void>((done) => {
    let scheduled = job.nodes;
    for (let i = 0; i < job.nodes; i++) {
      const bootId = crypto.randomUUID();
      let seq = 1;
      const at = (k: number) => start + (i * job.intervalMs) / job.nodes + k * job.intervalMs;
      const tick = (k: number) => {
        if (at(k) >= end) {
          if (--scheduled === 0) done();
          return;
        }
        setTimeout(() => {
          const p = post(i, bootId, seq++);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          tick(k + 1);
        }, Math.max(0, at(k) - performance.now()));
      };
      tick(0);
    }
  });
  await Promise.all(inFlight);
  return { joinMs, latenciesMs, statuses, elapsedMs: performance.now() - start, recordsAccepted, errors };
}

process.once("message", (job: ClientJob) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err) => process.send!({ fatal: String(err) }, () => process.exit(1)),
  );
});
