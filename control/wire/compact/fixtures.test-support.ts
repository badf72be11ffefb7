// SPDX-License-Identifier: Apache-2.0
/**
 * Batches for the compact codec's tests, written with nothing but control/wire (its tests may import nothing
 * else): one carrying every field of today's Batch, optional ones included, and "other" records.
 */
import { type Batch, type Inventory, MODULES, WIRE_VERSION } from "../batch.ts";
import { DNS_LATENCY_BUCKETS, DNS_OTHER_NAME, DNS_QTYPES, DNS_RCODES, type DnsRecords } from "../dns.ts";
import { OTHER_DROP_REASON, OTHER_PEER, OTHER_POD_PEER, zeroTcpCounters } from "../monitoring.ts";

export const BOOT = "6f1c2a3e-8b4d-4c5e-9f60-718293a4b5c6";

export function inventory(agentVersion = "0.4.0"): Inventory {
  return {
    agentVersion,
    kernel: "6.12.48+deb13-amd64",
    btf: true,
    bpfStats: false,
    features: { "prog:sched_cls": true, "map:sockhash": false },
    modules: MODULES.map((name, i) =>
      i === 2 ? { name, desired: true, state: "error", error: "no BTF" } : { name, desired: i < 4, state: "on" }
    ),
    programs: [
      { id: 41, name: "flows_ingress", type: "sched_cls", module: "flows", attach: "tc ingress veth0", runCount: 9 },
      { id: 42, name: "flows_egress", type: "sched_cls", module: "flows", attach: "tc egress veth0", runTimeNs: 7 },
    ],
    maps: [{ id: 7, name: "flows", type: "lru_hash", module: "flows", maxEntries: 65_536, entries: 12 }],
    spool: { pending: 1, dropped: 2, merged: 3, quarantined: 4, quarantineDropped: 5 },
  };
}

/** A batch with only its heading and interfaces: what an agent with every monitoring module off sends. */
export function interfacesOnly(): Batch {
  return {
    v: WIRE_VERSION,
    node: "node-a.example",
    bootId: BOOT,
    seq: 7,
    ts: 1_765_000_000_000,
    interval: 2.5,
    interfaces: [
      { ifname: "eth0", ifindex: 2, rxPackets: 10, rxBytes: 9_007_199_254_740_991, txPackets: 3, txBytes: 4, drops: 0 },
      { ifname: "veth1a2b", ifindex: 17, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 5 },
    ],
  };
}

/** Every field of a v3 batch, each optional one present somewhere and absent somewhere else. */
export function fullBatch(): Batch {
  return {
    ...interfacesOnly(),
    inventory: inventory(),
    pods: [
      {
        uid: "u-web",
        namespace: "shop",
        name: "web-1",
        labels: { app: "web" },
        owner: { kind: "ReplicaSet", name: "web-7d9f" },
        ips: ["10.0.1.2", "fd00::2"],
        hostVeth: "veth1a2b",
        ifindex: 17,
        netnsIno: 4026532001,
        cgroup: "kubepods.slice/pod-u-web",
        hostNetwork: false,
        rxPackets: 1,
        rxBytes: 2,
        txPackets: 3,
        txBytes: 4,
        drops: 0,
      },
      {
        uid: "u-host",
        namespace: "monitoring",
        name: "node-exporter",
        labels: {},
        ips: [],
        hostNetwork: true,
        rxPackets: 0,
        rxBytes: 0,
        txPackets: 0,
        txBytes: 0,
        drops: 0,
      },
    ],
    flows: [
      {
        src: "10.0.1.2",
        dst: "10.0.2.3",
        port: 80,
        proto: 6,
        toServer: true,
        obs: "tx",
        packets: 3,
        bytes: 360,
        tcpFlags: 26,
      },
      {
        src: "10.0.2.3",
        dst: "10.0.1.2",
        port: 80,
        proto: 6,
        toServer: false,
        obs: "rx",
        packets: 4,
        bytes: 3600,
        tcpFlags: 18,
      },
      {
        src: "fd00::10",
        dst: "fd00::2",
        port: 53,
        proto: 17,
        toServer: true,
        obs: "host",
        packets: 1,
        bytes: 80,
        tcpFlags: 0,
      },
      ...otherFlows(),
    ],
    tcp: [
      {
        pod: "u-web",
        local: "10.0.1.2",
        remote: "10.0.2.3",
        port: 80,
        role: "client",
        opened: 3,
        failedRefused: 1,
        failedTimeout: 2,
        failedOther: 3,
        closed: 2,
        durationMs: 1_500,
        retransmits: 1,
        resetsRx: 4,
        resetsTx: 5,
        srttUsSum: 3_000,
        srttSamples: 3,
      },
      { ...zeroTcpCounters(), local: "fd00::10", remote: OTHER_PEER, port: 0, role: "unknown" },
    ],
    drops: [
      { pod: "u-web", ifname: "veth1a2b", reason: "TCP_INVALID_SEQUENCE", packets: 1, bytes: 66 },
      { pod: "u-web", ifname: "veth1a2b", reason: "NO_SOCKET", packets: 3, bytes: 222, service: "shop/web" },
      { ifname: "eth0", reason: "NOT_SPECIFIED", packets: 2, bytes: 120 },
      { pod: "u-web", reason: OTHER_DROP_REASON, packets: 9, bytes: 900 },
      { reason: OTHER_DROP_REASON, packets: 1, bytes: 60 },
    ],
    monitoring: {
      flowEntries: 3,
      flowTableSize: 65_536,
      flowsCreated: 10,
      flowsEvicted: 1,
      flowCreateFailed: 2,
      flowRecordsCut: 3,
      tcpRecordsCut: 4,
      dropRecordsCut: 5,
      flowKeysSummed: 6,
      tcpKeysSummed: 7,
      dropKeysSummed: 8,
      tcpEvicted: 9,
      dropsOverflow: 10,
      ...dnsMonitoringFixture(),
    },
    lb: { version: 4, services: [[1, 5, 1]], backends: [[1, 3], [2, 2]] },
    gateway: {
      version: 4,
      services: [[1, 10, 1_500, 9, 12_000]],
      flows: 4,
      evicted: 1,
      noBackend: 1,
      frontends: [[1, "0.0.0.0", 30080, 4, 1, 0, 1, 0, 2], [1, "192.0.2.10", 80, 1, 0, 0, 0, 0, 0]],
    },
    accel: { version: 4, rules: [[1, 2, 4_096]] },
    dns: dnsRecordsFixture(),
  };
}

