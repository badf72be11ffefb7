// SPDX-License-Identifier: Apache-2.0
/**
 * What `npm run demo` runs on its lab cluster besides the lab's own traffic, so that the Services page has
 * something to show: every pod but the first serves TCP on 8080 (lbprobe answers with its name), the service
 * demo/echo puts them behind 10.96.0.10:80, the lb module runs on every node, and the first pod dials the VIP
 * twenty times a second. Shared by scripts/demo.ts and the footprint benchmark (the same load).
 */
import type { Cluster } from "./cluster.ts";

const LBPROBE = `${process.cwd()}/build/tools/lbprobe`;
export const DEMO_VIP = "10.96.0.10";
/** The demo's cluster: nodes, pods per node, the agents' interval in seconds. */
export const DEMO_SHAPE = { nodes: 2, pods: 3, interval: 2 };

export async function startDemoService(c: Cluster): Promise<void> {
  const [client, ...backends] = c.lab.topology.nodes.flatMap((n) => n.pods);
  for (const b of backends) {
    c.lab.spawnIn(b.netns, [LBPROBE, "serve-tcp", "8080", b.name], `demo backend ${b.name}`, b.cgroup);
  }
  for (const node of c.lab.topology.nodes) {
    await c.admin("PUT", `/api/v1/nodes/${c.nodeName(node)}/modules/lb`, { enabled: true });
  }
  const res = await c.admin("POST", "/api/v1/services", {
    namespace: "demo",
    name: "echo",
    vip: DEMO_VIP,
    port: 80,
    protocol: "TCP",
    backends: backends.map((b) => ({ ip: b.ip, port: 8080, pod: { namespace: "lab", name: b.name } })),
  });
  if (res.status !== 201) throw new Error(`creating the demo service: ${res.status} ${await res.text()}`);
  c.lab.spawnIn(
    client.netns,
    ["sh", "-c", `while :; do ${LBPROBE} tcp ${DEMO_VIP} 80 20 >/dev/null; sleep 1; done`],
    `demo client ${client.name}`,
    client.cgroup,
  );
}
