// SPDX-License-Identifier: Apache-2.0
/**
 * Restart adoption with real processes: the agent (deno run agent/main.ts,
 * with the deno task's permissions) counts pings on a veth of our own, is
 * killed with SIGKILL (no cleanup at all), and a new agent adopts the pinned
 * maps and the attachments: one filter each way, the same bootId, seqs
 * continuing without a gap, and totals equal to every packet sent, also
 * those sent while no agent ran. SIGTERM hands over (the filters stay) and
 * the uninstall command then leaves nothing behind. The
 * same with pods: their RX/TX (pinned like interface counters) and drops
 * (kept in epoch.json) continue in the same boot.
 */
import { AgentRig, assertPingTotals, PING_FRAME, PING_SIZE } from "./testing/agent_rig.ts";
import { AgentProcess } from "./testing/agent_process.ts";
import {
  assert,
  assertEquals,
  assertNoLeftovers,
  assertStringIncludes,
  interfaceStats,
  kernelTest,
  ping,
  statsDelta,
  waitProgramsGone,
} from "./testing/mod.ts";
import type { Batch } from "../control/wire/batch.ts";
import { pathExists } from "./libbpf/mod.ts";

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The uninstall command with the agent's own flags; it must succeed. */
async function uninstall(args: string[]): Promise<void> {
  const u = await AgentProcess.uninstall(args);
  assertEquals(u.code, 0, u.output);
}

