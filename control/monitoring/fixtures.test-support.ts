// SPDX-License-Identifier: Apache-2.0
/** Shared fixtures for the monitoring tests: pods on two nodes and records with defaults. */
import type { DropRecord, FlowRecord, TcpRecord } from "../wire/monitoring.ts";
import type { PodInfo } from "../wire/pods.ts";
import { buildPodIndex, type NodePods } from "./attribution.ts";

export const pod = (uid: string, name: string, ips: string[], extra: Partial<PodInfo> = {}): PodInfo => ({
  uid,
  namespace: "default",
  name,
  labels: {},
  ips,
  hostNetwork: false,
  ...extra,
});

/** node-a: web (10.0.1.2), cache (10.0.1.3); node-b: db (10.0.2.2, fd00::2). */
export const REPORTS: NodePods[] = [
  { node: "node-a", ts: 1_000, pods: [pod("u-web", "web", ["10.0.1.2"]), pod("u-cache", "cache", ["10.0.1.3"])] },
  { node: "node-b", ts: 1_000, pods: [pod("u-db", "db", ["10.0.2.2", "fd00::2"], { namespace: "data" })] },
];
export const index = () => buildPodIndex(REPORTS);

export const WEB = { kind: "pod", uid: "u-web", namespace: "default", name: "web", node: "node-a" } as const;
export const CACHE = { kind: "pod", uid: "u-cache", namespace: "default", name: "cache", node: "node-a" } as const;
export const DB = { kind: "pod", uid: "u-db", namespace: "data", name: "db", node: "node-b" } as const;

export const flow = (r: Partial<FlowRecord>): FlowRecord => ({
  src: "10.0.1.2",
  dst: "10.0.2.2",
  port: 5432,
  proto: 6,
  toServer: true,
  obs: "tx",
  packets: 1,
  bytes: 100,
  tcpFlags: 0,
  ...r,
});

export const tcp = (r: Partial<TcpRecord>): TcpRecord => ({
  pod: "u-web",
  local: "10.0.1.2",
  remote: "10.0.2.2",
  port: 5432,
  role: "client",
  opened: 0,
  failedRefused: 0,
  failedTimeout: 0,
  failedOther: 0,
  closed: 0,
  durationMs: 0,
  retransmits: 0,
  resetsRx: 0,
  resetsTx: 0,
  srttUsSum: 0,
  srttSamples: 0,
  ...r,
});

export const drop = (r: Partial<DropRecord>): DropRecord => ({ reason: "NETFILTER_DROP", packets: 1, bytes: 60, ...r });
