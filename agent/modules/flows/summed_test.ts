// SPDX-License-Identifier: Apache-2.0
/**
 * The flow record cap on the real kernel: a node with three pods, an agent
 * with --max-flow-records 50, and 400 UDP flows (distinct source ports)
 * from two pods to a sink in the third: 800 records' worth. The batch holds
 * at most 50; what did not fit is summed into each pod's "other" records, so
 * what each pod sent and received adds up exactly to its host veth's own
 * statistics, and the keys summed are counted.
 */
import { isOtherPeer, OTHER_PEER, OTHER_POD_PEER } from "../../../control/wire/monitoring.ts";
import { agentMetrics } from "../../metrics.ts";
import { withAgentRig } from "../../testing/agent_rig.ts";
import { assert, assertEquals, interfaceStats, kernelTest, sendUdp, statsDelta, udpSink } from "../../testing/mod.ts";
import type { FlowRecord } from "../../../control/wire/monitoring.ts";

const CAP = 50;
const UDP_FRAME = 100 + 8 + 20 + 14;

kernelTest(
  "flows: over --max-flow-records the rest is summed per pod; each pod's records = its veth's statistics",
  () =>
    withAgentRig({ pods: 3 }, async (r) => {
      const [p1, p2, p3] = ["p1", "p2", "p3"].map((n) => r.pods.pod(n));
      const sink = await udpSink(p2.netns, 60000);
      try {
        const agent = await r.start({ extra: ["--max-flow-records", String(CAP)] });
        const b0 = await r.tick(agent);
        const veths = async () =>
          new Map(
            await Promise.all(
              [p1, p2, p3].map(async (p) => [p.name, await interfaceStats(r.pods.node, p.hostVeth)] as const),
            ),
          );
        const before = await veths();
        // source ports below the destination's: each flow's lower port is its own, so each stays a record of its own
        await sendUdp(p1.netns, p2.ip, 60000, { count: 300, size: 100, firstSourcePort: 20000 });
        await sendUdp(p3.netns, p2.ip, 60000, { count: 100, size: 100, firstSourcePort: 20000 });
        const b = await r.tick(agent);
        const after = await veths();

        const flows = b.flows!;
        assert(flows.length <= CAP, `${flows.length} records, over the cap of ${CAP}`);
        const sum = (f: (x: FlowRecord) => boolean) =>
          flows.filter(f).reduce((s, x) => ({ packets: s.packets + x.packets, bytes: s.bytes + x.bytes }), {
            packets: 0,
            bytes: 0,
          });
        for (const p of [p1, p2, p3]) {
          // what the veth received the pod sent, and the other way round
          const v = statsDelta(before.get(p.name)!, after.get(p.name)!);
          assertEquals(
            sum((x) => x.obs === "tx" && x.src === p.ip),
            { packets: v.rxPackets, bytes: v.rxBytes },
            `${p.name} sent`,
          );
          assertEquals(
            sum((x) => x.obs === "rx" && x.dst === p.ip),
            { packets: v.txPackets, bytes: v.txBytes },
            `${p.name} received`,
          );
        }
        // exact numbers: nothing else moved
        assertEquals(sum((x) => x.obs === "tx" && x.src === p1.ip), { packets: 300, bytes: 300 * UDP_FRAME });
        assertEquals(sum((x) => x.obs === "tx" && x.src === p3.ip), { packets: 100, bytes: 100 * UDP_FRAME });
        assertEquals(sum((x) => x.obs === "rx" && x.dst === p2.ip), { packets: 400, bytes: 400 * UDP_FRAME });
        assertEquals(sum(() => true), { packets: 800, bytes: 800 * UDP_FRAME });

        // the "other" records: one per pod and direction; p2's senders were pods of the node
        const other = flows.filter((x) => isOtherPeer(x.src) || isOtherPeer(x.dst));
        assertEquals(other.map((x) => `${x.obs} ${x.src}>${x.dst} :${x.port}/${x.proto}`).sort(), [
          `rx ${OTHER_POD_PEER}>${p2.ip} :0/0`,
          `tx ${p1.ip}>${OTHER_PEER} :0/0`,
          `tx ${p3.ip}>${OTHER_PEER} :0/0`,
        ]);
        const whole = flows.length - other.length;
        assertEquals(flows.length, CAP);
        const summed = (b.monitoring!.flowKeysSummed ?? 0) - (b0.monitoring!.flowKeysSummed ?? 0);
        assertEquals(summed, 800 - whole, "every key not whole was summed, and counted");
        assertEquals(b.monitoring!.flowRecordsCut, 0);
        // and the agent's /metrics say so
        const family = agentMetrics(r.node, agent).find((f) => f.name === "ebpf_k8s_agent_record_keys_summed_total")!;
        assertEquals(family.samples.find((x) => x.labels?.module === "flows")?.value, b.monitoring!.flowKeysSummed);
        await agent.stop();
      } finally {
        await sink.close();
      }
    }),
);
