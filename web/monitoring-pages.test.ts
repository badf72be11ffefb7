// SPDX-License-Identifier: Apache-2.0
/**
 * The monitoring pages end to end: batches with pods, flows, TCP and drops
 * posted through /api/v1/ingest, then /pods, /pods/:namespace/:name and
 * /servicemap (and their fragments) read back as HTML with exact numbers.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import { drop, flow, pod, tcp } from "../control/monitoring/fixtures.test-support.ts";
import { CACHE, DB_POD, NOW, post, report, VANISHED_AT, WEB } from "../control/monitoring/scenario.test-support.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../control/monitoring-store/settings.ts";
import { READ_TOKEN, T0, useTestApp } from "../control/test-support.ts";

const s = useTestApp();

/**
 * web (node-a) ↔ db (node-b) on 5432 with one refused connection, web →
 * 1.1.1.1 DNS, a world client → cache; drops on web's veth and on db.
 */
async function scenario() {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, {
    node: "node-a",
    seq: 2,
    ts: T0 + 10_000,
    pods: [report(WEB, 2), report(CACHE, 2)],
    flows: [
      flow({ packets: 10, bytes: 1_000, tcpFlags: 0x12 }),
      flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 2, bytes: 120 }),
      flow({ src: "192.168.1.50", dst: "10.0.1.3", port: 6379, obs: "rx", packets: 4, bytes: 400, tcpFlags: 0x02 }),
    ],
    tcp: [
      tcp({
        opened: 3,
        closed: 2,
        durationMs: 500,
        failedRefused: 1,
        retransmits: 1,
        srttUsSum: 3_000,
        srttSamples: 3,
      }),
    ],
    drops: [
      drop({ pod: "u-web", ifname: "veth-web", packets: 2, bytes: 120 }),
      drop({ reason: "NO_SOCKET", packets: 5, bytes: 300 }),
    ],
  });
  await post(s, {
    node: "node-b",
    seq: 2,
    ts: T0 + 10_000,
    pods: [report(DB_POD, 2)],
    flows: [
      flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, obs: "tx", packets: 8, bytes: 4_000, tcpFlags: 0x11 }),
    ],
    tcp: [
      tcp({
        pod: "u-db",
        local: "10.0.2.2",
        remote: "10.0.1.2",
        role: "server",
        opened: 3,
        closed: 2,
        durationMs: 600,
      }),
    ],
    drops: [drop({ pod: "u-db", reason: "TCP_CSUM", packets: 1, bytes: 60 })],
  });
  await post(s, {
    node: "node-a",
    seq: 3,
    ts: T0 + 20_000,
    pods: [report(WEB, 3)],
    flows: [flow({ packets: 5, bytes: 500, tcpFlags: 0x10 })],
  });
  s.clock.now = NOW;
}

async function fetchHtml(path: string, status = 200, headers: Record<string, string> = {}) {
  const res = await s.app.request(`http://control.test${path}`, { headers });
  const body = await res.text();
  expect(res.status, body).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  return body;
}

/** The <tr> of the table row whose cell links to `href`. */
function rowOf(page: string, href: string): string {
  const at = page.indexOf(`<a href="${href}">`);
  expect(at, `no link to ${href}`).toBeGreaterThan(-1);
  return page.slice(page.lastIndexOf("<tr", at), page.indexOf("</tr>", at));
}

