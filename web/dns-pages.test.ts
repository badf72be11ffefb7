// SPDX-License-Identifier: Apache-2.0
/**
 * DNS on the pages (issue 20), from batches posted through /api/v1/ingest (dns-scenario.test-support.ts): the pod
 * page's DNS panel (its servers named as the service of a VIP, a pod, or an address; exact counts by type and
 * rcode, error rate, truncated, timeouts, TCP, latency; its names), the node page's (per pod), the empty states
 * (nothing seen; the node's dns module off), and the service map's DNS edges and servers in the SVG and its table.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { dnsScenario, postDns } from "../control/monitoring/dns-scenario.test-support.ts";
import { switchModule } from "../control/registry/desired-state.ts";
import { dnsName, dnsServer } from "../control/monitoring-store/dns.test-support.ts";
import { CACHE, report, WEB } from "../control/monitoring/scenario.test-support.ts";
import { READ_TOKEN, T0, useTestApp } from "../control/test-support.ts";

const s = useTestApp();

async function html(path: string) {
  const res = await s.app.request(`http://control.test${path}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return body;
}

/** The DNS panel of a page. */
async function dnsPanel(path: string) {
  const page = await html(path);
  const at = page.indexOf("<h3>DNS<");
  expect(at, "no DNS panel").toBeGreaterThan(-1);
  return page.slice(at, page.indexOf("</section>", at));
}

/** The body rows of the tables in `part`, each as its cells' texts joined by " ; " (inner tags as "|"). */
const rows = (part: string) =>
  [...part.matchAll(/<tr[ >].*?<\/tr>/g)].map((m) => m[0]).filter((r) => r.includes("<td")).map((r) =>
    [...r.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, "|")).join(" ; ")
  );

/** web's servers on its pod page; on the node page after its Pod cell. */
const VIP_ROW = "|kube-system/kube-dns||10.96.0.10:53 · service VIP| ; 102|A 60 · AAAA 40 · HTTPS 2| ; " +
  "90 ; 10 ; 0 ; 0 ; 0 ; 10 % ; 1 ; 2 ; 3 ; ≤ 100 µs / ≤ 1.00 ms / ≤ 10.0 ms ; 31.0 ms";
const RESOLVER_POD_ROW = "|data/db||10.0.2.2:53 · pod · service kube-system/kube-dns| ; 5|A 5| ; " +
  "2 ; 0 ; 2 ; 1 ; 0 ; 60 % ; 0 ; 0 ; 0 ; ≤ 500 µs / ≤ 500 µs / ≤ 500 µs ; 400 µs";
const WORLD_ROW = "8.8.8.8|8.8.8.8:53 · outside the pods| ; 3|A 3| ; 0 ; 0 ; 0 ; 0 ; 0 ; — ; 0 ; 3 ; 0 ; — / — / — ; —";
/** A batch of node-a after dnsScenario's. */
const LATER = { seq: 3, ts: T0 + 20_000 };
const OTHER_NAMES = "(other names)|names over the agent&#39;s caps, summed: totals stay exact|";

