// SPDX-License-Identifier: Apache-2.0
/** How services are told apart: by name (namespace, name, port name) and by frontend (VIP:port/protocol). */

export interface ServiceRef {
  namespace: string;
  name: string;
  /** "" for an unnamed port. */
  portName: string;
}

export interface Frontend {
  vip: string;
  port: number;
  protocol: string;
}

export const refKey = (s: ServiceRef): string => `${s.namespace}/${s.name}/${s.portName}`;
export const frontendKey = (s: Frontend): string => `${s.vip}:${s.port}/${s.protocol}`;

/** `default/web port "http"`, `default/web (unnamed port)`: a service named for people. */
export function describeRef(s: ServiceRef): string {
  return `${s.namespace}/${s.name} ${s.portName === "" ? "(unnamed port)" : `port "${s.portName}"`}`;
}

export const refOf = (s: ServiceRef): ServiceRef => ({ namespace: s.namespace, name: s.name, portName: s.portName });