describe("GET /pods", () => {
  it("explains the empty state: no pods reported, and what reports them", async () => {
    const page = await fetchHtml("/pods");
    expect(page).toContain("No pods reported.");
    expect(page).toContain("flows module on");
  });

  describe("with pods reported", () => {
    beforeEach(scenario);

    it("lists every pod with RX/TX rates and totals, exact bytes on hover, and polls its fragment with the query", async () => {
      const page = await fetchHtml("/pods");
      expect(page.startsWith("<!doctype html>")).toBe(true);
      expect(page).toContain("3 pods on 2 nodes, 1 vanished");
      const web = rowOf(page, "/pods/default/web");
      expect(web).toContain("<td>node-a</td><td>10.0.1.2</td>");
      expect(web).toContain('1000 B/s<span class="sub">10 pps</span>'); // 10,000 bytes, 100 packets over 10 s
      expect(web).toContain('<td title="30,000 bytes">29.3 KiB<span class="sub">300 pkts</span></td>'); // RX
      expect(web).toContain('<td title="35,000 bytes">34.2 KiB<span class="sub">350 pkts</span></td>'); // TX
      expect(rowOf(page, "/pods/data/db")).toContain('<td title="20,000 bytes">19.5 KiB');
      expect(page).toMatch(
        /<div id="pods" hx-get="\/fragments\/pods\?sort=namespace&amp;dir=asc" hx-trigger="every 5s" hx-swap="innerHTML">/,
      );
      // the filter works without script (a GET of the page) and with htmx (the list's region swapped, URL pushed)
      expect(page).toContain(
        '<form method="get" action="/pods" class="filter" hx-get="/pods" hx-select="#pods" hx-target="#pods" ' +
          'hx-swap="outerHTML" hx-push-url="true">',
      );
      expect(page).toContain('<a href="/pods" aria-current="page">Pods</a>');
      expect(page).toContain('<a href="/servicemap">Service map</a>');
    });

    it("shows a vanished pod as vanished until its grace period ends", async () => {
      const cache = rowOf(await fetchHtml("/pods"), "/pods/default/cache");
      expect(cache).toMatch(/^<tr class="vanished">/);
      expect(cache).toContain("vanished 9 s ago");
      expect(rowOf(await fetchHtml("/pods"), "/pods/default/web")).toMatch(/^<tr>/);

      s.clock.now = VANISHED_AT + DEFAULT_MONITORING_SETTINGS.podGraceMs - 1;
      expect(await fetchHtml("/fragments/pods")).toContain('<tr class="vanished">');
      s.clock.now = VANISHED_AT + DEFAULT_MONITORING_SETTINGS.podGraceMs;
      const after = await fetchHtml("/fragments/pods");
      expect(after).not.toContain("/pods/default/cache");
      expect(after).toContain("2 pods on 2 nodes</h3>");
    });

    it("filters by node, namespace and text, keeping the filter in the form, the sort links and the fragment", async () => {
      const byNode = await fetchHtml("/pods?node=node-b");
      expect(byNode).toContain("/pods/data/db");
      expect(byNode).not.toContain("/pods/default/web");
      expect(byNode).toContain("3 pods on 2 nodes, 1 vanished, 1 match");
      expect(byNode).toContain('<input type="text" name="node" value="node-b" placeholder="node" aria-label="node"/>');
      expect(byNode).toContain('hx-get="/fragments/pods?node=node-b&amp;sort=namespace&amp;dir=asc"');
      expect(byNode).toContain('href="/pods?node=node-b&amp;sort=rx&amp;dir=desc"');

      const byText = await fetchHtml("/fragments/pods?q=WEB&namespace=default");
      expect(byText).not.toContain("<html");
      expect(byText).toContain("/pods/default/web");
      expect(byText).not.toContain("/pods/default/cache");
      expect(await fetchHtml("/fragments/pods?q=10.0.1.3")).toContain("/pods/default/cache");

      const none = await fetchHtml("/pods?namespace=nowhere");
      expect(none).toContain("No pod matches this filter (3 pods in all).");
    });

    it("filters by state: the vanished pod alone, or the current ones, the choice kept in the form", async () => {
      const vanished = await fetchHtml("/pods?state=vanished");
      expect(vanished).toContain("/pods/default/cache");
      expect(vanished).not.toContain("/pods/default/web");
      expect(vanished).toContain('<option value="vanished" selected="">vanished</option>');
      expect(vanished).toContain('hx-get="/fragments/pods?state=vanished&amp;sort=namespace&amp;dir=asc"');
      const current = await fetchHtml("/fragments/pods?state=current");
      expect(current).toContain("/pods/default/web");
      expect(current).not.toContain("/pods/default/cache");
      // an unknown state is no filter
      expect(await fetchHtml("/fragments/pods?state=lost")).toContain("/pods/default/cache");
    });

    it("sorts by a column: most TX first, ties by namespace/name", async () => {
      const page = await fetchHtml("/fragments/pods?sort=tx&dir=desc");
      // web sent 35,000 bytes; db and cache 25,000 each.
      const order = ["/pods/default/web", "/pods/data/db", "/pods/default/cache"].map((href) => page.indexOf(href));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(page).toContain('aria-sort="descending"');
    });
  });
});

