// SPDX-License-Identifier: Apache-2.0
/**
 * Flow stream fan-out benchmark: `npx tsx control/bench/flow-stream.ts` (part of `npm run bench`; issue 19).
 *
 * The ingest bench's scenario (ingest-scenario.ts: the control plane in its own process, BENCH_NODES simulated
 * agents in another, compact batches), side by side in this run, BENCH_ROUNDS times alternating: without
 * followers, then with BENCH_FOLLOWERS followers of GET /api/v1/flows/stream reading in a third process
 * (flow-followers.ts). What they follow is what people follow: most a node each (`?node=`, like `hubble observe --node … --follow`),
 * every tenth a namespace, and BENCH_UNFILTERED of them everything. Reported: the agents' ingest p99 with
 * followers ÷ without (target ≤ 1.10), and the followers' lag p99, from a batch's commit to the follower reading
 * its record (target < 2 s); records streamed, followers dropped or refused. The ratio is of the medians over the
 * rounds (a shared machine's noise falls on both sides).
 *
 * Environment: BENCH_QUICK=1 (15 s of batches per run, else 40; BENCH_SECONDS overrides), BENCH_NODES (1000),
 * BENCH_FOLLOWERS (50), BENCH_UNFILTERED (1), BENCH_ROUNDS (2), BENCH_FLOWS (200 flow records per batch),
 * BENCH_PODS (20), BENCH_INTERFACES (5), BENCH_INTERVAL (10). The exit status is 1 when a target is not met.
 */
import { fork } from "node:child_process";
import { setPriority } from "node:os";
import type { FollowersJob, FollowersResult } from "./flow-followers.ts";
import type { ScenarioResult } from "./ingest-result.ts";
import { type Beside, runScenario, type ScenarioSettings } from "./ingest-scenario.ts";
import { scenarioLines } from "./ingest-report.ts";
import { benchEnv, benchShape, NAMESPACES, nodeName } from "./simulated-node.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const SECONDS = benchEnv("BENCH_SECONDS", QUICK ? 15 : 40);
const NODES = benchEnv("BENCH_NODES", 1000);
const FOLLOWERS = benchEnv("BENCH_FOLLOWERS", 50);
const UNFILTERED = benchEnv("BENCH_UNFILTERED", 1);
const ROUNDS = benchEnv("BENCH_ROUNDS", 2);
const SETTINGS: ScenarioSettings = {
  shape: benchShape(),
  intervalS: benchEnv("BENCH_INTERVAL", 10),
  drainS: 120,
  env: {},
};
const TARGETS = { p99Ratio: 1.1, lagP99Ms: 2_000 };

/** Follower i's query: everything for the first UNFILTERED, a namespace for every tenth, else a node of its own. */
function queryOf(i: number): string {
  if (i < UNFILTERED) return "";
  if (i % 10 === 0) return `namespace=${NAMESPACES[(i / 10) % NAMESPACES.length]}`;
  return `node=${nodeName(Math.floor((i * NODES) / FOLLOWERS) % NODES)}`;
}

function followers(queries: string[]): Beside & { result(): FollowersResult } {
  const child = fork(new URL("./flow-followers.ts", import.meta.url), { stdio: "inherit" });
  // The readers stand for people elsewhere; here they share this machine's cores with the control plane and
  // the agents. At the lowest priority they take only what those leave, so the ratio is the fan-out's own cost.
  setPriority(child.pid!, 19);
  type Message = { following: true } | { fatal: string } | FollowersResult;
  const next = () =>
    new Promise<Message>((resolve, reject) => {
      child.once("message", (m: Message) => ("fatal" in m ? reject(new Error(m.fatal)) : resolve(m)));
      child.once("exit", (code) => code !== 0 && reject(new Error(`followers exited with ${code}`)));
    });
  let result: FollowersResult | undefined;
  return {
    async start(url) {
      const answer = next();
      child.send({ url, queries } satisfies FollowersJob);
      await answer;
    },
    async stop() {
      const answer = next();
      child.send({ stop: true });
      result = (await answer) as FollowersResult;
    },
    result: () => result!,
  };
}

