// SPDX-License-Identifier: Apache-2.0
/**
 * The agent with the accel module switched on by the (fake) control plane,
 * on a node of pods (namespaces on a bridge, from a pods file): the rules
 * arrive with the lb state, the node's pod addresses come from the pods
 * file, a connection between two pods in the cgroup is accelerated, the
 * batch carries the counters and the inventory the programs; a stop leaves
 * nothing attached.
 */
import { withAgentRig } from "../../testing/agent_rig.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { createTestCgroup } from "../../testing/bpf.ts";
import { waitFor } from "../lb/fixtures.ts";
import { killAll } from "../lb/lb_lab.ts";
import { accelKernelTest, CLIENT, SERVER, type TransferResult } from "./accel_lab.ts";

const PORT = 7100;

accelKernelTest(
  "agent: accel switched on follows the rules by long-poll, accelerates pod to pod on the node, reports counters; a stop detaches everything",
  async () => {
    const cg = await createTestCgroup();
    const procs: Deno.ChildProcess[] = [];
    try {
      await withAgentRig({ pods: 2 }, async (r) => {
        const [client, server] = r.pods.pods;
        const inPod = (netns: string, argv: string[]) => {
          const p = new Deno.Command("sh", {
            args: ["-c", `echo $$ > ${cg.path}/cgroup.procs && exec ip netns exec ${netns} "$@"`, "sh", ...argv],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          procs.push(p);
          return p;
        };
        r.control.setDesired({ accel: true });
        // forced on (the flag as an operator gives it), so the inventory below holds on any kernel
        const agent = await r.start({ extra: ["--lb-cgroup", cg.path, "--accel-sockmap-workaround", "on"] });
        await waitFor("accel on", () => agent.modules.isOn("accel"));
        assert(
          r.logs.some((l) => l.endsWith(`accel: attached to ${cg.path}; sockmap workaround on (forced on)`)),
          "the choice and its reason logged",
        );
        await new Promise((res) => setTimeout(res, 100)); // the poll is held
        const v =
          r.control.setLbServices([], [{ id: 9, kind: "pods", namespace: "test", selector: { app: server.name } }])
            .version;
        await waitFor(
          `version ${v} applied`,
          () => r.logs.some((l) => l.startsWith(`accel: version ${v}: 1 rule(s), 1 endpoint(s), 2 local address(es)`)),
          5000,
        );

        const srv = inPod(server.netns, ["python3", "-u", "-c", SERVER, server.ip, String(PORT)]);
        const reader = srv.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assertEquals((await reader.read()).value?.trim(), "ready");
        reader.releaseLock();
        const out = await inPod(client.netns, [
          "python3",
          "-u",
          "-c",
          CLIENT,
          server.ip,
          String(PORT),
          "3",
          String(3 << 20),
          String(5 << 20),
        ]).output();
        const res: TransferResult = JSON.parse(new TextDecoder().decode(out.stdout));
        assertEquals([res.ok, res.bad], [3, []]);

        const b = await r.tick(agent);
        assertEquals(b.accel, { version: v, rules: [[9, 3, res.bytesSent + res.bytesReceived]] });
        const inv = b.inventory!;
        assertEquals(inv.modules.find((m) => m.name === "accel")?.state, "on");
        assertEquals(inv.programs.filter((p) => p.module === "accel").map((p) => p.attach).sort(), [
          `cgroup sockops ${cg.path}`,
          "sk_msg accel_sockets; sockmap workaround on (forced on)",
          "sk_skb verdict accel_sockets",
        ]);
        assertEquals(inv.maps.find((m) => m.name === "accel_endpoints")?.entries, 1);
        assert((await r.tick(agent)).accel?.rules.length === 0, "deltas only");
        await agent.stop();
        const left = new TextDecoder().decode(
          (await new Deno.Command("bpftool", { args: ["cgroup", "show", cg.path, "-j"] }).output()).stdout,
        ).trim();
        assertEquals(left === "" ? [] : JSON.parse(left), []);
      });
    } finally {
      await killAll(procs);
      await cg.close();
    }
  },
);
