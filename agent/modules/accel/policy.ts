// SPDX-License-Identifier: Apache-2.0
/**
 * What the accel module programs, computed from the control plane's rules
 * and services (GET /api/v1/lb/state) and this node's pods: the pod
 * addresses of the node (accel_local: a connection is accelerated only when
 * both its ends are among them) and the opted-in endpoints (accel_endpoints:
 * ip:port of a service's backends, or ip with port 0 for pods a label
 * selector picks) with the rule that opted each in.
 */
import type { AccelRule } from "../../../control/wire/accel.ts";
import type { PodInfo } from "../../../control/wire/pods.ts";
import type { LbService } from "../../../control/wire/services.ts";

/** "ip:port" (port 0: every port of that address). */
export type EndpointKey = `${string}:${number}`;

export interface AccelPlan {
  /** IPv4 addresses of this node's pods (not host-network ones). */
  local: Set<string>;
  /** Endpoint -> rule id; the smallest id wins when rules overlap. */
  endpoints: Map<EndpointKey, number>;
}

const isV4 = (ip: string) => /^\d+\.\d+\.\d+\.\d+$/.test(ip);

export function planAccel(
  rules: readonly AccelRule[],
  services: readonly LbService[],
  pods: readonly PodInfo[],
): AccelPlan {
  const local = new Set<string>();
  for (const p of pods) if (!p.hostNetwork) { for (const ip of p.ips) if (isV4(ip)) local.add(ip); }
  const endpoints = new Map<EndpointKey, number>();
  const put = (k: EndpointKey, id: number) => {
    const had = endpoints.get(k);
    if (had === undefined || id < had) endpoints.set(k, id);
  };
  for (const r of rules) {
    if (r.kind === "service") {
      for (const s of services) {
        if (s.protocol !== "TCP" || s.namespace !== r.namespace || s.name !== r.name) continue;
        if (r.portName !== undefined && s.portName !== r.portName) continue;
        for (const b of s.backends) put(`${b.ip}:${b.port}`, r.id);
      }
    } else {
      const want = Object.entries(r.selector);
      for (const p of pods) {
        if (p.hostNetwork || p.namespace !== r.namespace) continue;
        if (!want.every(([k, v]) => p.labels[k] === v)) continue;
        for (const ip of p.ips) if (isV4(ip)) put(`${ip}:0`, r.id);
      }
    }
  }
  return { local, endpoints };
}

/** What to write and delete to go from `before` to `after` (sets and maps by key). */
export function diffPlan(before: AccelPlan, after: AccelPlan): {
  localAdd: string[];
  localDel: string[];
  endpointPut: [EndpointKey, number][];
  endpointDel: EndpointKey[];
} {
  return {
    localAdd: [...after.local].filter((ip) => !before.local.has(ip)),
    localDel: [...before.local].filter((ip) => !after.local.has(ip)),
    endpointPut: [...after.endpoints].filter(([k, id]) => before.endpoints.get(k) !== id),
    endpointDel: [...before.endpoints.keys()].filter((k) => !after.endpoints.has(k)),
  };
}

/**
 * Whether this kernel has commit 929e30f93125 ("lost receive wake-ups for
 * sockets in a sockmap without an SK_SKB verdict program"): 6.6.128+,
 * 6.12.75+, 6.18.14+ and mainline from 6.19 on (no fixed release known).
 */
export function kernelLosesWakeups(release: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return true; // unknown: the workaround costs little, a stall costs much
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (maj > 6 || (maj === 6 && min >= 19)) return true;
  if (maj !== 6) return false;
  const from: Record<number, number> = { 6: 128, 12: 75, 18: 14 };
  return from[min] !== undefined && patch >= from[min];
}

/** --accel-sockmap-workaround: the pass-through SK_SKB verdict program forced on or off, or chosen by kernelLosesWakeups. */
export const SOCKMAP_WORKAROUNDS = ["auto", "on", "off"] as const;
export type SockmapWorkaround = (typeof SOCKMAP_WORKAROUNDS)[number];

/** Whether the workaround is attached, and why (for the log and the inventory). */
export interface WorkaroundChoice {
  on: boolean;
  why: string;
}

/**
 * "on" and "off" are the operator's (a distribution kernel may carry the
 * commit, or its fix, under a release number the table does not know);
 * "auto" goes by the table.
 */
export function chooseSockmapWorkaround(setting: SockmapWorkaround, release: string): WorkaroundChoice {
  if (setting !== "auto") return { on: setting === "on", why: `forced ${setting}` };
  const on = kernelLosesWakeups(release);
  if (!/^\d+\.\d+/.test(release)) return { on, why: `auto: kernel release '${release}' not understood, so on` };
  return { on, why: `auto: kernel ${release} is ${on ? "" : "not "}among those with commit 929e30f93125` };
}