describe("GET /pods, paged", () => {
  /** 250 pods on node-c, p000 … p249, and web on node-a. */
  beforeEach(async () => {
    const many = Array.from({ length: 250 }, (_, i) => {
      const n = String(i).padStart(3, "0");
      return report(pod(`u-${n}`, `p${n}`, [`10.1.${Math.floor(i / 200)}.${i % 200 + 1}`], { namespace: "bulk" }), 1);
    });
    await post(s, { node: "node-c", seq: 1, ts: T0, pods: many });
    await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1)] });
  });

  /** The pod names of a page, in order. */
  const names = (page: string) => [...page.matchAll(/<a href="\/pods\/[a-z]+\/([a-z0-9]+)">/g)].map((m) => m[1]);

  it("shows 100 pods a page with previous and next links that keep the filters and the sort", async () => {
    const first = await fetchHtml("/pods?namespace=bulk&sort=name&dir=desc");
    expect(names(first)).toEqual(Array.from({ length: 100 }, (_, i) => `p${String(249 - i).padStart(3, "0")}`));
    expect(first).toContain('<span class="meta pager-count">1–100 of 250</span>');
    expect(first).toContain("251 pods on 2 nodes, 250 match");
    expect(first).toContain('<span class="meta">← previous</span>');
    const next = '<a href="/pods?namespace=bulk&amp;sort=name&amp;dir=desc&amp;offset=100" rel="next" ' +
      'hx-get="/pods?namespace=bulk&amp;sort=name&amp;dir=desc&amp;offset=100" hx-select="#pods"';
    expect(first).toContain(next);

    const third = await fetchHtml("/fragments/pods?namespace=bulk&sort=name&dir=desc&offset=200");
    expect(names(third)).toEqual(Array.from({ length: 50 }, (_, i) => `p${String(49 - i).padStart(3, "0")}`));
    expect(third).toContain('<span class="meta pager-count">201–250 of 250</span>');
    expect(third).toContain('href="/pods?namespace=bulk&amp;sort=name&amp;dir=desc&amp;offset=100" rel="prev"');
    expect(third).toContain('<span class="meta">next →</span>');
    // the live region of a later page polls that page
    expect(await fetchHtml("/pods?namespace=bulk&offset=100")).toContain(
      'hx-get="/fragments/pods?namespace=bulk&amp;sort=namespace&amp;dir=asc&amp;offset=100"',
    );
  });

  it("shows the last page for an offset past the end, and no pager for one page", async () => {
    const past = await fetchHtml("/fragments/pods?namespace=bulk&offset=9999");
    expect(past).toContain('<span class="meta pager-count">201–250 of 250</span>');
    expect(names(past)).toHaveLength(50);
    const one = await fetchHtml("/fragments/pods?q=web");
    expect(names(one)).toEqual(["web"]);
    expect(one).not.toContain("pager");
  });
});

