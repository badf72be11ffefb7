// SPDX-License-Identifier: Apache-2.0
/**
 * The dns module in a running agent (the rig: a node with pods, the agent
 * following its pods file): a dnsmasq resolver in p1, dig in p2 and p3, a
 * server that never answers in p4. The batch's dns records are exactly what
 * was sent, charged to each asking pod by uid; a pod that goes takes its
 * filters along and the others stay counted; a stop leaves nothing behind.
 */
import { DNS_OTHER_NAME, DNS_QTYPES, DNS_RCODES, type DnsServerRecord } from "../../../control/wire/dns.ts";
import type { Batch } from "../../../control/wire/batch.ts";
import { withAgentRig } from "../../testing/agent_rig.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { dnsKernelTest, DnsLab } from "./dns_lab.ts";

const counts = (n: number, at: Record<number, number>) => Array.from({ length: n }, (_, i) => at[i] ?? 0);
const qtypes = (at: Partial<Record<typeof DNS_QTYPES[number], number>>) =>
  counts(
    DNS_QTYPES.length,
    Object.fromEntries(Object.entries(at).map(([k, v]) => [DNS_QTYPES.indexOf(k as never), v])),
  );
const rcodes = (at: Partial<Record<typeof DNS_RCODES[number], number>>) =>
  counts(
    DNS_RCODES.length,
    Object.fromEntries(Object.entries(at).map(([k, v]) => [DNS_RCODES.indexOf(k as never), v])),
  );
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The batch's one server record of `pod` (uid) with `server`:53. */
function serverOf(b: Batch, pod: string, server: string): DnsServerRecord {
  const found = (b.dns?.servers ?? []).filter((s) => s.pod === pod && s.server === server && s.port === 53);
  assertEquals(found.length, 1, `one record of ${pod} with ${server} in ${JSON.stringify(b.dns?.servers)}`);
  return found[0];
}

/** The batch's names of `pod` (uid): name -> [queries, nxdomain]. */
const namesOf = (b: Batch, pod: string) =>
  Object.fromEntries((b.dns?.names ?? []).filter((n) => n.pod === pod).map((n) => [n.name, [n.queries, n.nxdomain]]));

