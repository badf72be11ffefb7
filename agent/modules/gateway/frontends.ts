// SPDX-License-Identifier: Apache-2.0
/**
 * What the gateway programs from the control plane's LbState: every
 * service's external IPs at its port, and its NodePort on any node address
 * (vip 0.0.0.0 in gw_services), each a frontend of the same service id with
 * the service's Maglev table (same size, same backends: the same choice as
 * the socket load balancer's table would make for the same hash). Services
 * with neither are not the gateway's.
 */
import { type LbService, type LbState, NODE_PORT_FRONTEND } from "../../../control/wire/services.ts";

/** The frontend key of a NodePort in gw_services (and its address in the wire's frontend rows). */
export const ANY_NODE_ADDRESS = NODE_PORT_FRONTEND;

export function gatewayState(state: LbState): LbState {
  const services: LbService[] = [];
  for (const s of state.services) {
    for (const ip of s.externalIPs ?? []) services.push({ ...s, vip: ip });
    if (s.nodePort !== undefined && s.type !== "ClusterIP") {
      services.push({ ...s, vip: ANY_NODE_ADDRESS, port: s.nodePort });
    }
  }
  return { version: state.version, services };
}

/** The external IPs the programmed frontends answer on. */
export function externalAddresses(state: LbState): string[] {
  return [...new Set(state.services.map((s) => s.vip).filter((ip) => ip !== ANY_NODE_ADDRESS))];
}
