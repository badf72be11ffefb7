// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest bench's control plane, in a process of its own (started by ingest-server-process.ts, which holds
 * the protocol): under Node (tsx) or Deno, the real app (createApp) on loopback with a fresh libSQL file database
 * in a temp dir, served as control/main.ts serves it in that runtime (listenNode with its keep-alive, or
 * Deno.serve), with the once-only work control/main.ts runs on the lease holder (control/once-only.ts: rollups and
 * retention, lb retention, alert evaluation, at the configured intervals). Its own process, so its CPU time is the
 * server's alone. Ingest answers are timed here, from request in to answer out.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createApp } from "../app.ts";
import { sha256Hex } from "../auth/secrets.ts";
import { appSettings, parseConfig } from "../config.ts";
import { openDb } from "../db/client.ts";
import { storeCommits } from "../ingest/store.ts";
import { type DenoServe, listenDeno } from "../http/deno-listen.ts";
import { keepAliveMs, listenNode } from "../http/node-listen.ts";
import { HOUR_ROLLUP_EVERY_MS, runMaintenance } from "../monitoring-store/maintenance.ts";
import { onceOnlyJobs, onceOnlyKeeper } from "../once-only.ts";
import { rollupBoundaries, summary, type Timed } from "./ingest-boundary.ts";
import type { ServerFinish, ServerJob, ServerMessage, ServerResult } from "./ingest-server-process.ts";
import { startCpuProfile } from "./cpu-profile.ts";
import { checkTotals } from "./ingest-totals.ts";
import { sampleLoopDelay } from "./loop-delay.ts";

const ADMIN_TOKEN = "ek8s_admin_bench-admin-token-0000000000";
const deno = (globalThis as unknown as { Deno?: { serve: DenoServe; version: { deno: string } } }).Deno;

const send = (m: ServerMessage) => new Promise<void>((done) => process.send!(m, () => done()));

async function serve(job: ServerJob): Promise<ServerResult> {
  const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-bench-"));
  try {
    return await serveFrom(join(dir, "control.db"), job);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serveFrom(dbPath: string, job: ServerJob): Promise<ServerResult> {
  const config = parseConfig(job.env);
  const db = await openDb(`file:${dbPath}`);
  // The WAL stays at its largest size between checkpoints: over a short run it would be most of the growth. So the
  // sizes are read after a checkpoint that truncates it, before the nodes join and after they are through.
  const dbBytes = async () => {
    await db.$client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    return statSync(dbPath).size + (statSync(`${dbPath}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  };
  const settings = appSettings(config);
  // The maintenance's clock, read as each run starts: when they ran, for the report.
  const maintenanceRuns: number[] = [];
  const now = () => maintenanceRuns[maintenanceRuns.push(Date.now()) - 1]!;
  const keeper = onceOnlyKeeper(db, config, onceOnlyJobs(db, settings, { now }));
  const app = createApp(db, {
    tokens: { adminTokenHash: await sha256Hex(ADMIN_TOKEN) },
    settings,
    lease: () => keeper.status(),
    logError: (message, err) => console.error(message, err),
  });

  const answers = { accepted: { at: [], ms: [] } as Timed, refused: { at: [], ms: [] } as Timed };
  let timing = false, open = 0;
  const fetch = async (req: Request) => {
    const start = performance.now();
    open++;
    const res = await Promise.resolve(app.fetch(req)).finally(() => open--);
    if (timing && req.url.endsWith("/api/v1/ingest")) {
      const to = res.status === 200 ? answers.accepted : [503, 429].includes(res.status) ? answers.refused : null;
      to?.at.push(Date.now());
      to?.ms.push(performance.now() - start);
    }
    return res;
  };
  const at = { port: 0, hostname: "127.0.0.1" };
  const { maxRetryAfterSeconds, retryAfterSeconds } = settings.ingestAdmission;
  const server = await (deno ? listenDeno(deno, fetch, at) : listenNode(fetch, {
    ...at,
    keepAliveMs: keepAliveMs(maxRetryAfterSeconds ?? retryAfterSeconds),
  }));
  keeper.start();
  try {
    const made = await app.request("/api/v1/join-tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ ttlSeconds: 3600, description: "bench" }),
    });
    if (made.status !== 201) throw new Error(`join token: ${made.status} ${await made.text()}`);
    const dbBytesAtStart = await dbBytes(); // the joins' few rows count as growth
    await send({ ready: { url: `http://${at.hostname}:${server.port}`, joinToken: (await made.json()).token } });

    const measured = { from: 0, to: 0, cpu: process.cpuUsage(), loopP99: NaN, commits: { commits: 0, batches: 0 } };
    const commits = storeCommits(db);
    let loop: ReturnType<typeof sampleLoopDelay> | undefined;
    let stopProfile = () => {};
    const finish = await new Promise<ServerFinish>((resolve) => {
      process.on("message", (m: { measure: boolean } | { finish: ServerFinish }) => {
        if ("finish" in m) resolve(m.finish);
        else if (m.measure) {
          // Every node has joined: measure from here on.
          Object.assign(measured, { from: Date.now(), cpu: process.cpuUsage(), commits: { ...commits } });
          loop = sampleLoopDelay();
          timing = true;
          void startCpuProfile(`server-${new Date().toISOString().slice(11, 19).replaceAll(":", "")}-${process.pid}`)
            .then((stop) => (stopProfile = stop));
        } else {
          // No more batches are made: the server's figures are those of the load (the spools drain after).
          Object.assign(measured, {
            to: Date.now(),
            cpu: process.cpuUsage(measured.cpu),
            loopP99: loop!.stop(0.99),
            commits: {
              commits: commits.commits - measured.commits.commits,
              batches: commits.batches - measured.commits.batches,
            },
          });
          timing = false;
          stopProfile();
        }
      });
    });
    await keeper.stop();
    const dbBytesGrowth = (await dbBytes()) - dbBytesAtStart;
    // What the last run left unrolled is rolled now: the totals are read through the rollups, as a user reads them.
    await runMaintenance(db, Date.now(), settings.monitoring);
    return {
      runtime: deno ? `deno ${deno.version.deno}` : `node ${process.versions.node}`,
      cpuMs: (measured.cpu.user + measured.cpu.system) / 1000,
      measuredFrom: measured.from,
      measuredMs: measured.to - measured.from,
      accepted: answers.accepted.at.length,
      batchesPerCommit: measured.commits.commits > 0 ? measured.commits.batches / measured.commits.commits : 0,
      loopP99: measured.loopP99,
      dbBytesGrowth,
      acceptedMs: summary(answers.accepted.ms),
      refusedMs: summary(answers.refused.ms),
      boundaries: rollupBoundaries(answers, measured, maintenanceRuns, HOUR_ROLLUP_EVERY_MS),
      maintenanceRuns,
      totals: await checkTotals(db, finish.nodes, finish.shape, {
        since: finish.since,
        now: Date.now(),
        retention: settings.monitoring.retention,
      }),
    };
  } finally {
    await keeper.stop();
    await server.close();
    // A request the load generator gave up on may still be at work: the database stays open until it ends.
    while (open > 0) await new Promise((ok) => setTimeout(ok, 20));
    db.$client.close();
  }
}

process.once("message", (job: ServerJob) => {
  serve(job).then(
    (result) => send({ result }).then(() => process.exit(0)),
    (err) => send({ fatal: String(err instanceof Error ? err.stack : err) }).then(() => process.exit(1)),
  );
});
