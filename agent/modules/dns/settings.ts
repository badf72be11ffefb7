// SPDX-License-Identifier: Apache-2.0
/**
 * The dns module's settings, their defaults and their checks: apart from the
 * reader (libbpf) so that the agent's configuration (config.ts, which the
 * control plane's tests read too) can name the defaults in its help.
 */
import { checkCap } from "../common/sum_over_cap.ts";
import { DNS_LIMITS } from "./layout.ts";
import { MAX_NAME_RECORDS, MAX_SERVER_RECORDS, MIN_NAME_RECORDS, MIN_SERVER_RECORDS } from "./records.ts";

export interface DnsSettings {
  /** DNS ports besides 53 (at most DNS_PORT_SLOTS). */
  ports: number[];
  /** Entries of dns_servers: (pod, server, port). */
  serversTableSize: number;
  /** Entries of dns_pending: queries in flight on the node. */
  pendingTableSize: number;
  /** Entries of dns_names: (pod, name); a name over it is counted in its pod's "other". */
  namesTableSize: number;
  /** Entries of dns_names_other: pods. */
  podsTableSize: number;
  /** A query unanswered this long is a timeout (counted at the read after). */
  timeoutMs: number;
  /** Server and name entries unchanged this long are removed from the kernel's tables. */
  idleSeconds: number;
  /** Name records per read, the "other" ones included. */
  maxNameRecords: number;
}

export const DEFAULT_DNS: DnsSettings = {
  ports: [],
  serversTableSize: DNS_LIMITS.DNS_SERVERS_DEFAULT_ENTRIES,
  pendingTableSize: DNS_LIMITS.DNS_PENDING_DEFAULT_ENTRIES,
  namesTableSize: DNS_LIMITS.DNS_NAMES_DEFAULT_ENTRIES,
  podsTableSize: DNS_LIMITS.DNS_PODS_DEFAULT_ENTRIES,
  timeoutMs: 5000,
  idleSeconds: 60,
  maxNameRecords: 1000,
};

const MAX_TABLE = 1 << 22;

/** Throws, naming the setting, unless every one is usable. */
export function checkDnsSettings(s: DnsSettings): void {
  const { DNS_PORT, DNS_PORT_SLOTS } = DNS_LIMITS;
  if (s.ports.length > DNS_PORT_SLOTS) {
    throw new Error(`dns: at most ${DNS_PORT_SLOTS} ports besides 53, not ${s.ports.length}`);
  }
  for (const p of s.ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535 || p === DNS_PORT) {
      throw new Error(`dns: port ${p}: must be 1-65535 and not ${DNS_PORT} (always watched)`);
    }
  }
  if (new Set(s.ports).size !== s.ports.length) throw new Error(`dns: ports listed twice: ${s.ports.join(", ")}`);
  for (const k of ["serversTableSize", "pendingTableSize", "namesTableSize", "podsTableSize"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1 || s[k] > MAX_TABLE) {
      throw new Error(`dns: ${k} ${s[k]}: must be 1-${MAX_TABLE}`);
    }
  }
  if (!(Number.isFinite(s.timeoutMs) && s.timeoutMs >= 100 && s.timeoutMs <= 600_000)) {
    throw new Error(`dns: timeoutMs ${s.timeoutMs}: must be 100-600000`);
  }
  if (!(Number.isFinite(s.idleSeconds) && s.idleSeconds > 0)) {
    throw new Error(`dns: idleSeconds ${s.idleSeconds}: must be > 0`);
  }
  checkCap("dns names", s.maxNameRecords, MIN_NAME_RECORDS, MAX_NAME_RECORDS);
}

/** The module's settings: the reader's, and the cap on server records per batch. */
export interface DnsModuleSettings extends DnsSettings {
  /** Server records per batch, the "other" ones included (--max-dns-records). */
  maxServerRecords: number;
  /**
   * The node's own interfaces that are veths but no pod's (--flow-interfaces: e.g. a kind node's uplink): never
   * hooked, where every veth is taken for a pod's (Kubernetes, no pods file).
   */
  hostInterfaces: string[];
}

export const DEFAULT_DNS_MODULE: DnsModuleSettings = { ...DEFAULT_DNS, maxServerRecords: 1000, hostInterfaces: [] };

/** Throws, naming the setting, unless every one is usable. */
export function checkDnsModuleSettings(s: DnsModuleSettings): void {
  checkDnsSettings(s);
  checkCap("dns servers", s.maxServerRecords, MIN_SERVER_RECORDS, MAX_SERVER_RECORDS);
}
