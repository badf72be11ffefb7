// SPDX-License-Identifier: Apache-2.0
/**
 * DNS for the page and service-map tests, posted through /api/v1/ingest on the monitoring scenario's pods
 * (scenario.test-support.ts: node-a web 10.0.1.2 and cache 10.0.1.3, node-b data/db 10.0.2.2) with the service
 * kube-system/kube-dns (VIP 10.96.0.10:53/UDP, its one backend the db pod's 10.0.2.2:53):
 *   web → 10.96.0.10:53 (the VIP): busyDnsServer (102 queries: A 60, AAAA 40, HTTPS 2; 90 NOERROR, 10 NXDOMAIN,
 *       3 over TCP, 1 truncated, 2 timeouts, 100 answers: 50 ≤ 100 µs, 45 ≤ 1 ms, 4 ≤ 10 ms, 1 slower; 3.1 s);
 *   web → 10.0.2.2:53 (the db pod, a kube-dns backend): 5 A, 2 NOERROR, 2 SERVFAIL, 1 REFUSED (all ≤ 500 µs);
 *   web → 8.8.8.8:53 (outside the pods): 3 A, 3 timeouts;
 *   cache → 10.96.0.10:53: 4 PTR, 4 NOERROR (≤ 250 µs);
 *   node-a's "other" record (no pod) → 10.96.0.10:53: 1 A, 1 NOERROR (no latency);
 *   names: web api.example.com 60, gone.test 10 (10 NXDOMAIN), the "other" name 7; cache db.data.svc 4.
 * node-b reports no DNS.
 */
import { createService } from "../services/model.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import { T0, type TestContext } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import { DNS_OTHER_NAME, type DnsRecords } from "../wire/dns.ts";
import { busyDnsServer, dnsName, dnsServer } from "../monitoring-store/dns.test-support.ts";
import { CACHE, DB_POD, NOW, post, postPods, WEB } from "./scenario.test-support.ts";

export const KUBE_DNS = service("kube-dns", "10.96.0.10", {
  namespace: "kube-system",
  port: 53,
  protocol: "UDP",
  backends: backends({ ip: DB_POD.ips[0]!, port: 53 }),
});

/** A batch of `node` with `dns` (seq 2 at T0 + 10 s, after postPods's; `more` adds or overrides), the clock at NOW. */
export async function postDns(s: TestContext, node: string, dns: DnsRecords, more: Partial<Batch> = {}) {
  await post(s, { node, seq: 2, ts: T0 + 10_000, dns, ...more });
  s.clock.now = NOW;
}

/** node-a's DNS records of the scenario (above). */
export const SCENARIO_DNS: DnsRecords = {
  servers: [
    busyDnsServer(WEB.uid),
    dnsServer({
      pod: WEB.uid,
      server: DB_POD.ips[0],
      queries: { A: 5 },
      responses: { NOERROR: 2, SERVFAIL: 2, REFUSED: 1 },
      latency: { 2: 5 },
      latencySumUs: 2_000,
    }),
    dnsServer({ pod: WEB.uid, server: "8.8.8.8", queries: { A: 3 }, timeouts: 3 }),
    dnsServer({
      pod: CACHE.uid,
      server: "10.96.0.10",
      queries: { PTR: 4 },
      responses: { NOERROR: 4 },
      latency: { 1: 4 },
      latencySumUs: 800,
    }),
    // node-a's "other" record (what its caps summed): no pod.
    dnsServer({ queries: { A: 1 }, responses: { NOERROR: 1 } }),
  ],
  names: [
    dnsName(WEB.uid, "api.example.com", 60),
    dnsName(WEB.uid, "gone.test", 10, 10),
    dnsName(WEB.uid, DNS_OTHER_NAME, 7),
    dnsName(CACHE.uid, "db.data.svc", 4),
  ],
};

export async function dnsScenario(s: TestContext) {
  await createService(s.db, KUBE_DNS, T0);
  await postPods(s);
  await postDns(s, "node-a", SCENARIO_DNS);
}