describe("DNS panels", () => {
  beforeEach(() => dnsScenario(s));

  it("the pod page: per server, busiest first, named as a service VIP, a resolver pod or an address, exact counts", async () => {
    const panel = await dnsPanel("/pods/default/web");
    expect(panel).toContain('<span class="meta">110 queries · 12 % errors · 5 timeouts</span>');
    const servers = panel.slice(0, panel.indexOf('<div class="dns-names">'));
    expect(rows(servers)).toEqual([VIP_ROW, RESOLVER_POD_ROW, WORLD_ROW]);
    expect(servers).toContain('<a href="/services/kube-system/kube-dns">kube-system/kube-dns</a>');
    expect(servers).toContain('<td class="bad" title="10 of 100 answers not NOERROR">10 %</td>');
    // cache's DNS is not web's
    expect(panel).not.toContain("PTR");
    expect(panel).not.toContain("db.data.svc");
  });

  it("the pod page: its names asked most and answered NXDOMAIN most, the capped rest as one exact row", async () => {
    const panel = await dnsPanel("/pods/default/web");
    const [byQueries, byNxdomain] = panel.slice(panel.indexOf('<div class="dns-names">')).split("</table>");
    expect(rows(byQueries!)).toEqual(["api.example.com ; 60 ; 0", "gone.test ; 10 ; 10", `${OTHER_NAMES} ; 7 ; 0`]);
    expect(rows(byNxdomain!)).toEqual(["gone.test ; 10 ; 10"]);
  });

  it("the pod page: a pod that had two uids (restarted under its name) lists each name once, summed, ranked over both", async () => {
    // web restarted: a new uid under the same name and address, asking for a name its first uid asked for too.
    const web2 = { ...WEB, uid: "u-web-2" };
    await postDns(
      s,
      "node-a",
      { servers: [], names: [dnsName(web2.uid, "gone.test", 55, 55), dnsName(web2.uid, "new.test", 1)] },
      { ...LATER, pods: [report(web2, 1), report(CACHE, 2)] },
    );
    const panel = await dnsPanel("/pods/default/web");
    const [byQueries, byNxdomain] = panel.slice(panel.indexOf('<div class="dns-names">')).split("</table>");
    expect(rows(byQueries!)).toEqual([
      "gone.test ; 65 ; 65",
      "api.example.com ; 60 ; 0",
      `${OTHER_NAMES} ; 7 ; 0`,
      "new.test ; 1 ; 0",
    ]);
    expect(rows(byNxdomain!)).toEqual(["gone.test ; 65 ; 65"]);
  });

  it("escapes a name on the pod and node pages: DNS names are bytes a pod chose", async () => {
    const evil = `<script>alert(1)</script>"'&.x`;
    await postDns(s, "node-a", { servers: [], names: [dnsName(WEB.uid, evil, 1000, 1000)] }, LATER);
    for (const path of ["/pods/default/web", "/nodes/node-a"]) {
      const panel = await dnsPanel(path);
      expect(panel).not.toContain("<script>");
      expect(panel).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;.x");
    }
  });

  it("the node page: every pod's servers and names, with a Pod column, in its traffic fragment too", async () => {
    for (const path of ["/nodes/node-a", "/fragments/nodes/node-a/traffic"]) {
      const panel = await dnsPanel(path);
      expect(panel).toContain('<span class="meta">115 queries · 12 % errors · 5 timeouts</span>');
      const servers = panel.slice(0, panel.indexOf('<div class="dns-names">'));
      const web = "|default/web||pod on node-a|";
      expect(rows(servers)).toEqual([
        "|default/cache||pod on node-a| ; |kube-system/kube-dns||10.96.0.10:53 · service VIP| ; 4|PTR 4| ; " +
        "4 ; 0 ; 0 ; 0 ; 0 ; 0 % ; 0 ; 0 ; 0 ; ≤ 250 µs / ≤ 250 µs / ≤ 250 µs ; 200 µs",
        `${web} ; ${VIP_ROW}`,
        `${web} ; ${RESOLVER_POD_ROW}`,
        `${web} ; ${WORLD_ROW}`,
        "other: pods over the agent&#39;s caps, or a veth of no known pod ; " +
        "|kube-system/kube-dns||10.96.0.10:53 · service VIP| ; 1|A 1| ; 1 ; 0 ; 0 ; 0 ; 0 ; 0 % ; 0 ; 0 ; 0 ; — / — / — ; —",
      ]);
      const [byQueries] = panel.slice(panel.indexOf('<div class="dns-names">')).split("</table>");
      expect(rows(byQueries!)).toEqual([
        "|default/cache||pod on node-a| ; db.data.svc ; 4 ; 0",
        `${web} ; api.example.com ; 60 ; 0`,
        `${web} ; gone.test ; 10 ; 10`,
        `${web} ; ${OTHER_NAMES} ; 7 ; 0`,
      ]);
    }
  });

  it("says no DNS was seen for a pod and a node without any, and that the dns module is off when it is", async () => {
    expect(await dnsPanel("/pods/data/db")).toContain("No DNS seen in this window for pod data/db, since 5 min ago.");
    expect(await dnsPanel("/nodes/node-b")).toContain("No DNS seen in this window for node node-b, since 5 min ago.");
    await switchModule(s.db, "node-b", "dns", false, s.clock.now);
    for (const path of ["/pods/data/db", "/nodes/node-b"]) {
      const panel = await dnsPanel(path);
      expect(panel).toContain("The dns module is switched off for node-b: no DNS is counted there");
      expect(panel).not.toContain("No DNS seen");
    }
    // node-a's module is on: its pages carry no such line.
    expect(await dnsPanel("/pods/default/web")).not.toContain("switched off");
  });
});