console.log(
  `== flow stream fan-out: ${NODES} simulated nodes, ${SECONDS} s of batches, without and with ${FOLLOWERS} ` +
    `followers (${UNFILTERED} of everything, every tenth a namespace, the others a node each)` +
    `${QUICK ? "; BENCH_QUICK" : ""} ==`,
);
const scenario = { nodes: NODES, seconds: SECONDS, encoding: "compact", runtime: "node" } as const;
const show = (r: ScenarioResult) => {
  for (const line of scenarioLines(r)) console.log(line);
  return r;
};
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
};
const x = (a: number, b: number) => (a / b).toFixed(2);
// Rounds alternate without and with, so that a noisy minute of a shared machine falls on both sides.
const rounds: Array<{ without: ScenarioResult; with: ScenarioResult; followers: FollowersResult }> = [];
for (let i = 0; i < ROUNDS; i++) {
  console.log(`-- round ${i + 1} of ${ROUNDS}: without followers, then with --`);
  const without = show(await runScenario(scenario, SETTINGS));
  const f = followers(Array.from({ length: FOLLOWERS }, (_, i) => queryOf(i)));
  const withFollowers = show(await runScenario(scenario, SETTINGS, f));
  const fr = f.result();
  console.log(
    `   followers: ${fr.records.toLocaleString("en-US")} records read (per follower ${fr.perFollower.min}–` +
      `${fr.perFollower.max}), ${fr.keepAlives} keep-alives, ${fr.dropped} dropped, ${fr.refused} refused` +
      `${fr.errors.length ? `, errors: ${fr.errors.slice(0, 3).join("; ")}` : ""}; lag p50 ${fr.lagMs.p50} ms, ` +
      `p99 ${fr.lagMs.p99} ms, max ${fr.lagMs.max} ms`,
  );
  console.log(
    `   with ÷ without: ingest p50 ${x(withFollowers.p50, without.p50)}, p99 ${x(withFollowers.p99, without.p99)} ` +
      `(in the server ${x(withFollowers.server.acceptedMs.p99, without.server.acceptedMs.p99)}), ` +
      `server CPU per batch ${x(withFollowers.cpuPerBatchMs, without.cpuPerBatchMs)}, event-loop delay p99 ` +
      `${x(withFollowers.loopP99, without.loopP99)}, failed ${withFollowers.failed} vs ${without.failed}`,
  );
  rounds.push({ without, with: withFollowers, followers: fr });
}

const p99 = (k: "without" | "with") => median(rounds.map((r) => r[k].p99));
const serverP99 = (k: "without" | "with") => median(rounds.map((r) => r[k].server.acceptedMs.p99));
const cpu = (k: "without" | "with") => median(rounds.map((r) => r[k].cpuPerBatchMs));
const ratio = p99("with") / p99("without");
const lagP99 = Math.max(...rounds.map((r) => r.followers.lagMs.p99));
const lost = rounds.reduce((n, r) => n + r.followers.dropped + r.followers.refused, 0);
console.log(
  `   over ${ROUNDS} round(s), medians: ingest p99 ${p99("with").toFixed(1)} ÷ ${p99("without").toFixed(1)} ms ` +
    `(in the server ${x(serverP99("with"), serverP99("without"))}x), ` +
    `server CPU per batch ${x(cpu("with"), cpu("without"))}x`,
);
const p99Met = ratio <= TARGETS.p99Ratio;
const lagMet = lagP99 < TARGETS.lagP99Ms && lost === 0;
console.log(
  `target: ingest p99 with followers within 10 % of without (≤ ${TARGETS.p99Ratio}x): ` +
    `${ratio.toFixed(2)}x ${p99Met ? "met" : "NOT met"}`,
);
console.log(
  `target: followers' lag p99 < ${TARGETS.lagP99Ms} ms (the worst round), none dropped or refused: ${lagP99} ms ` +
    `${lagMet ? "met" : "NOT met"}`,
);
process.exitCode = p99Met && lagMet ? 0 : 1;
