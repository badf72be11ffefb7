// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { NO_RATES } from "../../control/ingest/rates.ts";
import { pageOf } from "../../control/queries/list-page.ts";
import type { DropRow } from "../../control/monitoring/drops.ts";
import type { FlowRow } from "../../control/monitoring/flows.ts";
import { type TcpRow, zeroTcp } from "../../control/monitoring/tcp.ts";
import {
  DropTable,
  FlowTable,
  parsePodQuery,
  PodFilter,
  podQueryString,
  PodTable,
  type PodView,
  protoName,
  selectPods,
  tcpFlagNames,
  TcpTable,
} from "./tables.tsx";

const render = (el: unknown) => String(el);

const WEB = { kind: "pod", uid: "u-web", namespace: "default", name: "web", node: "node-a" } as const;
const DB = { kind: "pod", uid: "u-db", namespace: "data", name: "db", node: "node-b" } as const;

const pod = (o: Partial<PodView>): PodView => ({
  uid: "u",
  namespace: "default",
  name: "p",
  node: "node-a",
  ips: [],
  rxPackets: 0,
  rxBytes: 0,
  txPackets: 0,
  txBytes: 0,
  drops: 0,
  rates: NO_RATES,
  ...o,
});

const PODS = [
  pod({
    uid: "1",
    name: "web",
    ips: ["10.0.1.2"],
    rxBytes: 1_536,
    rxPackets: 3,
    txBytes: 10,
    rates: { rxBytesPerSec: 2_048, rxPacketsPerSec: 1_200, txBytesPerSec: 0, txPacketsPerSec: 0 },
  }),
  pod({ uid: "2", name: "cache", ips: ["10.0.1.3"], rxBytes: 100, txBytes: 5_000, drops: 2 }),
  pod({
    uid: "3",
    namespace: "data",
    name: "db",
    node: "node-b",
    ips: ["10.0.2.2", "fd00::2"],
    rxBytes: 50,
    vanishedAt: 10_000,
  }),
];

describe("pod query", () => {
  it("parses with defaults: text ascending, numbers descending; junk falls back", () => {
    expect(parsePodQuery(new URLSearchParams(""))).toEqual({
      sort: "namespace",
      dir: "asc",
      q: undefined,
      namespace: undefined,
      node: undefined,
      state: undefined,
      offset: 0,
    });
    expect(parsePodQuery({ sort: "rx" })).toMatchObject({ sort: "rx", dir: "desc" });
    expect(parsePodQuery(new URLSearchParams("sort=evil&dir=up&q=%20web%20&node=&state=gone&offset=-5"))).toEqual({
      sort: "namespace",
      dir: "asc",
      q: "web",
      namespace: undefined,
      node: undefined,
      state: undefined,
      offset: 0,
    });
    expect(parsePodQuery({ state: "vanished", offset: "200" })).toMatchObject({ state: "vanished", offset: 200 });
    expect(podQueryString(parsePodQuery({ state: "current", offset: "100" }))).toBe(
      "?state=current&sort=namespace&dir=asc&offset=100",
    );
    expect(podQueryString(parsePodQuery({ q: "a b", node: "n" }), { sort: "tx", dir: "desc" })).toBe(
      "?q=a+b&node=n&sort=tx&dir=desc",
    );
  });

  it("filters by text, IP, namespace, node; sorts with stable ties", () => {
    const names = (q: Record<string, string>) => selectPods(PODS, parsePodQuery(q)).map((p) => p.name);
    expect(names({})).toEqual(["db", "cache", "web"]);
    expect(names({ sort: "tx" })).toEqual(["cache", "web", "db"]);
    expect(names({ sort: "rx", dir: "asc" })).toEqual(["db", "cache", "web"]);
    expect(names({ sort: "rxRate" })).toEqual(["web", "db", "cache"]); // no rate: last, ties by namespace/name
    expect(names({ sort: "rxRate", dir: "asc" })).toEqual(["web", "db", "cache"]); // last in either direction
    expect(names({ q: "FD00::2" })).toEqual(["db"]);
    expect(names({ q: "default/c" })).toEqual(["cache"]);
    expect(names({ namespace: "default", node: "node-a" })).toEqual(["cache", "web"]);
    expect(names({ state: "vanished" })).toEqual(["db"]);
    expect(names({ state: "current" })).toEqual(["cache", "web"]);
  });
});

