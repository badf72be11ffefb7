// SPDX-License-Identifier: Apache-2.0
/**
 * The lab's topology as pure data: names, addresses and MAC addresses of a
 * simulated cluster, computed from a few options. Nothing here touches the
 * kernel, so it is unit-tested and shared by the lab, the demo and the tests.
 *
 *   root netns                 node netns ek8s-<lab>-n<i>            pod netns ek8s-<lab>-n<i>-p<j>
 *   bridge ek8s-<lab> ──veth── eth0 (10.250.<K>.<10+i>)
 *   10.250.<K>.1               cni0 bridge (10.244.<P>.1) ──veth── eth0 (10.244.<P>.<10+j>)
 *
 *   outside netns ek8s-<lab>-out (with LabOptions.outside)
 *   ──veth── eth0 (10.250.<K>.200): a client outside the cluster, on the nodes' subnet
 *
 * Every node netns routes to the other nodes' pod CIDRs through the subnet
 * and has no default route, so nothing leaves the machine. IPv6 is off and
 * all neighbours and bridge forwarding entries are static: the lab is silent
 * unless a workload speaks, which lets tests count packets exactly.
 */

export interface LabOptions {
  /** Short name, [a-z0-9]{1,5}; prefixes every kernel object of this lab. */
  name: string;
  /** 0..15: picks the subnet 10.250.K.0/24 and pod CIDRs, so labs can coexist. */
  index: number;
  nodes: number;
  podsPerNode: number;
  /** Also a namespace outside the cluster on the nodes' subnet: a client of NodePorts and external IPs. */
  outside?: boolean;
}

export interface PodSpec {
  name: string; // e.g. "n1-p2": unique in the lab
  node: string;
  netns: string;
  ip: string;
  mac: string;
  /** Host-side veth, inside the node netns. */
  hostVeth: string;
  hostVethMac: string;
  /** cgroup v2 path relative to the cgroup2 mount: <lab cgroup>/<node>/<pod>. */
  cgroup: string;
}

export interface NodeSpec {
  name: string; // "n1"
  netns: string;
  /** The node's own address on the shared subnet, on its eth0. */
  ip: string;
  mac: string;
  /** Root-netns end of the node's uplink veth. */
  uplinkPeer: string;
  uplinkPeerMac: string;
  podCidr: string;
  gatewayIp: string; // cni0's address, pods' default route
  bridgeMac: string;
  /** cgroup v2 path relative to the cgroup2 mount; the node's agent runs here, its pods below. */
  cgroup: string;
  pods: PodSpec[];
}

/** A client outside the cluster: on the nodes' subnet, in no node, routing nothing but the subnet. */
export interface OutsideSpec {
  netns: string;
  ip: string;
  mac: string;
  /** Root-netns end of its veth, on the subnet bridge. */
  uplinkPeer: string;
  uplinkPeerMac: string;
}

export interface Topology {
  options: LabOptions;
  subnetBridge: string;
  subnetCidr: string;
  hostIp: string;
  hostBridgeMac: string;
  /** The lab's own child cgroup (relative to the cgroup2 mount): never the root cgroup. */
  cgroup: string;
  nodes: NodeSpec[];
  outside: OutsideSpec | null;
}

export const NETNS_PREFIX = "ek8s-";

const hex = (n: number) => n.toString(16).padStart(2, "0");
/** Locally administered unicast MACs: 02:<kind>:<lab>:<node>:<pod>:00. */
const mac = (kind: number, lab: number, node: number, pod: number) =>
  `02:${hex(kind)}:${hex(lab)}:${hex(node)}:${hex(pod)}:00`;

export function validateOptions(o: LabOptions): void {
  if (!/^[a-z0-9]{1,5}$/.test(o.name)) throw new Error(`lab name '${o.name}' must be 1-5 characters of [a-z0-9]`);
  if (!Number.isInteger(o.index) || o.index < 0 || o.index > 15) throw new Error(`lab index ${o.index} must be 0..15`);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 15) throw new Error(`nodes ${o.nodes} must be 1..15`);
  if (!Number.isInteger(o.podsPerNode) || o.podsPerNode < 0 || o.podsPerNode > 200) {
    throw new Error(`podsPerNode ${o.podsPerNode} must be 0..200`);
  }
}

export function topology(options: LabOptions): Topology {
  validateOptions(options);
  const { name, index: k } = options;
  const nodes: NodeSpec[] = [];
  for (let i = 1; i <= options.nodes; i++) {
    const netns = `${NETNS_PREFIX}${name}-n${i}`;
    const third = k * 16 + i; // pod CIDR 10.244.<third>.0/24
    const pods: PodSpec[] = [];
    for (let j = 1; j <= options.podsPerNode; j++) {
      pods.push({
        name: `n${i}-p${j}`,
        node: `n${i}`,
        netns: `${netns}-p${j}`,
        ip: `10.244.${third}.${10 + j}`,
        mac: mac(1, k, i, j),
        hostVeth: `vethp${j}`,
        hostVethMac: mac(2, k, i, j),
        cgroup: `${NETNS_PREFIX}${name}/n${i}/p${j}`,
      });
    }
    nodes.push({
      name: `n${i}`,
      netns,
      ip: `10.250.${k}.${10 + i}`,
      mac: mac(3, k, i, 0),
      uplinkPeer: `${NETNS_PREFIX}${name}-n${i}`,
      uplinkPeerMac: mac(4, k, i, 0),
      podCidr: `10.244.${third}.0/24`,
      gatewayIp: `10.244.${third}.1`,
      bridgeMac: mac(5, k, i, 0),
      cgroup: `${NETNS_PREFIX}${name}/n${i}`,
      pods,
    });
  }
  return {
    options,
    subnetBridge: `${NETNS_PREFIX}${name}`,
    subnetCidr: `10.250.${k}.0/24`,
    hostIp: `10.250.${k}.1`,
    hostBridgeMac: mac(6, k, 0, 0),
    cgroup: `${NETNS_PREFIX}${name}`,
    nodes,
    outside: options.outside
      ? {
        netns: `${NETNS_PREFIX}${name}-out`,
        ip: `10.250.${k}.200`,
        mac: mac(7, k, 0, 0),
        uplinkPeer: `${NETNS_PREFIX}${name}-x`,
        uplinkPeerMac: mac(8, k, 0, 0),
      }
      : null,
  };
}

export function findPod(t: Topology, podName: string): { node: NodeSpec; pod: PodSpec } {
  for (const node of t.nodes) {
    const pod = node.pods.find((p) => p.name === podName);
    if (pod) return { node, pod };
  }
  throw new Error(`lab '${t.options.name}' has no pod '${podName}'`);
}
