// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest bench's server, as a child process of the bench (the side that starts it and talks to it; the
 * process itself is ingest-server.ts). It runs under Node (tsx, as `npm run control`) or under Deno with the
 * permissions of `deno task control` (deno.json), so that the same bench measures the control plane in either
 * runtime, with the load generator in a Node process of its own either way.
 *
 * Protocol (IPC; Deno's node:child_process speaks Node's): the bench sends one ServerJob and gets
 * { ready } once the server listens and a join token exists; then { measure: true } when every node has joined
 * and { measure: false } when no more batches are made; then { finish } with what the nodes sent, and gets one
 * ServerResult (totals checked in the server's own database); the process exits.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import type { NodeSent } from "./ingest-clients.ts";
import type { Boundary, Quantiles } from "./ingest-boundary.ts";
import type { TotalsCheck } from "./ingest-totals.ts";
import type { NodeShape } from "./simulated-node.ts";

export type ServerRuntime = "node" | "deno";

export interface ServerJob {
  /** EBPF_K8S_* settings for control/config.ts, as the control plane would take them from its environment. */
  env: Record<string, string>;
}

export interface ServerFinish {
  nodes: NodeSent[];
  shape: NodeShape;
  /** Epoch ms from which the totals check reads the drops (a little before the first batch). */
  since: number;
}

/** What the server measured while batches were made (between { measure: true } and { measure: false }). */
export interface ServerResult {
  /** "node 20.20.2", "deno 2.9.6". */
  runtime: string;
  /** The server process's CPU time (user + system, all threads), ms. */
  cpuMs: number;
  /** When the nodes had joined (epoch ms), and how long batches were made from then. */
  measuredFrom: number;
  measuredMs: number;
  /** Ingest requests answered 200. */
  accepted: number;
  /** Batches stored per commit, on average (batches that wait together share one: control/db/group-commit.ts). */
  batchesPerCommit: number;
  /** Event loop delay p99, ms (loop-delay.ts: the same measure in both runtimes). */
  loopP99: number;
  /** Growth of the database file and its WAL, each time after a checkpoint, from before the joins to the end of the drain. */
  dbBytesGrowth: number;
  /** Ingest answers timed inside the server (request in to answer out: no client lag, no HTTP client). */
  acceptedMs: Quantiles;
  refusedMs: Quantiles;
  /** Every ten-minute (1 h rollup) boundary inside the measured time. */
  boundaries: Boundary[];
  /** When each maintenance run started (epoch ms), for the report. */
  maintenanceRuns: number[];
  totals: TotalsCheck;
}

export type ServerMessage =
  | { ready: { url: string; joinToken: string } }
  | { result: ServerResult }
  | { fatal: string };

const REPO = new URL("../../", import.meta.url);
const DENO = new URL("node_modules/.bin/deno", REPO).pathname;

/** The permission flags of `deno task control` (deno.json): the bench's Deno server runs with what production gets. */
function denoControlFlags(): string[] {
  const tasks = JSON.parse(readFileSync(new URL("deno.json", REPO), "utf8")).tasks as Record<string, string>;
  return tasks.control!.split(/\s+/).filter((word) => word.startsWith("--"));
}

export class BenchServer {
  private constructor(private readonly child: ChildProcess, readonly url: string, readonly joinToken: string) {}

  static async start(runtime: ServerRuntime, job: ServerJob): Promise<BenchServer> {
    const entry = new URL("./ingest-server.ts", import.meta.url);
    const options = { stdio: "inherit" as const, cwd: REPO.pathname };
    // Under Node with tsx's loader, as `npm run control` runs it (said here, not inherited: a test runner has none).
    const child = runtime === "deno"
      ? fork(entry, [], { ...options, execPath: DENO, execArgv: ["run", ...denoControlFlags()] })
      : fork(entry, [], { ...options, execPath: process.execPath, execArgv: ["--import", "tsx"] });
    const server = new BenchServer(child, "", "");
    try {
      const answer = await server.ask(job);
      if (!("ready" in answer)) throw new Error(`bench server: expected ready, got ${Object.keys(answer)}`);
      return new BenchServer(child, answer.ready.url, answer.ready.joinToken);
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  measure(on: boolean) {
    this.child.send({ measure: on });
  }

  async finish(finish: ServerFinish): Promise<ServerResult> {
    const answer = await this.ask({ finish });
    if (!("result" in answer)) throw new Error(`bench server: expected its result, got ${Object.keys(answer)}`);
    return answer.result;
  }

  /** Ends the process if it has not ended by itself (it does after its result), and waits for it. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once("exit", done));
    this.child.kill();
    await exited;
  }

  /** Sends `message`; its one answer. */
  private ask(message: unknown): Promise<Exclude<ServerMessage, { fatal: string }>> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null, signal: string | null) =>
        reject(new Error(`bench server exited (${code ?? signal}) without answering`));
      this.child.once("exit", exited);
      this.child.once("message", (m: ServerMessage) => {
        this.child.off("exit", exited);
        if ("fatal" in m) reject(new Error(`bench server: ${m.fatal}`));
        else resolve(m);
      });
      this.child.send(message as object);
    });
  }
}