describe("PodTable", () => {
  /** The table of `pods` (PODS by default) under the query `q`, as the page shows it. */
  const table = (q: Record<string, string>, o: { pods?: PodView[]; base?: string; now?: number } = {}) => {
    const pods = o.pods ?? PODS;
    const query = parsePodQuery(q);
    return (
      <PodTable
        page={pageOf(selectPods(pods, query), query.offset)}
        listed={pods.length}
        query={query}
        base={o.base}
        now={o.now}
      />
    );
  };

  it("shows names linked to their page, IPs, rates and totals in human units, vanished pods marked", () => {
    const html = render(table({}, { now: 40_000 }));
    expect(html).toContain('<a href="/pods/default/web">web</a>');
    expect(html).toContain("<td>10.0.2.2, fd00::2</td>");
    expect(html).toContain('2.00 KiB/s<span class="sub">1.20 kpps</span>');
    expect(html).toContain('<td title="1,536 bytes">1.50 KiB<span class="sub">3 pkts</span></td>');
    expect(html).toContain('<td class="na" title="rate known after the next report">—</td>');
    expect(html).toContain('<tr class="vanished">');
    expect(html).toContain("vanished 30 s ago");
    expect(html.indexOf(">db<")).toBeLessThan(html.indexOf(">cache<"));
  });

  it("sort headers are links that keep the filter and flip the active direction", () => {
    const html = render(table({ q: "web", sort: "rx" }));
    expect(html).toContain(
      '<th aria-sort="descending"><a href="/pods?q=web&amp;sort=rx&amp;dir=asc">RX total ▼</a></th>',
    );
    expect(html).toContain('<a href="/pods?q=web&amp;sort=name&amp;dir=asc">Name</a>');
  });

  it("explains an empty list and an empty filter", () => {
    expect(render(table({}, { pods: [] }))).toContain("No pods reported.");
    const html = render(table({ q: "nope" }, { base: "/x" }));
    expect(html).toContain("No pod matches this filter (3 pods in all).");
    expect(html).toContain('<a href="/x">Show all pods</a>');
  });

  it("escapes what pods and queries bring", () => {
    const html = render(<PodFilter query={parsePodQuery({ q: '"><script>' })} base="/pods" />);
    expect(html).not.toContain("<script>");
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;"');
  });
});

describe("FlowTable", () => {
  const flow = (o: Partial<FlowRow>): FlowRow => ({
    node: "",
    client: WEB,
    server: DB,
    port: 5432,
    proto: 6,
    fwdPackets: 3,
    fwdBytes: 300,
    revPackets: 2,
    revBytes: 5_300,
    tcpFlags: 0x13,
    ...o,
  });

  it("client and server (pods linked, IPs named), port and protocol, both directions, flags", () => {
    const html = render(
      <FlowTable
        flows={[flow({}), flow({ client: { kind: "world", ip: "203.0.113.1" }, proto: 17, port: 53, tcpFlags: 0 })]}
      />,
    );
    expect(html).toContain('<a href="/pods/default/web">default/web</a><span class="sub">pod on node-a</span>');
    expect(html).toContain("<td>5432/TCP</td>");
    expect(html).toContain('<td title="5,300 bytes">5.18 KiB<span class="sub">2 pkts</span></td>');
    expect(html).toContain("<td>FIN SYN ACK</td>");
    expect(html).toContain('203.0.113.1<span class="sub">outside the pods</span>');
    expect(html).toContain("<td>53/UDP</td>");
  });

  it("explains an empty window with its filters", () => {
    const html = render(
      <FlowTable flows={[]} filters={{ node: "node-a", pod: "default/web", since: "the last 5 min" }} />,
    );
    expect(html).toContain("No flows for node node-a, pod default/web, since the last 5 min.");
    expect(html).toContain("flows module");
  });

  it("names protocols and flags", () => {
    expect([1, 6, 17, 58, 132, 47].map(protoName)).toEqual(["ICMP", "TCP", "UDP", "ICMPv6", "SCTP", "proto 47"]);
    expect(tcpFlagNames(0xff)).toBe("FIN SYN RST PSH ACK URG ECE CWR");
    expect(tcpFlagNames(0)).toBe("");
  });
});

