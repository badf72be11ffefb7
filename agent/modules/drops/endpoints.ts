// SPDX-License-Identifier: Apache-2.0
/**
 * What the drop program matches a dropped packet's addresses against
 * (drop_endpoints in bpf/drops.bpf.c): every service's frontends (its VIP and
 * external IPs at its port) and backends (ip:port), each with the id the
 * module gave the service's name (idOf). Where services share a backend, the
 * first by namespace and name claims it: the rule the control plane's
 * attribution of flows follows (control/monitoring-store/directory.ts), so a
 * drop and a flow of one connection name the same service.
 */
import type { LbService } from "../../../control/wire/services.ts";
import { encodeSvcKey } from "../lb/layout.ts";
import { DROP_ENDPOINT_VALUE_SIZE } from "./layout.ts";

export interface EndpointPlan {
  /** Key bytes as a string (endpointId) -> [key, the id of its service's name]. */
  entries: Map<string, [Uint8Array, number]>;
  /** The services' names, "namespace/name" (a DropRecord's service). */
  names: Set<string>;
  /** Endpoints left out: the table holds `max`. */
  cut: number;
}

/** A key's identity, for diffs. */
export const endpointId = (key: Uint8Array) => key.join(",");

export function planEndpoints(
  services: readonly LbService[],
  max: number,
  idOf: (name: string) => number,
): EndpointPlan {
  const byName = [...services].sort((a, b) =>
    a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  const entries = new Map<string, [Uint8Array, number]>();
  let cut = 0;
  const add = (vip: string, port: number, s: LbService) => {
    const key = encodeSvcKey({ vip, port, protocol: s.protocol });
    const id = endpointId(key);
    if (entries.has(id)) return;
    if (entries.size >= max) cut++;
    else entries.set(id, [key, idOf(nameOf(s))]);
  };
  // Frontends first: an address is a VIP of one service before it is anyone's backend.
  for (const s of byName) for (const vip of [s.vip, ...s.externalIPs]) add(vip, s.port, s);
  for (const s of byName) for (const b of s.backends) add(b.ip, b.port, s);
  return { entries, names: new Set(services.map(nameOf)), cut };
}

const nameOf = (s: LbService) => `${s.namespace}/${s.name}`;

/** A drop_endpoints value: the service id, host order. */
export function endpointValue(id: number): Uint8Array {
  const v = new Uint8Array(DROP_ENDPOINT_VALUE_SIZE);
  new DataView(v.buffer).setUint32(0, id, true);
  return v;
}
