// SPDX-License-Identifier: Apache-2.0
/**
 * The valid batches the ingest fuzzer (fuzz.process.test.ts) mutates: one per
 * part a batch may carry beside its interfaces, and one carrying every part,
 * so that mutations reach every field of the wire schema, including those of
 * a part that a batch with everything would leave a small share of the
 * mutations.
 *
 * lb, gateway and accel rows name the service, backends and rule that the
 * fuzzer creates first (FUZZ_SERVICE, FUZZ_RULE): rows naming none are
 * ignored, and the statements that add them up would go unexercised.
 */
import { drop, flow, pod, tcp } from "../monitoring/fixtures.test-support.ts";
import { CACHE, report, WEB } from "../monitoring/scenario.test-support.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import { batch, iface, inventory } from "../test-support.ts";
import type { AccelRuleInput } from "../wire/accel.ts";
import { type Batch, MODULES } from "../wire/batch.ts";
import { dnsMonitoringFixture, dnsRecordsFixture } from "../wire/compact/fixtures.test-support.ts";

/** Ids the fresh database hands out to them: service 1 with backends 1 and 2, rule 1. */
export const FUZZ_SERVICE = service("redis", "10.96.0.20", { backends: backends("10.244.1.5", "10.244.1.6") });
export const FUZZ_RULE: AccelRuleInput = { kind: "service", namespace: "default", name: "redis" };

const HOST_POD = pod("u-host", "node-exporter", ["192.168.1.10", "fd00::10"], {
  namespace: "monitoring",
  hostNetwork: true,
  netnsIno: 4026531840,
  cgroup: "kubepods.slice/kubepods-besteffort.slice/pod-u-host",
});

type Part = "inventory" | "pods" | "flows" | "tcp" | "drops" | "monitoring" | "lb" | "gateway" | "accel" | "dns";

/** Each optional part of a batch, valid and non-trivial (every optional field present somewhere). */
function parts(lbVersion: number): Required<Pick<Batch, Part>> {
  return {
    inventory: inventory({
      modules: MODULES.map((name, i) => (
        i === 1
          ? { name, desired: true, state: "error", error: "no BTF for flows" }
          : { name, desired: i < 4, state: i < 4 ? "on" : "off" }
      )),
    }),
    pods: [report(WEB, 1), report({ ...CACHE, labels: { app: "cache" } }, 2), report(HOST_POD, 3)],
    flows: [
      flow({}),
      flow({ src: "10.0.1.3", dst: "10.0.1.2", port: 80, obs: "rx", toServer: false, tcpFlags: 18 }),
      flow({ src: "fd00::10", dst: "fd00::2", port: 53, proto: 17, obs: "host", packets: 4, bytes: 320 }),
    ],
    tcp: [
      tcp({ opened: 3, closed: 2, durationMs: 1_500, retransmits: 1, srttUsSum: 3_000, srttSamples: 3 }),
      tcp({ pod: undefined, local: "fd00::10", remote: "fd00::2", port: 9100, role: "server", failedRefused: 1 }),
    ],
    drops: [
      drop({ pod: "u-web", ifname: "veth-web" }),
      drop({ pod: "u-web", ifname: "veth-web", service: "default/redis" }),
      drop({ reason: "NO_SOCKET", packets: 2, bytes: 120 }),
    ],
    monitoring: {
      flowEntries: 3,
      flowTableSize: 65_536,
      flowsCreated: 10,
      flowsEvicted: 1,
      flowCreateFailed: 0,
      flowRecordsCut: 0,
      tcpRecordsCut: 0,
      dropRecordsCut: 0,
      tcpEvicted: 2,
      dropsOverflow: 1,
      ...dnsMonitoringFixture(),
    },
    lb: { version: lbVersion, services: [[1, 5, 1]], backends: [[1, 3], [2, 2]] },
    gateway: {
      version: lbVersion,
      services: [[1, 10, 1_500, 9, 12_000]],
      flows: 4,
      evicted: 1,
      noBackend: 1,
      frontends: [[1, "0.0.0.0", 30080, 4, 1, 0, 1, 0, 2]],
    },
    accel: { version: lbVersion, rules: [[1, 2, 4_096]] },
    // wire version 6: stored into dns_server_stats, dns_name_stats and dns_node_totals (monitoring-store/dns.ts)
    dns: dnsRecordsFixture(),
  };
}

/**
 * The seeds, by name. `lbVersion` is the lb state version once FUZZ_SERVICE
 * and FUZZ_RULE exist: rows of a version older than their ids are not stored.
 */
export function fuzzSeeds(lbVersion: number): Record<string, Batch> {
  const all = parts(lbVersion);
  const base = batch({ interval: 10 });
  const seeds: Record<string, Batch> = Object.fromEntries(
    Object.entries(all).map(([part, value]) => [part, { ...base, [part]: value }]),
  );
  seeds.everything = {
    ...base,
    interfaces: [iface(), iface({ ifname: "eth0", ifindex: 2, rxBytes: 10 }), iface({ ifname: "cni0", ifindex: 3 })],
    ...all,
  };
  return seeds;
}