describe("the service map's DNS", () => {
  beforeEach(() => dnsScenario(s));

  it("draws pod → DNS server edges dashed, red with errors or timeouts, and each server's queries and error rate", async () => {
    const page = await html("/servicemap");
    expect(page).toContain("6 endpoints, 0 edges, 5 DNS edges");
    expect(page).toContain(
      '<g class="edge edge-dns edge-fail"><title>default/web → kube-system/kube-dns: DNS 107 queries, 13 errors (12 %), 2 timeouts</title>',
    );
    expect(page).toContain(
      '<g class="edge edge-dns"><title>default/cache → kube-system/kube-dns: DNS 4 queries, 0 errors (0 %), 0 timeouts</title>',
    );
    expect(page).toContain("<title>kube-system/kube-dns → data/db: DNS 5 queries, 3 errors (60 %), 0 timeouts</title>");
    expect(page).toContain("<title>default/web → 8.8.8.8: DNS 3 queries, 0 errors (—), 3 timeouts</title>");
    expect(page).toContain(
      '<g class="node node-service node-dns"><title>kube-system/kube-dns: DNS 112 queries, 13 errors (12 %), 2 timeouts</title>',
    );
    expect(page).toContain(">DNS 112 q · 12 % err</text>");
    expect(page).toContain('stroke-dasharray="6 4"');
  });

  it("lists the DNS edges busiest first with exact counts; the edges table says the map is DNS alone", async () => {
    const page = await html("/servicemap");
    const table = page.slice(
      page.indexOf('<table class="dns-edges">'),
      page.indexOf("</table>", page.indexOf("dns-edges")),
    );
    const pod = (name: string) => `|${name}||pod|`;
    const kubeDns = "|kube-system/kube-dns||service|";
    expect(rows(table)).toEqual([
      `${pod("default/web")} ; ${kubeDns} ; 107 ; 92 ; 10 ; 2 ; 1 ; 0 ; 13 ; 12 % ; 2 ; ≤ 1.00 ms`,
      `${kubeDns} ; ${pod("data/db")} ; 5 ; 2 ; 0 ; 2 ; 1 ; 0 ; 3 ; 60 % ; 0 ; ≤ 500 µs`,
      `${pod("default/cache")} ; ${kubeDns} ; 4 ; 4 ; 0 ; 0 ; 0 ; 0 ; 0 ; 0 % ; 0 ; ≤ 250 µs`,
      `${pod("default/web")} ; 8.8.8.8|outside the pods| ; 3 ; 0 ; 0 ; 0 ; 0 ; 0 ; 0 ; — ; 3 ; —`,
      `other (over the cap)|other| ; ${kubeDns} ; 1 ; 1 ; 0 ; 0 ; 0 ; 0 ; 0 ; 0 % ; 0 ; —`,
    ]);
    expect(page).toContain("No flows or TCP connections here: the map above is DNS alone.");
  });

  it("says a p95 past the histogram's last bound is slower than it, not missing", async () => {
    // cache's answers from 8.8.4.4: both slower than the last bound (2.5 s).
    const slow = { queries: { A: 2 }, responses: { NOERROR: 2 }, latency: { 14: 2 }, latencySumUs: 6_000_000 };
    await postDns(
      s,
      "node-a",
      { servers: [dnsServer({ pod: CACHE.uid, server: "8.8.4.4", ...slow })], names: [] },
      LATER,
    );
    const page = await html("/servicemap");
    const table = page.slice(
      page.indexOf('<table class="dns-edges">'),
      page.indexOf("</table>", page.indexOf("dns-edges")),
    );
    expect(rows(table)).toContain(
      "|default/cache||pod| ; 8.8.4.4|outside the pods| ; 2 ; 2 ; 0 ; 0 ; 0 ; 0 ; 0 ; 0 % ; 0 ; &gt; 2.50 s",
    );
    // as the pod page's panel says it
    expect(await dnsPanel("/pods/default/cache")).toContain("&gt; 2.50 s / &gt; 2.50 s / &gt; 2.50 s");
  });

  it("the namespace filter keeps the DNS edges touching it", async () => {
    const page = await html("/fragments/servicemap?namespace=data");
    expect(page).toContain("2 endpoints, 0 edges, 1 DNS edges touching namespace data");
    expect(page).toContain("<title>kube-system/kube-dns → data/db: DNS 5 queries");
    expect(page).not.toContain("8.8.8.8");
  });
});