/** The dns module's table statistics in MonitoringStats (wire version 6), every one present. */
export function dnsMonitoringFixture() {
  return {
    dnsServerEntries: 2,
    dnsServerTableSize: 4096,
    dnsServersEvicted: 1,
    dnsPendingEntries: 3,
    dnsPendingEvicted: 4,
    dnsNameEntries: 5,
    dnsNamesFull: 6,
    dnsServersFailed: 9,
    dnsNamesOtherFailed: 10,
    dnsNamesSummed: 7,
    dnsServersSummed: 8,
    dnsMalformed: { shortHeader: 1, nameTooLong: 2, pointer: 3, badLabel: 4, shortQuestion: 5, qdcount: 6 },
  };
}

/** DNS records (wire version 6): a pod's server, a name, and the "other" records of a pod and of the node. */
export function dnsRecordsFixture(): DnsRecords {
  const counts = (n: number, at: number, value: number) => Array.from({ length: n }, (_, i) => i === at ? value : 0);
  const server = {
    server: "10.0.2.53",
    port: 53,
    queries: counts(DNS_QTYPES.length, 1, 5),
    tcp: 1,
    responses: counts(DNS_RCODES.length, 1, 4),
    truncated: 1,
    timeouts: 1,
    latency: counts(DNS_LATENCY_BUCKETS, DNS_LATENCY_BUCKETS - 1, 4),
    latencySumUs: 12_000_000,
  };
  return {
    servers: [{ pod: "u-web", ...server }, { ...server, server: OTHER_PEER, port: 0 }],
    names: [
      { pod: "u-web", name: "db.shop.svc.cluster.local", queries: 3, nxdomain: 0 },
      { pod: "u-web", name: "", queries: 1, nxdomain: 0 },
      { pod: "u-web", name: DNS_OTHER_NAME, queries: 2, nxdomain: 2 },
      { name: DNS_OTHER_NAME, queries: 1, nxdomain: 1 },
    ],
  };
}

/** What a record cap summed: far ends reserved, port and protocol 0, per pod and per node. */
export function otherFlows(): NonNullable<Batch["flows"]> {
  const other = { port: 0, proto: 0, toServer: true, packets: 7, bytes: 700, tcpFlags: 0 } as const;
  return [
    { ...other, src: "10.0.1.2", dst: OTHER_PEER, obs: "tx" },
    { ...other, src: OTHER_POD_PEER, dst: "10.0.1.2", obs: "rx" },
    { ...other, src: OTHER_PEER, dst: OTHER_PEER, obs: "host", toServer: false },
  ];
}
