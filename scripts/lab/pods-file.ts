// SPDX-License-Identifier: Apache-2.0
/**
 * The lab's stand-in for the Kubernetes API: per node, a JSON file of the
 * pods on it (the wire's PodInfo, with host veth, netns inode and cgroup),
 * which the agent follows with --pods-file. Rewritten atomically whenever a
 * pod is added or removed.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { PodInfo } from "../../control/wire/pods.ts";
import { RECORDS_DIR } from "./records.ts";
import { ip } from "./shell.ts";
import type { NodeSpec, PodSpec, Topology } from "./topology.ts";

/** Where a lab's pods files are (removed with the lab). */
export const podsDir = (lab: string) => `${RECORDS_DIR}/lab-${lab}`;
export const podsFilePath = (lab: string, node: string) => `${podsDir(lab)}/pods-${node}.json`;

const APPS = ["web", "api", "db"];

export function podInfo(node: NodeSpec, pod: PodSpec, index: number): PodInfo {
  const [link] = JSON.parse(ip(node.netns, "-j", "link", "show", pod.hostVeth)) as { ifindex: number }[];
  return {
    uid: `lab-${pod.netns}`,
    namespace: "lab",
    name: pod.name,
    labels: { app: APPS[index % APPS.length], node: node.name },
    ips: [pod.ip],
    hostVeth: pod.hostVeth,
    ifindex: link.ifindex,
    netnsIno: statSync(`/run/netns/${pod.netns}`).ino,
    cgroup: pod.cgroup,
    hostNetwork: false,
  };
}

/** Writes every node's pods file from what exists now (pods whose netns is gone are left out). */
export function writePodsFiles(t: Topology, removed: Set<string> = new Set()): void {
  for (const node of t.nodes) {
    const pods = node.pods.map((p, i) => ({ p, i })).filter(({ p }) => !removed.has(p.name)).map(({ p, i }) =>
      podInfo(node, p, i)
    );
    const path = podsFilePath(t.options.name, node.name);
    mkdirSync(podsDir(t.options.name), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(pods, null, 1));
    renameSync(`${path}.tmp`, path);
  }
}

export function removePodsFiles(lab: string): void {
  rmSync(podsDir(lab), { recursive: true, force: true });
}