/** Runs `fn` with a rig and the agent processes it starts (killed at the end); a failure shows their output. */
async function withAgents(
  options: { pods?: number },
  fn: (r: AgentRig, start: (args: string[]) => AgentProcess) => Promise<void>,
): Promise<void> {
  const r = await AgentRig.create(options);
  const procs: AgentProcess[] = [];
  try {
    await fn(r, (args) => {
      const p = new AgentProcess(args);
      procs.push(p);
      return p;
    });
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n${procs.map((p, i) => `agent ${i + 1} output:\n${p.output}`).join("\n")}`,
      { cause: e },
    );
  } finally {
    for (const p of procs) await p.kill("SIGKILL");
    await r.close();
  }
}

for (const signal of ["SIGKILL", "SIGTERM"] as const) {
  kernelTest(
    `${signal} and restart: the new agent adopts pins and filters, same bootId, seqs and totals continue exactly; uninstall leaves nothing`,
    () => withAgents({}, (r, start) => restartContinues(r, start, signal)),
  );
}

/** A crash (SIGKILL) and a hand-over (SIGTERM) leave the same: the successor continues the boot exactly. */
async function restartContinues(
  r: AgentRig,
  start: (args: string[]) => AgentProcess,
  signal: "SIGKILL" | "SIGTERM",
): Promise<void> {
  const N = 15, M1 = 6, M2 = 9;
  const rx = (b: Batch | undefined) => b?.interfaces[0]?.rxPackets;
  const before = await interfaceStats(r.net.nsA, r.net.ifA);
  const args = r.args({ interval: 0.3 });
  const first = start(args);
  const boot = await waitFor(
    "the first batch",
    () => r.control.batches.find((b) => b.interfaces.length === 1)?.bootId,
  );
  await ping(r.net.nsA, r.net.ipB, { count: N, size: PING_SIZE });
  await waitFor(`rx ${N}`, () => rx(r.control.last(boot)) === N);
  const firstProgs = r.control.last(boot)!.inventory!.programs.map((p) => p.id);

  const ended = await first.kill(signal);
  assertEquals(
    signal === "SIGKILL" ? ended.signal : ended.code,
    signal === "SIGKILL" ? "SIGKILL" : 0,
    first.output,
  );
  // nothing was detached: the filters keep counting into the pinned maps
  assertEquals([(await r.filters("ingress")).length, (await r.filters("egress")).length], [1, 1]);
  assert(pathExists(`${r.pinDir}/ifstats`) && pathExists(`${r.stateDir}/epoch.json`), "pins and epoch.json left");
  await ping(r.net.nsA, r.net.ipB, { count: M1, size: PING_SIZE }); // while no agent runs

  const second = start(args);
  await waitFor(`rx ${N + M1} from the restarted agent`, () => rx(r.control.last(boot)) === N + M1);
  assertStringIncludes(second.output, `adopted boot ${boot}`);
  assertEquals(
    [(await r.filters("ingress")).length, (await r.filters("egress")).length],
    [1, 1],
    "replaced in place, never two",
  );

  await ping(r.net.nsA, r.net.ipB, { count: M2, size: PING_SIZE });
  const total = N + M1 + M2;
  await waitFor(`rx ${total}`, () => rx(r.control.last(boot)) === total);
  const last = r.control.last(boot)!;
  await assertPingTotals(r, last.interfaces[0], total, before);
  // one boot, its seqs strictly increasing from 0 without a gap (a resent duplicate is not stored twice)
  assertEquals(new Set(r.control.batches.map((b) => b.bootId)), new Set([boot]));
  const seqs = r.control.seqs(boot);
  assertEquals(seqs, seqs.map((_, i) => i));
  const secondProgs = last.inventory!.programs.map((p) => p.id);
  assertEquals(
    last.inventory!.programs.find((p) => p.name === "ifstats_drop")!.id,
    firstProgs[2],
    "the pinned drop link kept its program",
  );

  assertEquals((await second.kill("SIGTERM")).code, 0, second.output);
  assertEquals(rx(r.control.last(boot)), total, "the last batch at SIGTERM");
  assertEquals(
    [(await r.filters("ingress")).length, (await r.filters("egress")).length],
    [1, 1],
    "SIGTERM hands over: the filters stay for the next agent",
  );
  await uninstall(args);
  assertEquals(await r.assertCleanedUp(), []);
  assertEquals(await waitProgramsGone([...firstProgs, ...secondProgs]), []);
}

kernelTest(
  "kill -9 and restart with pods: pod RX/TX continue exactly (also what passed while no agent ran), pod drops continue, flow filters replaced in place",
  () =>
    withAgents({ pods: 2 }, async (r, start) => {
      const N = 5, M1 = 3, M2 = 4;
      const pod = (b: Batch | undefined, name: string) => b?.pods?.find((p) => p.name === name);
      const [p1, p2] = [r.pods.pod("p1"), r.pods.pod("p2")];
      const flowFilters = async (dev: string) =>
        (await Promise.all((["ingress", "egress"] as const).map((d) => r.filters(d, dev)))).flat().filter((l) =>
          l.includes(" flows_")
        ).length;
      const before = await interfaceStats(r.pods.node, p1.hostVeth);
      const args = r.args({ interval: 0.3 });
      const first = start(args);
      const boot = await waitFor("the first batch with pods", () =>
        r.control.batches.find((b) => b.pods?.length === 2)?.bootId);
      await ping(p1.netns, p2.ip, { count: N, size: PING_SIZE });
      // the echo replies p1 receives go to ping's raw socket and are freed as NO_SOCKET: one drop each
      await waitFor(`p1 tx ${N}, drops ${N}`, () =>
        pod(r.control.last(boot), "p1")?.txPackets === N && pod(r.control.last(boot), "p1")?.drops === N);

      await first.kill("SIGKILL");
      await ping(p1.netns, p2.ip, { count: M1, size: PING_SIZE }); // counted by the filters left in place, not its drops

      const second = start(args);
      await waitFor(`p1 tx ${N + M1} from the restarted agent`, () =>
        pod(r.control.last(boot), "p1")?.txPackets === N + M1);
      assertStringIncludes(second.output, `adopted boot ${boot}`);
      for (const p of [p1, p2]) {
        assertEquals(await flowFilters(p.hostVeth), 2, `one flows filter each way on ${p.hostVeth}`);
      }
      await ping(p1.netns, p2.ip, { count: M2, size: PING_SIZE });
      const total = N + M1 + M2;
      await waitFor(`p1 tx ${total}`, () =>
        pod(r.control.last(boot), "p1")?.txPackets === total && pod(r.control.last(boot), "p1")?.drops === N + M2);
      const c = pod(r.control.last(boot), "p1")!;
      assertEquals([c.txPackets, c.rxPackets, c.txBytes, c.rxBytes], [
        total,
        total,
        total * PING_FRAME,
        total * PING_FRAME,
      ]);
      const d = statsDelta(before, await interfaceStats(r.pods.node, p1.hostVeth));
      assertEquals(
        [d.rxPackets, d.txPackets, d.rxBytes, d.txBytes],
        [c.txPackets, c.rxPackets, c.txBytes, c.rxBytes],
        "the pod's view of its veth",
      );
      assertEquals(
        new Set(r.control.batches.map((b) =>
          b.bootId
        )),
        new Set([boot]),
      );

      assertEquals((await second.kill("SIGTERM")).code, 0, second.output);
      await uninstall(args);
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
