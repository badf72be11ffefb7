// SPDX-License-Identifier: Apache-2.0
/**
 * Builds and tears down a lab cluster: nodes as network namespaces joined by
 * a subnet bridge, each with a cni0 bridge and pods as namespaces (the shape
 * of the bridge CNI). See topology.ts for names and addresses.
 */
import { spawn } from "node:child_process";
import { cgroupPath, inCgroup, makeCgroup, removeCgroupTree } from "./cgroup.ts";
import { removePodsFiles, writePodsFiles } from "./pods-file.ts";
import { forgetRecord, type LabRecord, readRecord, remember, writeRecord } from "./records.ts";
import { inNetns, ip, ipBatch, listNetns, run, sysctl } from "./shell.ts";
import { type LabOptions, NETNS_PREFIX, type NodeSpec, type OutsideSpec, type Topology, topology } from "./topology.ts";

/** A namespace that stays silent: no IPv6 (no ND, MLD, router solicitations);
 * interfaces get `multicast off` below, so no IGMP reports either. */
function newNetns(rec: LabRecord, name: string, forward: boolean): void {
  ip(null, "netns", "add", name);
  remember(rec, { kind: "netns", name });
  sysctl(name, "net.ipv6.conf.all.disable_ipv6", 1);
  sysctl(name, "net.ipv6.conf.default.disable_ipv6", 1);
  sysctl(name, "net.ipv4.ip_forward", forward ? 1 : 0);
  // Bridge ports otherwise send an IGMP report for link-local groups when they join.
  sysctl(name, "net.ipv4.igmp_link_local_mcast_reports", 0);
  ip(name, "link", "set", "lo", "up");
}

function buildSubnet(rec: LabRecord, t: Topology): void {
  ip(null, "link", "add", t.subnetBridge, "type", "bridge");
  remember(rec, { kind: "link", name: t.subnetBridge });
  sysctl(null, `net.ipv6.conf.${t.subnetBridge}.disable_ipv6`, 1);
  ipBatch(null, [
    `link set ${t.subnetBridge} address ${t.hostBridgeMac} multicast off`,
    `addr add ${t.hostIp}/24 dev ${t.subnetBridge}`,
    `link set ${t.subnetBridge} up`,
  ]);
}