describe("GET /pods/:namespace/:name", () => {
  beforeEach(scenario);

  it("shows the pod's facts and RX/TX, and polls its fragment with the window", async () => {
    const page = await fetchHtml("/pods/default/web");
    expect(page).toContain("<title>default/web · ebpf-k8s</title>");
    expect(page).toContain('<span class="state state-on">current</span>');
    expect(page).toContain('<a href="/nodes/node-a">node-a</a> (<a href="/pods?node=node-a">its pods</a>)');
    expect(page).toContain("<dd>10.0.1.2</dd>");
    expect(page).toContain('<code class="label">app=web</code><code class="label">tier=front</code>');
    expect(page).toContain("<dd>ReplicaSet web-7d9f</dd>");
    expect(page).toContain("<code>veth-web</code>");
    expect(page).toContain("<code>u-web</code>");
    expect(page).toContain('<td title="30,000 bytes">29.3 KiB<span class="sub">300 pkts</span></td>');
    expect(page).toMatch(
      /<div id="pod-detail" hx-get="\/fragments\/pods\/default\/web\?since=5m" hx-trigger="every 5s" hx-swap="innerHTML">/,
    );
    expect(page).toContain('<a href="/pods/default/web?since=5m" aria-current="page">5 min</a>');
    expect(page).toContain('<a href="/pods/default/web?since=24h">24 h</a>');
  });

  it("lists its flows, TCP health with the failing row highlighted, and its drops, with exact numbers", async () => {
    const page = await fetchHtml("/pods/default/web");
    // Flows: web ↔ db 1,500 + 4,000 bytes; web → 1.1.1.1 120 bytes.
    expect(page).toContain('2 flows · <span title="5,620 bytes">5.49 KiB</span> in 25 packets, both ways');
    expect(page).toContain('<a href="/pods/data/db">data/db</a>');
    expect(page).toContain('<td title="4,000 bytes">3.91 KiB<span class="sub">8 pkts</span></td>');
    expect(page).toContain('1.1.1.1<span class="sub">outside the pods</span>');
    // TCP: 3 opened, 1 refused.
    expect(page).toContain("3 opened · 1 failed · 1 retransmits");
    expect(page).toContain('<tr class="failing">');
    expect(page).toContain('<td class="bad" title="refused 1, timed out 0, other 0">1');
    // Drops: only web's own.
    expect(page).toContain("2 packets dropped");
    expect(page).toContain("<code>NETFILTER_DROP</code>");
    expect(page).not.toContain("NO_SOCKET");
    expect(page).not.toContain("TCP_CSUM");
  });

  it("the fragment is the detail alone; a longer window reads the 1-minute level", async () => {
    const fragment = await fetchHtml("/fragments/pods/default/web?since=24h");
    expect(fragment).not.toContain("<html");
    expect(fragment).toContain("Since 24 h ago, from 1-minute sums");
    expect(fragment).toContain("<code>NETFILTER_DROP</code>");
    expect(await fetchHtml("/pods/default/web?since=1h")).toContain(
      '<a href="/pods/default/web?since=1h" aria-current="page">1 h</a>',
    );
  });

  it("explains empty tables in words for a quiet pod, and marks a vanished one", async () => {
    const page = await fetchHtml("/pods/default/cache");
    expect(page).toContain("vanished 9 s ago; listed for 5 min after vanishing");
    expect(page).toContain("No TCP activity for pod default/cache, since 5 min ago.");
    expect(page).toContain("No drops for pod default/cache, since 5 min ago.");
    expect(page).toContain('<span class="na">none (a bare pod)</span>');
  });

  it("404 in words for an unknown pod or one past its grace period, in the page and the fragment", async () => {
    expect(await fetchHtml("/pods/default/ghost", 404)).toContain("No pod default/ghost is listed");
    s.clock.now = VANISHED_AT + DEFAULT_MONITORING_SETTINGS.podGraceMs;
    const gone = await fetchHtml("/fragments/pods/default/cache", 404);
    expect(gone).not.toContain("<html");
    expect(gone).toContain(
      "No pod default/cache is listed: no node has reported it, or it vanished more than 5 min ago",
    );
  });

  it("400 in words for a bad name or window", async () => {
    expect(await fetchHtml("/pods/default/Web", 400)).toContain("Not a pod name");
    expect(await fetchHtml("/pods/default/web?since=yesterday", 400)).toContain(
      "The parameter &#39;since&#39; must be an ISO 8601 time",
    );
    expect(await fetchHtml("/pods/default/web?since=2099-01-01", 400)).toContain("must not be in the future");
  });
});

