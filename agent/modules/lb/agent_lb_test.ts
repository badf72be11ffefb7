// SPDX-License-Identifier: Apache-2.0
/**
 * The agent with the lb module switched on by the control plane (the fake
 * one): services arrive by long-poll and are programmed within 2 s of the
 * answer, connections made in the cgroup reach them, the batches carry the
 * counters and the inventory the programs and maps; a clean stop leaves
 * nothing attached or pinned. Without --lb-cgroup the module reports why
 * it cannot start, and attaches nothing.
 */
import type { LbService } from "../../../control/wire/services.ts";
import { pathExists } from "../../libbpf/mod.ts";
import { withAgentRig } from "../../testing/agent_rig.ts";
import { assert, assertEquals, assertStringIncludes } from "../../testing/assert.ts";
import { AgentProcess } from "../../testing/agent_process.ts";
import { testService, waitFor } from "./fixtures.ts";
import { lbKernelTest, type LbLab, withLbLab } from "./lb_lab.ts";

const PORT = 8080;

function service(
  lab: LbLab,
  id: number,
  vip: string,
  backends: [number, string, "active" | "terminating"][],
): LbService {
  return testService(
    id,
    vip,
    backends.map(([bid, name, state]) => ({ id: bid, ip: lab.backend(name).ip, state })),
    {},
    PORT,
  );
}

lbKernelTest(
  "agent: lb switched on by the control plane follows the services by long-poll, programs a change within 2 s, reports counters; a stop leaves nothing",
  () =>
    withLbLab(2, (lab) =>
      withAgentRig({}, async (r) => {
        r.control.setDesired({ lb: true });
        const agent = await r.start({ extra: ["--lb-cgroup", lab.cgroup.path] });
        await waitFor("lb on", () => agent.modules.isOn("lb"));
        await waitFor("the first poll held", () => r.control.lbPolls("lb").length >= 1);
        const server = await lab.serve(PORT);
        const vip = "10.96.2.1";

        const programmedWithin = async (services: LbService[]) => {
          await new Promise((res) => setTimeout(res, 100)); // the poll is held now
          const t0 = Date.now();
          const v = r.control.setLbServices(services).version;
          await waitFor(
            `version ${v} programmed`,
            () => r.logs.some((l) => l.startsWith(`lb: version ${v} programmed`)),
            5000,
          );
          const ms = Date.now() - t0;
          assert(ms < 2000, `programmed ${ms} ms after the control plane answered`);
          return v;
        };

        const v1 = await programmedWithin([service(lab, 1, vip, [[1, "b1", "active"], [2, "b2", "active"]])]);
        const a = await lab.client("tcp", vip, 80, 20);
        assertEquals([a.errors, a.peers], [{}, { [`${vip}:80`]: 20 }]);
        const b1 = await r.tick(agent);
        assertEquals(b1.lb?.version, v1);
        assertEquals(b1.lb?.services, [[1, 20, 0]]);
        assertEquals(b1.lb?.backends, [[1, a.names.b1 ?? 0], [2, a.names.b2 ?? 0]].filter(([, n]) => n > 0));
        const inv = b1.inventory!;
        assertEquals(inv.modules.find((m) => m.name === "lb")?.state, "on");
        assertEquals(inv.programs.filter((p) => p.module === "lb").map((p) => p.name).sort(), [
          "lb_connect4",
          "lb_connect6",
          "lb_getpeername4",
          "lb_getpeername6",
          "lb_recvmsg4",
          "lb_recvmsg6",
          "lb_sendmsg4",
        ]);
        assertEquals(inv.maps.find((m) => m.name === "lb_services")?.entries, 1);

        // b1 starts terminating: new connections go to b2 only
        const v2 = await programmedWithin([service(lab, 1, vip, [[1, "b1", "terminating"], [2, "b2", "active"]])]);
        const b = await lab.client("tcp", vip, 80, 10);
        assertEquals([b.errors, b.names], [{}, { b2: 10 }]);
        const b2 = await r.tick(agent);
        assertEquals([b2.lb?.version, b2.lb?.services, b2.lb?.backends], [v2, [[1, 10, 0]], [[2, 10]]]);
        const counts = await server.stop();
        assertEquals(counts.b2.tcp, (a.names.b2 ?? 0) + 10);
        assertEquals(
          r.control.lbPolls("lb").filter((p) => p.status === 200).map((p) => p.after),
          [null, 0, v1],
          "asked with the version applied",
        );

        const pinDir = r.pinDirOf("lb");
        assert(pathExists(`${pinDir}/lb_services`), "maps pinned");
        await agent.stop();
        assertEquals(await lab.cgroupPrograms(), []);
        assert(!pathExists(pinDir), "pins removed");
        assertEquals(await r.assertCleanedUp(), []);
      })),
);

