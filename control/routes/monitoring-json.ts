// SPDX-License-Identifier: Apache-2.0
/** The monitoring read models (control/queries/monitoring/) as the API's JSON (control/routes/monitoring.ts). */
import { endpointLabel, type StoredEndpoint } from "../monitoring/attribution.ts";
import type { DropRow } from "../monitoring/drops.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { protocolKeyword, tcpFlagList } from "../monitoring/names.ts";
import type { Talker } from "../monitoring/rollup.ts";
import { avgDurationMs, avgSrttUs, failures, type TcpCounters, type TcpRow } from "../monitoring/tcp.ts";
import { pointRates, type SeriesPoint } from "../queries/monitoring/interfaces.ts";
import type { PodRecord } from "../queries/monitoring/pods.ts";
import { isoOrNull } from "../queries/time.ts";

export interface EndpointJson {
  kind: StoredEndpoint["kind"];
  label: string;
  uid?: string;
  namespace?: string;
  name?: string;
  node?: string;
  ip?: string;
}

/** Only what is known: a pod known by its uid alone has no namespace, name or node. */
export function endpointJson(e: StoredEndpoint): EndpointJson {
  const out: EndpointJson = { kind: e.kind, label: endpointLabel(e) };
  switch (e.kind) {
    case "pod":
      out.uid = e.uid;
      if (e.namespace !== "") out.namespace = e.namespace;
      if (e.name !== "") out.name = e.name;
      if (e.node !== "") out.node = e.node;
      break;
    case "service":
      out.namespace = e.namespace;
      out.name = e.name;
      break;
    case "world":
      out.ip = e.ip;
      break;
  }
  return out;
}

export function podJson(p: PodRecord) {
  return {
    uid: p.uid,
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ips: p.ips,
    labels: p.labels,
    owner: p.owner,
    hostNetwork: p.hostNetwork,
    hostVeth: p.hostVeth,
    state: p.state,
    firstSeen: new Date(p.firstSeen).toISOString(),
    lastSeen: new Date(p.lastSeen).toISOString(),
    vanishedAt: isoOrNull(p.vanishedAt ?? null),
    rxPackets: p.rxPackets,
    rxBytes: p.rxBytes,
    txPackets: p.txPackets,
    txBytes: p.txBytes,
    drops: p.drops,
    ...p.rates,
  };
}

/** `seconds`: what the window covers, the divisor of bytesPerSec. */
export function flowJson(f: FlowRow, seconds: number) {
  return {
    source: endpointJson(f.client),
    destination: endpointJson(f.server),
    service: f.service === undefined ? null : endpointJson(f.service),
    port: f.port,
    proto: f.proto,
    protocol: protocolKeyword(f.proto),
    forward: { packets: f.fwdPackets, bytes: f.fwdBytes },
    reverse: { packets: f.revPackets, bytes: f.revBytes },
    tcpFlags: tcpFlagList(f.tcpFlags),
    // Both directions over the window; none for an empty window (as flowRates).
    bytesPerSec: seconds > 0 ? (f.fwdBytes + f.revBytes) / seconds : null,
  };
}

export function tcpJson(r: TcpRow) {
  return {
    local: endpointJson(r.local),
    remote: endpointJson(r.remote),
    service: r.service === undefined ? null : endpointJson(r.service),
    port: r.port,
    role: r.role,
    opened: r.opened,
    failed: { refused: r.failedRefused, timeout: r.failedTimeout, other: r.failedOther },
    closed: r.closed,
    avgDurationMs: avgDurationMs(r),
    retransmits: r.retransmits,
    resets: { received: r.resetsRx, sent: r.resetsTx },
    avgSrttUs: avgSrttUs(r),
  };
}

export function tcpTotalsJson(t: TcpCounters) {
  return {
    opened: t.opened,
    failed: failures(t),
    closed: t.closed,
    retransmits: t.retransmits,
    resets: t.resetsRx + t.resetsTx,
  };
}

export function dropJson(d: DropRow) {
  return {
    node: d.node,
    pod: d.pod === undefined ? null : endpointJson(d.pod),
    ifname: d.ifname ?? null,
    reason: d.reason,
    service: d.service === undefined ? null : endpointJson(d.service),
    packets: d.packets,
    bytes: d.bytes,
  };
}

/** A top talker: a pod with its bytes both ways, or a client → server pair over all ports. */
export function talkerJson(t: Talker, seconds: number) {
  return {
    ...(t.b === undefined ? { pod: endpointJson(t.a) } : { source: endpointJson(t.a), destination: endpointJson(t.b) }),
    bytes: t.bytes,
    packets: t.packets,
    bytesPerSec: seconds > 0 ? t.bytes / seconds : null,
  };
}

/** A point of an interface series: the growth over it, the seconds it covers, and the rates that makes. */
export function seriesPointJson(p: SeriesPoint) {
  return {
    t: new Date(p.t).toISOString(),
    seconds: p.seconds,
    rxPackets: p.rxPackets,
    rxBytes: p.rxBytes,
    txPackets: p.txPackets,
    txBytes: p.txBytes,
    drops: p.drops,
    ...pointRates(p),
  };
}
