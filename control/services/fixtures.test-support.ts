// SPDX-License-Identifier: Apache-2.0
/** Services for tests, with every default filled in as ServiceInput.parse leaves them (so they compare equal to what is stored). */
import type { BackendInput, ServiceInput } from "../wire/services.ts";

/** Backends on port 8080, weight 1, active: an IP, or an IP with what differs. */
export function backends(...list: Array<string | (Partial<BackendInput> & { ip: string })>): BackendInput[] {
  return list.map((b) => ({ port: 8080, weight: 1, state: "active", ...(typeof b === "string" ? { ip: b } : b) }));
}

/** default/`name`, unnamed port, `vip`:80/TCP, no affinity, no backends unless given. */
export function service(name: string, vip: string, more: Partial<ServiceInput> = {}): ServiceInput {
  return {
    namespace: "default",
    name,
    portName: "",
    vip,
    port: 80,
    protocol: "TCP",
    affinity: "none",
    affinityTimeoutS: 10800,
    backends: [],
    type: "ClusterIP",
    externalIPs: [],
    ...more,
  };
}

/** default/web port "http" on 10.96.0.10:80/TCP: 10.244.1.5 (weight 3, pod default/web-1) and 10.244.2.7 (weight 1). */
export const WEB = service("web", "10.96.0.10", {
  portName: "http",
  backends: backends({ ip: "10.244.1.5", weight: 3, pod: { namespace: "default", name: "web-1" } }, "10.244.2.7"),
});

/**
 * data/`name` on `vip`:5432/TCP whose one backend is the monitoring scenario's
 * db pod (10.0.2.2:5432, control/monitoring/scenario.test-support.ts).
 */
export const dbService = (name = "db", vip = "10.96.0.30"): ServiceInput =>
  service(name, vip, { namespace: "data", port: 5432, backends: backends({ ip: "10.0.2.2", port: 5432 }) });