lbKernelTest(
  "agent: lb switched on without --lb-cgroup reports the reason and attaches nothing; the other modules go on",
  () =>
    withLbLab(1, (lab) =>
      withAgentRig({}, async (r) => {
        r.control.setDesired({ lb: true });
        const agent = await r.start();
        const b = await r.tick(agent);
        const lb = b.inventory!.modules.find((m) => m.name === "lb")!;
        assertEquals([lb.desired, lb.state], [true, "error"]);
        assertStringIncludes(lb.error!, "set --lb-cgroup");
        assertEquals(b.inventory!.modules.find((m) => m.name === "ifstats")?.state, "on");
        assertEquals(b.lb, undefined);
        assertEquals(r.control.lbPolls("lb"), [], "no poll while lb is not running");
        assertEquals(await lab.cgroupPrograms(), []);
      })),
);

lbKernelTest(
  "agent process: after kill -9 the pinned links keep balancing; the restart adopts them and reprograms nothing; SIGTERM hands over, uninstall leaves nothing",
  () =>
    withLbLab(2, (lab) =>
      withAgentRig({}, async (r) => {
        r.control.setDesired({ lb: true });
        const vip = "10.96.2.2";
        r.control.setLbServices([service(lab, 1, vip, [[1, "b1", "active"], [2, "b2", "active"]])]);
        const server = await lab.serve(PORT);
        const args = r.args({ interval: 0.3, extra: ["--lb-cgroup", lab.cgroup.path] });
        const agents: AgentProcess[] = [];
        try {
          const first = new AgentProcess(args);
          agents.push(first);
          await waitFor(
            "version 1 programmed",
            () => first.output.includes("lb: version 1 programmed: 1 service(s), 1 changed"),
            20_000,
          );
          assertEquals((await lab.client("tcp", vip, 80, 10)).errors, {});
          const before = await lab.cgroupPrograms();
          assertEquals(before.length, 7);
          // connections of service 1 in the batches received (the agents send deltas)
          const reported = () =>
            r.control.batches.reduce((n, b) => n + (b.lb?.services.find(([id]) => id === 1)?.[1] ?? 0), 0);
          // killed only once a batch with these 10 has arrived: counts not yet read into a batch when the
          // agent dies become the successor's baseline and are never reported (by design, see the lb module)
          await waitFor("the first agent's 10 connections reported", () => reported() >= 10, 10_000);

          await first.kill("SIGKILL");
          const gap = await lab.client("tcp", vip, 80, 10);
          assertEquals([gap.errors, gap.peers], [{}, { [`${vip}:80`]: 10 }], "balanced while no agent runs");

          const second = new AgentProcess(args);
          agents.push(second);
          await waitFor("the adoption", () => /adopted boot/.test(second.output), 20_000);
          await waitFor(
            "version 1 again",
            () => second.output.includes("lb: version 1 programmed: 1 service(s), 0 changed"),
            20_000,
          );
          const after = await lab.cgroupPrograms();
          assertEquals(after.length, 7, "the same links, none added");
          assert(after.every((p) => !before.some((b) => b.id === p.id)), "running the restarted agent's programs");
          assertEquals((await lab.client("tcp", vip, 80, 10)).errors, {});
          await waitFor("the 10 connections after the restart reported", () => reported() >= 20, 10_000);
          await new Promise((res) => setTimeout(res, 700));
          // 10 before the kill + 10 after the restart; the 10 of the gap, counted while no agent ran,
          // are the successor's baseline (after a crash that part is lost, never counted twice)
          assertEquals(reported(), 20, "what the dead agent's programs counted is not reported again");

          assertEquals((await second.kill("SIGTERM")).code, 0, second.output);
          assertEquals((await lab.cgroupPrograms()).length, 7, "SIGTERM hands over: the links stay");
          assertEquals((await lab.client("tcp", vip, 80, 10)).errors, {}, "balanced after the hand-over");
          const u = await AgentProcess.uninstall(args);
          assertEquals(u.code, 0, u.output);
          assertEquals(await lab.cgroupPrograms(), []);
          assertEquals(await r.assertCleanedUp(), []);
          await server.stop();
        } catch (e) {
          throw new Error(
            `${(e as Error).message}\n${agents.map((a, i) => `agent ${i + 1}:\n${a.output}`).join("\n")}`,
            { cause: e },
          );
        } finally {
          for (const a of agents) await a.kill("SIGKILL");
        }
      })),
);