dnsKernelTest(
  "agent: the dns module's records in the batch are what the pods asked, per pod uid; pods come and go",
  () =>
    withAgentRig({ pods: 4 }, async (r) => {
      const lab = await DnsLab.over(r.pods);
      try {
        const [p1, p2, p3, p4] = ["p1", "p2", "p3", "p4"].map((n) => r.pods.pod(n));
        await lab.resolver("p1", { hosts: { "www.lab": "10.244.1.1" } });
        await lab.silent("p4");
        const agent = await r.start({ extra: ["--dns-timeout-ms", "200"] });
        const b0 = await r.tick(agent);
        assertEquals(b0.inventory!.modules.find((m) => m.name === "dns"), { name: "dns", desired: true, state: "on" });
        const programs = b0.inventory!.programs.filter((p) => p.module === "dns");
        assertEquals(programs.map((p) => p.name).sort(), ["dns_egress", "dns_ingress"]);
        for (const p of [p1, p2, p3, p4]) {
          assert(
            programs.every((x) => x.attach.includes(p.hostVeth)),
            `dns on ${p.hostVeth}: ${JSON.stringify(programs)}`,
          );
        }
        assertEquals(b0.dns, { servers: [], names: [] });

        const N = 5, M = 3, K = 2, A6 = 4, T = 2;
        const answers = [
          ...await lab.dig("p2", p1.ip, Array.from({ length: N }, () => "www.lab A")),
          ...await lab.dig("p2", p1.ip, Array.from({ length: M }, () => "nx.lab A")),
          ...await lab.dig("p2", p1.ip, Array.from({ length: K }, () => "www.lab A"), ["+tcp"]),
          ...await lab.dig("p3", p1.ip, Array.from({ length: A6 }, () => "www.lab AAAA")),
        ];
        assertEquals(answers.filter((a) => a.status === "NXDOMAIN").length, M);
        assert(answers.every((a) => a.ms >= 0), `every query answered: ${JSON.stringify(answers)}`);
        const silent = await lab.dig("p2", p4.ip, Array.from({ length: T }, () => "www.lab A"));
        assertEquals(silent.map((a) => a.status), ["timeout", "timeout"]);
        await sleep(250); // past --dns-timeout-ms for the last unanswered query
        const b = await r.tick(agent);

        const s2 = serverOf(b, p2.uid, p1.ip);
        assertEquals(
          [s2.queries, s2.tcp, s2.responses, s2.truncated, s2.timeouts],
          [qtypes({ A: N + M + K }), K, rcodes({ NOERROR: N + K, NXDOMAIN: M }), 0, 0],
        );
        assertEquals(sum(s2.latency), N + M + K, "every answer matched to its query");
        const s3 = serverOf(b, p3.uid, p1.ip);
        assertEquals([s3.queries, s3.responses, sum(s3.latency)], [qtypes({ AAAA: A6 }), rcodes({ NOERROR: A6 }), A6]);
        const s4 = serverOf(b, p2.uid, p4.ip);
        assertEquals([s4.queries, s4.responses, s4.timeouts, sum(s4.latency)], [qtypes({ A: T }), rcodes({}), T, 0]);
        assertEquals(b.dns!.servers.length, 3, `nothing else: ${JSON.stringify(b.dns!.servers)}`);
        assertEquals(namesOf(b, p2.uid), { "www.lab": [N + K + T, 0], "nx.lab": [M, M] });
        assertEquals(namesOf(b, p3.uid), { "www.lab": [A6, 0] });
        assertEquals(b.dns!.names.length, 3);
        assert(!b.dns!.names.some((n) => n.name === DNS_OTHER_NAME), "no cap reached");
        assertEquals(b.monitoring!.dnsMalformed, {
          shortHeader: 0,
          nameTooLong: 0,
          pointer: 0,
          badLabel: 0,
          shortQuestion: 0,
          qdcount: 0,
        });
        assertEquals([b.monitoring!.dnsServersEvicted, b.monitoring!.dnsPendingEvicted], [0, 0]);

        // deltas: an interval without queries says nothing
        assertEquals((await r.tick(agent)).dns, { servers: [], names: [] });

        // p3 goes: its filters with it; p2 stays counted
        await r.pods.removePod("p3");
        await sleep(700); // the pods file is polled every 500 ms
        await lab.dig("p2", p1.ip, ["www.lab A"]);
        const b2 = await r.tick(agent);
        const left = b2.inventory!.programs.filter((p) => p.module === "dns");
        assert(left.every((x) => !x.attach.includes(p3.hostVeth)), `p3's veth let go: ${JSON.stringify(left)}`);
        assert(left.every((x) => x.attach.includes(p2.hostVeth)), `p2's kept: ${JSON.stringify(left)}`);
        assertEquals(serverOf(b2, p2.uid, p1.ip).queries, qtypes({ A: 1 }));
        assertEquals(b2.dns!.servers.length, 1);

        await agent.stop();
        assertEquals(await r.assertCleanedUp(), [], "dns filters, like every module's, removed at stop");
      } finally {
        await lab.close();
      }
    }),
);

dnsKernelTest(
  "agent: SIGTERM hand-over leaves dns and flows filters on the pods' veths; the next agent replaces dns's",
  () =>
    withAgentRig({ pods: 2 }, async (r) => {
      const lab = await DnsLab.over(r.pods);
      try {
        const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
        await lab.resolver("p1", { hosts: { "www.lab": "10.244.1.1" } });
        const names = async (dev: string) =>
          (await r.filters("ingress", dev)).map((l) => /handle 0x\w+ (\w+):/.exec(l)?.[1]).sort();
        const first = await r.start();
        await r.tick(first);
        assertEquals(await names(p2.hostVeth), ["dns_ingress", "flows_ingress"]);
        await first.stop({ handOver: true });
        // the qdisc goes with the last filter this process knows of: the flows filters handed over must survive dns
        assertEquals(await names(p2.hostVeth), ["dns_ingress", "flows_ingress"], "both left for the successor");

        const second = await r.start();
        await r.tick(second);
        assertEquals(await names(p2.hostVeth), ["dns_ingress", "flows_ingress"], "replaced, not doubled");
        await lab.dig("p2", p1.ip, ["www.lab A", "www.lab A"]);
        assertEquals(serverOf(await r.tick(second), p2.uid, p1.ip).queries, qtypes({ A: 2 }));
        await second.stop();
        assertEquals(await r.assertCleanedUp(), []);
      } finally {
        await lab.close();
      }
    }),
);