function buildNode(rec: LabRecord, t: Topology, node: NodeSpec): void {
  newNetns(rec, node.netns, true);
  // The node's uplink: root side on the subnet bridge, node side is its "eth0".
  ip(null, "link", "add", node.uplinkPeer, "type", "veth", "peer", "name", "eth0", "netns", node.netns);
  remember(rec, { kind: "link", name: node.uplinkPeer });
  sysctl(null, `net.ipv6.conf.${node.uplinkPeer}.disable_ipv6`, 1);
  ipBatch(null, [
    `link set ${node.uplinkPeer} address ${node.uplinkPeerMac} multicast off`,
    `link set ${node.uplinkPeer} master ${t.subnetBridge}`,
    `link set ${node.uplinkPeer} up`,
  ]);
  const [, prefix] = node.podCidr.split("/");
  ipBatch(node.netns, [
    `link set eth0 address ${node.mac} multicast off`,
    `addr add ${node.ip}/24 dev eth0`,
    `link set eth0 up`,
    `link add cni0 type bridge`,
    `link set cni0 address ${node.bridgeMac} multicast off`,
    `addr add ${node.gatewayIp}/${prefix} dev cni0`,
    `link set cni0 up`,
  ]);
  for (const pod of node.pods) {
    newNetns(rec, pod.netns, false);
    ip(node.netns, "link", "add", pod.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", pod.netns);
    ipBatch(node.netns, [
      `link set ${pod.hostVeth} address ${pod.hostVethMac} multicast off`,
      `link set ${pod.hostVeth} master cni0`,
      `link set ${pod.hostVeth} up`,
    ]);
    ipBatch(pod.netns, [
      `link set eth0 address ${pod.mac} multicast off`,
      `addr add ${pod.ip}/${prefix} dev eth0`,
      `link set eth0 up`,
      `route add default via ${node.gatewayIp} dev eth0`,
    ]);
  }
}

/** The outside client: a veth onto the subnet bridge, like a node's uplink, and no forwarding. */
function buildOutside(rec: LabRecord, t: Topology, out: OutsideSpec): void {
  newNetns(rec, out.netns, false);
  ip(null, "link", "add", out.uplinkPeer, "type", "veth", "peer", "name", "eth0", "netns", out.netns);
  remember(rec, { kind: "link", name: out.uplinkPeer });
  sysctl(null, `net.ipv6.conf.${out.uplinkPeer}.disable_ipv6`, 1);
  ipBatch(null, [
    `link set ${out.uplinkPeer} address ${out.uplinkPeerMac} multicast off`,
    `link set ${out.uplinkPeer} master ${t.subnetBridge}`,
    `link set ${out.uplinkPeer} up`,
  ]);
  ipBatch(out.netns, [
    `link set eth0 address ${out.mac} multicast off`,
    `addr add ${out.ip}/24 dev eth0`,
    `link set eth0 up`,
    // Only the subnet: external IPs are routed to a node by the test that uses them.
    `neigh replace ${t.hostIp} lladdr ${t.hostBridgeMac} dev eth0 nud permanent`,
    ...t.nodes.map((n) => `neigh replace ${n.ip} lladdr ${n.mac} dev eth0 nud permanent`),
  ]);
}

/** Static neighbours, bridge entries and routes: no ARP, no flooding, no surprises. */
function wire(t: Topology): void {
  const onSubnet = [...t.nodes, ...(t.outside ? [t.outside] : [])];
  ipBatch(null, onSubnet.map((n) => `neigh replace ${n.ip} lladdr ${n.mac} dev ${t.subnetBridge} nud permanent`));
  ipBatch(null, onSubnet.map((n) => `fdb replace ${n.mac} dev ${n.uplinkPeer} master static`), "bridge");
  for (const node of t.nodes) {
    const others = t.nodes.filter((n) => n !== node);
    ipBatch(node.netns, [
      `neigh replace ${t.hostIp} lladdr ${t.hostBridgeMac} dev eth0 nud permanent`,
      ...(t.outside ? [`neigh replace ${t.outside.ip} lladdr ${t.outside.mac} dev eth0 nud permanent`] : []),
      ...others.flatMap((o) => [
        `neigh replace ${o.ip} lladdr ${o.mac} dev eth0 nud permanent`,
        `route add ${o.podCidr} via ${o.ip} dev eth0`,
      ]),
      ...node.pods.map((p) => `neigh replace ${p.ip} lladdr ${p.mac} dev cni0 nud permanent`),
    ]);
    ipBatch(node.netns, node.pods.map((p) => `fdb replace ${p.mac} dev ${p.hostVeth} master static`), "bridge");
    for (const pod of node.pods) {
      ipBatch(pod.netns, [
        `neigh replace ${node.gatewayIp} lladdr ${node.bridgeMac} dev eth0 nud permanent`,
        ...node.pods.filter((p) => p !== pod).map((p) =>
          `neigh replace ${p.ip} lladdr ${p.mac} dev eth0 nud permanent`
        ),
      ]);
    }
  }
}

export interface Lab {
  topology: Topology;
  /** Pods deleted with removePod. */
  removed: Set<string>;
  /** Starts a detached process inside a netns (and a cgroup, relative path); it is killed by down(). */
  spawnIn(netns: string, argv: string[], what: string, cgroup?: string): number;
  down(): void;
}

export function labUp(options: LabOptions): Lab {
  const t = topology(options);
  labDown(options.name); // a crashed earlier run of the same lab is cleaned first
  const rec: LabRecord = { options, created: [] };
  writeRecord(rec);
  try {
    makeCgroup(t.cgroup);
    remember(rec, { kind: "cgroup", path: cgroupPath(t.cgroup) });
    for (const node of t.nodes) for (const c of [node.cgroup, ...node.pods.map((p) => p.cgroup)]) makeCgroup(c);
    buildSubnet(rec, t);
    for (const node of t.nodes) buildNode(rec, t, node);
    if (t.outside) buildOutside(rec, t, t.outside);
    wire(t);
    writePodsFiles(t);
  } catch (e) {
    labDown(options.name);
    throw e;
  }
  return labHandle(rec, t);
}

function labHandle(rec: LabRecord, t: Topology): Lab {
  return {
    topology: t,
    removed: new Set(),
    spawnIn(netns, argv, what, cgroup) {
      const [cmd, ...args] = inNetns(netns, cgroup ? inCgroup(cgroupPath(cgroup), argv) : argv);
      const child = spawn(cmd, args, { detached: true, stdio: "ignore" });
      if (!child.pid) throw new Error(`cannot start ${what}: ${argv.join(" ")}`);
      child.unref();
      remember(rec, { kind: "pid", pid: child.pid, what });
      return child.pid;
    },
    down: () => labDown(t.options.name),
  };
}

/** Reattaches to a lab that is up (to spawn more workloads into it). */
export function labAttach(name: string): Lab | null {
  const rec = readRecord(name);
  return rec ? labHandle(rec, topology(rec.options)) : null;
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGTERM");
    } catch { /* already gone */ }
  }
}