describe("GET /servicemap", () => {
  it("explains the empty state", async () => {
    const page = await fetchHtml("/servicemap");
    expect(page).toContain("No traffic since 5 min ago.");
    expect(page).not.toContain("<svg");
  });

  describe("with traffic", () => {
    beforeEach(scenario);

    it("draws the SVG with each edge, and lists the edges with exact numbers", async () => {
      const page = await fetchHtml("/servicemap");
      expect(page).toContain('<div class="mapbox"><svg xmlns="http://www.w3.org/2000/svg" class="servicemap"');
      expect(page).toContain("<title>default/web → data/db: 5.37 KiB, 3 connections, 1 failed</title>");
      expect(page).toContain("<title>192.168.1.50 → default/cache: 400 B, 0 connections</title>");
      expect(page).toContain("5 endpoints, 3 edges");
      const edge = rowOf(page.slice(page.indexOf('<table class="edges">')), "/pods/default/web");
      expect(edge).toMatch(/^<tr class="failing">/);
      expect(edge).toContain('<td title="5,500 bytes">5.37 KiB</td><td>3</td><td class="bad">1</td>');
      expect(page).toMatch(/<div id="servicemap" hx-get="\/fragments\/servicemap\?since=5m" hx-trigger="every 5s"/);
    });

    it("lists the top talkers: pods by bytes sent and received, busiest first", async () => {
      const page = await fetchHtml("/servicemap");
      const talkers = page.slice(
        page.indexOf('<table class="talkers">'),
        page.indexOf("</table>", page.indexOf('<table class="talkers">')),
      );
      expect([...talkers.matchAll(/<a href="([^"]+)">/g)].map((m) => m[1])).toEqual([
        "/pods/default/web",
        "/pods/data/db",
        "/pods/default/cache",
      ]);
      expect(rowOf(talkers, "/pods/default/web")).toContain('title="5,620 bytes"');
      expect(rowOf(talkers, "/pods/default/cache")).toContain('title="400 bytes"');
    });

    it("keeps only the edges touching a namespace, with the window; the fragment is the map alone", async () => {
      const page = await fetchHtml("/servicemap?namespace=data&since=1h");
      expect(page).toContain("default/web → data/db");
      expect(page).not.toContain("1.1.1.1");
      expect(page).toContain("2 endpoints, 1 edges touching namespace data");
      expect(page).toContain('<a href="/servicemap?since=24h&amp;namespace=data">24 h</a>');
      expect(page).toContain('<input type="text" name="namespace" value="data" placeholder="namespace"/>');
      const fragment = await fetchHtml("/fragments/servicemap?namespace=nowhere&since=5m");
      expect(fragment).not.toContain("<html");
      expect(fragment).toContain("No traffic touching namespace nowhere since 5 min ago.");
    });

    it("400 in words for a bad namespace or window", async () => {
      expect(await fetchHtml("/servicemap?namespace=Bad!", 400)).toContain("The parameter &#39;namespace&#39;");
      expect(await fetchHtml("/fragments/servicemap?since=soon", 400)).toContain("The parameter &#39;since&#39;");
    });
  });
});

describe("links and access", () => {
  it("the node page links to its pods", async () => {
    await scenario();
    expect(await fetchHtml("/nodes/node-a")).toContain('<a href="/pods?node=node-a">pods on node-a</a>');
  });

  it.each([
    "/pods",
    "/fragments/pods",
    "/pods/default/web",
    "/fragments/pods/default/web",
    "/servicemap",
    "/fragments/servicemap",
  ])(
    "EBPF_K8S_READ_AUTH=token: %s sends a browser to /login, and answers with the read cookie",
    async (path) => {
      await scenario();
      s.rebuild({ settings: { readAuth: "token" } });
      s.clock.now = NOW;
      const browser = await s.app.request(`http://control.test${path}`);
      expect(browser.status).toBe(303);
      expect(browser.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
      await fetchHtml(path, 200, { cookie: `${SESSION_COOKIE}=${READ_TOKEN}` });
    },
  );
});