describe("TcpTable", () => {
  const row = (o: Partial<TcpRow>): TcpRow => ({
    node: "node-a",
    local: WEB,
    remote: DB,
    port: 5432,
    role: "client",
    ...zeroTcp(),
    ...o,
  });

  it("counts, failures by kind, exact averages in human units", () => {
    const html = render(
      <TcpTable
        rows={[
          row({
            opened: 1_200,
            failedRefused: 2,
            failedTimeout: 1,
            closed: 4,
            durationMs: 6_000,
            retransmits: 7,
            resetsRx: 1,
            resetsTx: 2,
            srttUsSum: 1_500,
            srttSamples: 4,
          }),
        ]}
      />,
    );
    expect(html).toContain("<td>1,200</td>");
    expect(html).toContain('3<span class="sub">2 refused · 1 timed out · 0 other</span>');
    expect(html).toContain("<td>1.50 s</td>"); // 6 000 ms / 4
    expect(html).toContain('<td title="4 samples">375 µs</td>');
    expect(html).toContain("<td>1 / 2</td>");
    expect(html).toContain('<tr class="failing">');
  });

  it("no samples: a dash, not zero; empty: explained", () => {
    const html = render(<TcpTable rows={[row({ opened: 1 })]} />);
    expect(html).toContain('<td title="0 samples">—</td>');
    expect(html).not.toContain("failing");
    expect(render(<TcpTable rows={[]} />)).toContain("No TCP activity. ");
  });

  it("an unknown role says why on hover; a known one needs no explaining", () => {
    const html = render(
      <TcpTable rows={[row({ role: "unknown", resetsTx: 1 }), row({ role: "server", opened: 1 })]} />,
    );
    expect(html).toMatch(/<td title="the kernel did not see this connection open [^"]*">unknown<\/td>/);
    expect(html).toContain("<td>server</td>");
  });
});

describe("DropTable", () => {
  const rows: DropRow[] = [
    { node: "node-a", pod: WEB, ifname: "veth1", reason: "TCP_INVALID_SEQUENCE", packets: 5, bytes: 300 },
    { node: "node-a", ifname: "eth0", reason: "NETFILTER_DROP", packets: 1_000, bytes: 2_097_152 },
  ];

  it("pod or the node's own, interface, reason, volume", () => {
    const html = render(<DropTable rows={rows} />);
    expect(html).toContain("<code>TCP_INVALID_SEQUENCE</code>");
    expect(html).toContain('<td class="na">the node&#39;s own</td>');
    expect(html).toContain('<td title="2,097,152 bytes">2.00 MiB<span class="sub">1,000 pkts</span></td>');
  });

  it('names the service the drops were addressed to or came from, linked to its page; "—" for none', () => {
    const service = { kind: "service", namespace: "data", name: "db" } as const;
    const html = render(<DropTable rows={[{ ...rows[0]!, service }, rows[1]!]} />);
    expect(html).toContain("<th>Reason</th><th>Service</th><th>Dropped</th>");
    const cells = [...html.matchAll(/<\/code><\/td>(<td[^>]*>.*?<\/td>)<td title=/g)].map((m) => m[1]);
    expect(cells).toEqual([
      '<td><a href="/services/data/db">data/db</a><span class="sub">service</span></td>',
      '<td class="na">—</td>',
    ]);
  });

  it("explains an empty table", () => {
    expect(render(<DropTable rows={[]} filters={{ pod: "default/web" }} />)).toContain("No drops for pod default/web.");
  });
});