/** Removes everything the lab named `name` created, from its record and by name prefix. */
export function labDown(name: string): void {
  const rec = readRecord(name);
  const created = rec?.created ?? [];
  for (const c of created) if (c.kind === "pid") killGroup(c.pid);
  for (const c of created) if (c.kind === "cgroup") removeCgroupTree(c.path);
  removeCgroupTree(cgroupPath(`${NETNS_PREFIX}${name}`)); // also without a record
  const prefix = `${NETNS_PREFIX}${name}-`;
  // Pods first, then nodes: deleting a netns deletes the veths inside it and their peers.
  const namespaces = new Set([
    ...created.filter((c) => c.kind === "netns").map((c) => (c as { name: string }).name),
    ...listNetns().filter((n) => n.startsWith(prefix)),
  ]);
  for (const ns of [...namespaces].sort((a, b) => b.length - a.length)) {
    run("ip", ["netns", "pids", ns], { allowFail: true })
      .split("\n").filter(Boolean).forEach((p) => killGroup(Number(p)));
    run("ip", ["netns", "del", ns], { allowFail: true });
  }
  const links = new Set([
    ...created.filter((c) => c.kind === "link").map((c) => (c as { name: string }).name),
    `${NETNS_PREFIX}${name}`,
  ]);
  for (const l of links) run("ip", ["link", "del", l], { allowFail: true });
  removePodsFiles(name);
  forgetRecord(name);
}

/** Deletes one pod (its netns, and with it its veth) and updates the node's pods file, like a pod deletion. */
export function removePod(lab: Lab, podName: string): void {
  const t = lab.topology;
  const pod = t.nodes.flatMap((n) => n.pods).find((p) => p.name === podName);
  if (!pod) throw new Error(`lab '${t.options.name}' has no pod '${podName}'`);
  lab.removed.add(podName);
  run("ip", ["netns", "del", pod.netns], { allowFail: true });
  removeCgroupTree(cgroupPath(pod.cgroup));
  writePodsFiles(t, lab.removed);
}

/** Demo traffic: pings inside and across nodes, and bursts of TCP to a sink in each node's first pod. */
export function startTraffic(lab: Lab): void {
  const t = lab.topology;
  const all = t.nodes.flatMap((n) => n.pods);
  for (const node of t.nodes) {
    const sink = node.pods[0];
    if (!sink) continue;
    lab.spawnIn(
      sink.netns,
      ["sh", "-c", "while :; do nc -l -p 5001 >/dev/null 2>&1; done"],
      `tcp sink in ${sink.name}`,
      sink.cgroup,
    );
  }
  all.forEach((pod, idx) => {
    const peer = all[(idx + 1) % all.length];
    if (peer === pod) return;
    lab.spawnIn(
      pod.netns,
      ["ping", "-q", "-i", "0.5", "-s", String(64 + 100 * idx), peer.ip],
      `ping ${pod.name}->${peer.name}`,
      pod.cgroup,
    );
    const sink = t.nodes[(idx + 1) % t.nodes.length].pods[0];
    if (sink && sink !== pod) {
      const script =
        `while :; do head -c $(( (RANDOM % 64 + 1) * 16384 )) /dev/zero | nc -N -w 2 ${sink.ip} 5001; sleep $(( RANDOM % 3 + 1 )); done`;
      lab.spawnIn(pod.netns, ["bash", "-c", script], `tcp bursts ${pod.name}->${sink.name}`, pod.cgroup);
    }
  });
}
