// SPDX-License-Identifier: Apache-2.0
/**
 * What `npm run lab -- up` and `status` print for a person: where every node
 * and pod is, and the commands that use the lab (an agent on a node, a shell
 * in a pod, tearing it down). Pure: computed from the topology alone.
 */
import { podsFilePath } from "./pods-file.ts";
import type { Topology } from "./topology.ts";

/** `running`: traffic processes alive now, of `started`. */
export function describeLab(t: Topology, traffic: { running: number; started: number }): string {
  const { name, index, podsPerNode } = t.options;
  const nameFlag = name === "lab" ? "" : ` --name ${name}`;
  const [n1] = t.nodes;
  const p1 = n1.pods[0];
  const lines = [
    `lab '${name}' (index ${index}): ${t.nodes.length} node(s), ${podsPerNode} pod(s) each; no route out of this machine`,
    `  subnet ${t.subnetCidr} on bridge ${t.subnetBridge}; this machine is ${t.hostIp} on it`,
  ];
  for (const n of t.nodes) {
    lines.push(`  node ${n.name}: netns ${n.netns}, eth0 ${n.ip}, pods ${n.podCidr} on cni0, cgroup ${n.cgroup}`);
    for (const p of n.pods) lines.push(`    pod ${p.name}: netns ${p.netns}, ${p.ip}`);
  }
  lines.push(
    traffic.started
      ? `  traffic: ${traffic.running} of ${traffic.started} processes running (pings and TCP bursts between pods)`
      : `  traffic: none (up --traffic, or npm run lab -- traffic${nameFlag})`,
    `  pods files (the agent's --pods-file): ${podsFilePath(name, "<node>")}`,
    "",
    `an agent on ${n1.name}, for a control plane on this machine's port 8080 and a join token TOKEN:`,
    `  nsenter --net=/run/netns/${n1.netns} npx deno task agent --control http://${t.hostIp}:8080 --node ${n1.name} ` +
      `--join-token TOKEN --interfaces eth0,cni0 --pods-file ${podsFilePath(name, n1.name)}`,
  );
  if (p1) lines.push(`a shell in pod ${p1.name}: ip netns exec ${p1.netns} bash`);
  lines.push(`remove it all: npm run lab -- down${nameFlag}`);
  return lines.join("\n");
}
