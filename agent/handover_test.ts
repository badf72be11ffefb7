// SPDX-License-Identifier: Apache-2.0
/**
 * The datapath outlives the agent. A real agent process against a real
 * control plane process (services and module switches through its admin
 * API) balances a ClusterIP in a pods cgroup of our own (socket LB, lb lab)
 * and an external IP through the gateway (tc hook, gateway lab namespaces).
 * A client pod connects to the VIP and an outside client to the external
 * IP, each in a loop, one connection after the other, while the agent is
 * restarted with SIGTERM five times: every connection succeeds and is
 * answered by one of the service's backends (the answer names it), also
 * those made while no agent runs, and every successor adopts the boot. The
 * connections the load balancer counted reach the control plane exactly
 * once: its per-service totals equal what the client made, and the
 * gateway's flows of the external IP's frontend equal the connections made
 * through it (each a new flow). Then the
 * uninstall command (no agent, the agent's own flags) leaves nothing
 * attached to our cgroup and devices and nothing pinned, and a second
 * uninstall finds nothing to do; while an agent runs it is refused.
 */
import { AgentProcess } from "./testing/agent_process.ts";
import { assert, assertEquals } from "./testing/assert.ts";
import { type ControlProcess, withControlProcess } from "./testing/control_process.ts";
import { tc } from "./testing/bpf.ts";
import { run } from "./testing/run.ts";
import { pathExists } from "./libbpf/mod.ts";
import { GatewayLab, LAB } from "./modules/gateway/gateway_lab.ts";
import { GW_FE_COUNTER_NAMES } from "./modules/gateway/layout.ts";
import { encodeSvcKey } from "./modules/lb/layout.ts";
import { lbKernelTest, withLbLab } from "./modules/lb/lb_lab.ts";
import { waitFor } from "./modules/lb/fixtures.ts";

const RESTARTS = 5;
const VIP = "10.96.17.1";
const PORT = 8080;
/** Bounds the clients if the test fails before stopping them. */
const CLIENT_SECONDS = 120;
/**
 * Connections a second of each client: over the 200 asked for, and well
 * under what the gateway's SNAT ports sustain (4,536 per backend, each held
 * for the closing timeout after a connection ends, and not freed at all
 * while no agent runs: expiry is the agent's sweep).
 */
const RATE = 300;

/** A service through the admin API; its id. */
async function createService(control: ControlProcess, body: Record<string, unknown>): Promise<number> {
  const res = await control.admin("POST", "/api/v1/services", body);
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return (res.body as { id: number }).id;
}

interface GatewayTotals {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
}

interface ServiceView {
  name: string;
  connections: number;
  /** With the flows of each of its frontends (`address:port`). */
  gateway: GatewayTotals & { frontends: { frontend: string; flows: number }[] };
}

/** A service as the control plane shows it (its totals over the default window, the last hour). */
async function service(control: ControlProcess, name: string): Promise<ServiceView> {
  const res = await control.admin("GET", "/api/v1/services");
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return (res.body as { services: ServiceView[] }).services.find((x) => x.name === name)!;
}

/** The first `fields` u64 of a pinned map's value at `key` (bytes), summed over CPUs for a per-CPU map. */
async function pinnedSums(path: string, key: number[], fields: number): Promise<number[]> {
  const out = await run(["bpftool", "-j", "map", "lookup", "pinned", path, "key", ...key.map(String)]);
  const found = JSON.parse(out.stdout) as { value?: string[]; values?: { value: string[] }[] };
  const t = Array.from({ length: fields }, () => 0);
  for (const bytes of found.values?.map((v) => v.value) ?? [found.value!]) {
    for (let f = 0; f < fields; f++) {
      t[f] += bytes.slice(f * 8, f * 8 + 8).reduce((n, b, i) => n + Number(b) * 256 ** i, 0);
    }
  }
  return t;
}

/** What the gateway's kernel counted for service `id`: its pinned gw_svc_stats_pcpu (every CPU) and gw_svc_stats. */
async function gatewayTotals(pinRoot: string, node: string, id: number): Promise<GatewayTotals> {
  const t = [0, 0, 0, 0];
  for (const map of ["gw_svc_stats_pcpu", "gw_svc_stats"]) {
    const sums = await pinnedSums(`${pinRoot}/${node}/gateway/${map}`, [id & 255, (id >> 8) & 255, 0, 0], 4);
    sums.forEach((v, f) => t[f] += v);
  }
  return { packetsIn: t[0]!, bytesIn: t[1]!, packetsOut: t[2]!, bytesOut: t[3]! };
}

