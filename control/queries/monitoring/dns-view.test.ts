// SPDX-License-Identifier: Apache-2.0
/**
 * How a DNS server address is named at query time (dns-view.ts): a current pod of that IP (not a host-network
 * one: its IP is the node's), else the service of that frontend, UDP or TCP, else the address; a cap's "other"
 * server stays "other"; the service listing the address as a backend apart.
 */
import { describe, expect, it } from "vitest";
import { pod } from "../../monitoring/fixtures.test-support.ts";
import { post, report } from "../../monitoring/scenario.test-support.ts";
import { backends, service } from "../../services/fixtures.test-support.ts";
import { createService } from "../../services/model.ts";
import { T0, useTestApp } from "../../test-support.ts";
import { OTHER_PEER } from "../../wire/monitoring.ts";
import { zeroDnsCounts } from "../../monitoring/dns-summary.ts";
import { forgetPodDirectory } from "../../monitoring-store/directory.ts";
import { namedDnsServers } from "./dns-view.ts";

const s = useTestApp();

const RESOLVER = pod("u-res", "resolver", ["10.0.1.53"], { namespace: "kube-system" });
const HOST = pod("u-host", "host-agent", ["192.168.0.10"], { hostNetwork: true });

describe("namedDnsServers", () => {
  it("names a pod, a UDP or TCP frontend, a backend's service, an address and the cap's other", async () => {
    await createService(
      s.db,
      service("udp-dns", "10.96.0.10", {
        namespace: "kube-system",
        port: 53,
        protocol: "UDP",
        backends: backends({ ip: "10.0.1.53", port: 53 }),
      }),
      T0,
    );
    await createService(s.db, service("tcp-dns", "10.96.0.99", { port: 5353, protocol: "TCP" }), T0);
    await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(RESOLVER, 1), report(HOST, 1)] });
    const rows = [
      ["10.0.1.53", 53],
      ["10.96.0.10", 53],
      ["10.96.0.99", 5353],
      ["10.96.0.99", 53], // the VIP on a port it does not serve: an address
      ["192.168.0.10", 53], // a host-network pod's IP is its node's
      [OTHER_PEER, 0],
    ] as const;
    const name = () =>
      namedDnsServers(s.db, rows.map(([server, port]) => ({ pod: "", server, port, counts: zeroDnsCounts() })));
    // From the ingest's directory (held since the batch), then from the pods table as another replica would.
    const named = await name();
    forgetPodDirectory(s.db);
    expect(await name()).toEqual(named);
    const udpDns = { kind: "service", namespace: "kube-system", name: "udp-dns" };
    expect(named.map((n) => n.name)).toEqual([
      {
        endpoint: { kind: "pod", uid: "u-res", namespace: "kube-system", name: "resolver", node: "node-a" },
        service: udpDns,
      },
      { endpoint: udpDns, service: udpDns },
      {
        endpoint: { kind: "service", namespace: "default", name: "tcp-dns" },
        service: { kind: "service", namespace: "default", name: "tcp-dns" },
      },
      { endpoint: { kind: "world", ip: "10.96.0.99" } },
      { endpoint: { kind: "world", ip: "192.168.0.10" } },
      { endpoint: { kind: "other" } },
    ]);
    expect(named.map((n) => n.pod)).toEqual(rows.map(() => null));
  });
});
