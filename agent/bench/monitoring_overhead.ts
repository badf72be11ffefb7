// SPDX-License-Identifier: Apache-2.0
/**
 * Pod-to-pod TCP throughput (iperf3, one stream, a few seconds) with every
 * monitoring module attached (ifstats on the bridge and the pods' veths,
 * flows on the pods' veths, the TCP and drop tracepoints) against none,
 * alternated in one run so that both see the same machine. Target (issue 4):
 * with monitoring >= 97% of without.
 *
 * In namespaces of its own (a node with a bridge and two pods, as the tests
 * make them, pod_bench.ts); nothing leaves the machine. Needs iperf3 (/usr/bin/iperf3).
 *   deno run --allow-all agent/bench/monitoring_overhead.ts
 *   (BENCH_ROUNDS, BENCH_SECONDS: fewer or shorter for a quick look)
 */
import { DropsModule } from "../modules/drops/module.ts";
import { FlowsModule } from "../modules/flows/module.ts";
import { IfStatsModule } from "../modules/ifstats/module.ts";
import { TcpModule } from "../modules/tcp/module.ts";
import { onOffRatios, ROUNDS, SECONDS, withPodBench } from "./pod_bench.ts";
import { median, row, verdict } from "./report.ts";

export async function benchMonitoringOverhead(): Promise<void> {
  await withPodBench(2, async (b) => {
    await b.iperf3Server("p2");
    const modules = [
      new IfStatsModule(b.env("ifstats")),
      new FlowsModule(b.env("flows")),
      new TcpModule(b.env("tcp")),
      new DropsModule(b.env("drops")),
    ];
    await b.iperf3("p1", "p2"); // warm-up
    const bps = await b.alternate(modules, () => b.iperf3("p1", "p2"));
    const gbps = (x: number) => `${(x / 1e9).toFixed(2)} Gbit/s`;
    const ratio = onOffRatios(bps).ofMedians;
    row("iperf3 pod to pod, no monitoring", gbps(median(bps.off)), `median of ${ROUNDS} x ${SECONDS} s`);
    row(
      "iperf3 pod to pod, ifstats+flows+tcp+drops",
      gbps(median(bps.on)),
      `median of ${ROUNDS} x ${SECONDS} s, alternated`,
    );
    row("ratio monitored / unmonitored", `${ratio.toFixed(3)}`, verdict(ratio, 0.97, "higher"));
  });
}

if (import.meta.main) await benchMonitoringOverhead();