/** The flows the gateway's kernel counted for a TCP frontend: its pinned gw_fe_stats entry (every CPU). */
async function frontendFlows(pinRoot: string, node: string, vip: string, port: number): Promise<number> {
  const key = [...encodeSvcKey({ vip, port, protocol: "TCP" })];
  const i = GW_FE_COUNTER_NAMES.indexOf("flows");
  return (await pinnedSums(`${pinRoot}/${node}/gateway/gw_fe_stats`, key, i + 1))[i]!;
}

lbKernelTest(
  `agent process restarted with SIGTERM ${RESTARTS} times under load: no connection through the socket LB or the gateway fails or goes astray; uninstall then leaves nothing`,
  () =>
    withLbLab(2, (lab) =>
      withControlProcess(async (control) => {
        const gw = await GatewayLab.create();
        const node = `handover-${Deno.pid}`;
        const pinRoot = `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-handover`;
        const stateDir = await Deno.makeTempDir({ prefix: "ek8s-handover-state-" });
        const agents: AgentProcess[] = [];
        const loops: { stop(): Promise<unknown> }[] = [];
        let args: string[] | null = null;
        try {
          for (const module of ["lb", "gateway"]) {
            const res = await control.admin("PUT", `/api/v1/nodes/${node}/modules/${module}`, { enabled: true });
            assertEquals(res.status, 200, JSON.stringify(res.body));
          }
          await createService(control, {
            namespace: "default",
            name: "inside",
            vip: VIP,
            port: 80,
            protocol: "TCP",
            backends: lab.backends.map((b) => ({ ip: b.ip, port: PORT })),
          });
          const outsideId = await createService(control, {
            namespace: "default",
            name: "outside",
            vip: "10.96.17.2",
            port: PORT,
            protocol: "TCP",
            externalIPs: [LAB.external],
            backends: LAB.backends.map((ip) => ({ ip, port: PORT })),
          });
          const agentArgs = [
            ...["--control", control.url, "--node", node, "--join-token", await control.joinToken()],
            ...["--bpf-pin-dir", pinRoot, "--state-dir", stateDir, "--interval", "0.5", "--metrics-port", "0"],
            ...["--netns", gw.node, "--interfaces", "gw0", "--lb-cgroup", lab.cgroup.path],
            ...[
              "--gateway-interfaces",
              gw.interfaces.join(","),
              "--gateway-addresses",
              LAB.node,
              "--gateway-hook",
              "tc",
            ],
          ];
          args = agentArgs;
          // both modules applied the services' version (a successor adopted the maps: "0 changed")
          const programmed = async (a: AgentProcess, changed = "\\d+") => {
            for (const m of ["lb", "gateway"]) {
              await waitFor(
                `${m} programmed`,
                () => new RegExp(`${m}: version \\d+ programmed: \\d+ \\S+, ${changed} changed`).test(a.output),
                30_000,
              );
            }
          };
          const start = () => {
            const a = new AgentProcess(agentArgs);
            agents.push(a);
            return a;
          };

          let agent = start();
          await programmed(agent, "[1-9]\\d*");
          const server = await lab.serve(PORT);
          const t0 = performance.now();
          const inside = lab.spawnClient("loop", VIP, 80, CLIENT_SECONDS, { rate: RATE });
          loops.push({ stop: () => lab.stopLoops() });
          const outside = gw.spawnLoop(LAB.external, PORT, CLIENT_SECONDS, RATE);
          loops.push(outside);
          await new Promise((r) => setTimeout(r, 500));

          for (let i = 0; i < RESTARTS; i++) {
            const ended = await agent.kill("SIGTERM");
            assertEquals(ended.code, 0, agent.output);
            assert(/leaving the datapath to the next agent/.test(agent.output), agent.output);
            agent = start();
            await waitFor("the adoption", () => /adopted boot/.test(agent.output), 30_000);
            await programmed(agent);
          }
          await new Promise((r) => setTimeout(r, 500));
          await lab.stopLoops();
          const a = await inside.result();
          const b = await outside.stop();
          loops.length = 0;
          const seconds = (performance.now() - t0) / 1000;
          console.error(
            `handover: ${a.count} connections to the VIP and ${
              Object.values(b.names).reduce((x, y) => x + y, 0)
            } through the gateway in ${seconds.toFixed(1)} s across ${RESTARTS} restarts`,
          );
          assertEquals(a.errors, {}, "socket LB: failed connections");
          assertEquals(b.errors, {}, "gateway: failed connections");
          for (const s of agents.slice(1)) {
            for (const m of ["lb", "gateway"]) {
              assert(new RegExp(`${m}: version \\d+ programmed: \\d+ \\S+, 0 changed`).test(s.output), `${m} adopted`);
            }
          }
          const inNames = new Set(lab.backends.map((x) => x.name));
          assert(Object.keys(a.names).every((n) => inNames.has(n)), `socket LB answered by ${JSON.stringify(a.names)}`);
          assert(
            Object.keys(b.names).every((n) => ["b1", "b2", "b3"].includes(n)),
            `gateway: ${JSON.stringify(b.names)}`,
          );
          assertEquals(Object.values(a.names).reduce((x, y) => x + y, 0), a.count, "every VIP connection answered");
          const served = await server.stop();
          assertEquals(Object.values(served).reduce((n, c) => n + c.tcp, 0), a.count, "the backends saw each once");

          // counted once: the last agent's batches carry what the clients made and the gateway's kernel counted
          // (the hand-overs lose and repeat nothing)
          const external = `${LAB.external}:${PORT}`;
          const counted = async () => {
            const { packetsIn, bytesIn, packetsOut, bytesOut, frontends } = (await service(control, "outside")).gateway;
            return {
              connections: (await service(control, "inside")).connections,
              gateway: { packetsIn, bytesIn, packetsOut, bytesOut },
              flows: frontends.find((f) => f.frontend === external)?.flows ?? 0,
            };
          };
          const made = Object.values(b.names).reduce((x, y) => x + y, 0);
          // each connection through the gateway a new flow of its frontend, counted by the kernel once
          assertEquals(await frontendFlows(pinRoot, node, LAB.external, PORT), made, "the kernel's flows");
          const truth = async () => ({
            connections: a.count,
            gateway: await gatewayTotals(pinRoot, node, outsideId),
            flows: made,
          });
          const end = Date.now() + 10_000;
          while (Date.now() < end && JSON.stringify(await counted()) !== JSON.stringify(await truth())) {
            await new Promise((r) => setTimeout(r, 200));
          }
          await new Promise((r) => setTimeout(r, 1000)); // nothing more arrives
          assertEquals(await counted(), await truth(), "counted exactly once");

          const busy = await AgentProcess.uninstall(agentArgs);
          assertEquals(busy.code, 2, busy.output);
          assert(busy.output.includes("another agent is running"), busy.output);
          assertEquals((await lab.cgroupPrograms()).length, 7, "a refused uninstall removes nothing");

          assertEquals((await agent.kill("SIGTERM")).code, 0, agent.output);
          assertEquals((await lab.cgroupPrograms()).length, 7, "handed over: the lb links stay");
          const u = await AgentProcess.uninstall(agentArgs);
          assertEquals(u.code, 0, u.output);
          assertEquals(await lab.cgroupPrograms(), [], "nothing on the pods cgroup");
          for (const dev of gw.interfaces) {
            for (const dir of ["ingress", "egress"]) {
              assertEquals((await tc(gw.node, ["filter", "show", "dev", dev, dir])).trim(), "", `${dev} ${dir}`);
            }
            assert(!(await tc(gw.node, ["qdisc", "show", "dev", dev])).includes("clsact"), `the clsact on ${dev}`);
            const xdp = (await run(["ip", "-n", gw.node, "link", "show", "dev", dev])).stdout;
            assert(!/xdp/.test(xdp), `XDP on ${dev}: ${xdp}`);
          }
          assert(!pathExists(pinRoot), `pins left: ${pinRoot}`);
          assert(!pathExists(`${stateDir}/epoch.json`), "epoch.json left");
          const again = await AgentProcess.uninstall(agentArgs);
          assertEquals(again.code, 0, again.output);
        } catch (e) {
          throw new Error(
            `${(e as Error).message}\n${agents.map((a, i) => `agent ${i + 1}:\n${a.output}`).join("\n")}`,
            { cause: e },
          );
        } finally {
          for (const l of loops) await l.stop().catch(() => {});
          for (const a of agents) await a.kill("SIGKILL");
          // whatever a failure left: the uninstall command, then the lab's own cleanup
          if (args) await AgentProcess.uninstall(args).catch(() => {});
          await gw.close();
          await Deno.remove(pinRoot, { recursive: true }).catch(() => {});
          await Deno.remove(stateDir, { recursive: true }).catch(() => {});
        }
      })),
);
