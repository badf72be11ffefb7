// SPDX-License-Identifier: Apache-2.0
/**
 * bpf/dns.bpf.c and its reader on the real kernel, with exact counts: a real
 * resolver (dnsmasq) and dig in lab pods (dns_lab.ts), answers made to order
 * (SERVFAIL, REFUSED, TC), a server that never answers, hand-made malformed
 * messages, and 10,000 names from one pod.
 */
import { assert, assertEquals } from "../../testing/assert.ts";
import { waitProgramsGone } from "../../testing/bpf.ts";
import { dnsKernelTest, type DnsLab, withDnsLab } from "./dns_lab.ts";
import { DNS_STATS, LATENCY_BOUNDS_US, QTYPE_SLOTS, RCODE_SLOTS } from "./layout.ts";
import { DEFAULT_DNS, type DnsCounters, DnsReader, type DnsReading } from "./reader.ts";
import { libbpfMessagesSince, libbpfSeq } from "../../libbpf/log.ts";
import { BPF_OBJ_DIR } from "../../testing/kernel.ts";
import { udpFrame } from "../../testing/packets.ts";
import type { DnsServerRecord } from "./records.ts";

const qtype = (name: string) => QTYPE_SLOTS.indexOf(name as typeof QTYPE_SLOTS[number]);
const rcode = (name: string) => RCODE_SLOTS.indexOf(name as typeof RCODE_SLOTS[number]);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function server(r: DnsReading, lab: DnsLab, pod: string, ip: string, port = 53): DnsServerRecord {
  const found = r.servers.filter((s) => s.ifindex === lab.net.pod(pod).ifindex && s.server === ip && s.port === port);
  assertEquals(found.length, 1, `one record of ${pod} with ${ip}:${port} in ${JSON.stringify(r.servers)}`);
  return found[0];
}

/** What changed in the kernel's counters between two reads. */
function counterDelta(a: DnsCounters, b: DnsCounters): Partial<DnsCounters> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(b) as (keyof DnsCounters)[]) if (b[k] !== a[k]) out[k] = b[k] - a[k];
  return out as Partial<DnsCounters>;
}

dnsKernelTest(
  "dns: queries by type, NXDOMAIN, TCP and a second port, each counted once; latency within dig's",
  async () => {
    await withDnsLab(3, { ports: [5353] }, async (lab) => {
      const programIds = lab.reader.obj.programs.map((p) => p.id);
      const resolver = lab.ip("p1");
      await lab.resolver("p1", {
        hosts: { "www.lab": "10.244.1.1", "v6.lab": "fd00::1" },
        extra: ["--mx-host=lab,www.lab,10", "--txt-record=txt.lab,hello", "--srv-host=_x._tcp.lab,www.lab,80"],
      });
      await lab.resolver("p1", { port: 5353, hosts: { "www.lab": "10.244.1.1" } });
      await lab.resolver("p1", { port: 5354, hosts: { "www.lab": "10.244.1.1" } }); // not a DNS port of the program's
      const N = 5, M = 7, K = 4, J = 3, L = 2; // L: names in capitals, counted as the lowercase name
      const types = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "PTR", "CAA"]; // CAA: counted as "other"
      const names: Record<string, string> = {
        A: "www.lab",
        AAAA: "v6.lab",
        CNAME: "www.lab",
        MX: "lab",
        TXT: "txt.lab",
        SRV: "_x._tcp.lab",
        PTR: "1.1.244.10.in-addr.arpa",
        CAA: "www.lab",
      };
      const queries = types.flatMap((t) => Array.from({ length: N }, () => `${names[t]} ${t}`));
      const results = [
        ...await lab.dig("p2", resolver, queries),
        ...await lab.dig("p2", resolver, Array.from({ length: M }, (_, i) => `nx${i}.lab A`)),
        ...await lab.dig("p2", resolver, Array.from({ length: K }, () => "www.lab A"), ["+tcp"]),
        ...await lab.dig("p2", resolver, Array.from({ length: L }, () => "WWW.Lab A")),
        ...await lab.dig("p2", `${resolver}:5353`, Array.from({ length: J }, () => "www.lab A")),
      ];
      const other = await lab.dig("p2", `${resolver}:5354`, ["www.lab A", "www.lab A"]);
      assertEquals(other.map((x) => x.status), ["NOERROR", "NOERROR"]);
      assertEquals(results.filter((x) => x.status === "NXDOMAIN").length, M, JSON.stringify(results));
      assert(results.every((x) => x.ms >= 0), `every query answered: ${JSON.stringify(results)}`);

      const r = lab.reader.read();
      assertEquals(r.servers.length, 2, `only p2's servers :53 and :5353: ${JSON.stringify(r.servers)}`);
      const s = server(r, lab, "p2", resolver);
      const expected = new Array(QTYPE_SLOTS.length).fill(0);
      for (const t of types) expected[t === "CAA" ? qtype("other") : qtype(t)] += N;
      expected[qtype("A")] += M + K + L;
      assertEquals(s.queries, expected);
      assertEquals(s.tcp, K);
      const answered = types.length * N + M + K + L;
      assertEquals(sum(s.responses), answered);
      assertEquals(s.responses[rcode("NXDOMAIN")], M);
      assertEquals(s.truncated, 0);
      assertEquals(s.timeouts, 0);
      const p5353 = server(r, lab, "p2", resolver, 5353);
      assertEquals(p5353.queries[qtype("A")], J);
      assertEquals(p5353.responses[rcode("NOERROR")], J);

      // latency: every answer matched, each no longer than dig saw it (whole ms, rounded down: + 1 ms)
      assertEquals(sum(s.latency) + sum(p5353.latency), answered + J);
      assertEquals(r.counters.matched, answered + J);
      const digMaxUs = (Math.max(...results.map((x) => x.ms)) + 1) * 1000;
      const digSumUs = sum(results.map((x) => (x.ms + 1) * 1000));
      assert(s.latencySumUs + p5353.latencySumUs <= digSumUs, `kernel ${s.latencySumUs} µs > dig's ${digSumUs}`);
      assert(s.latencySumUs > 0, "latencies are measured");
      const slowest = Math.max(...[...s.latency.keys()].filter((b) => s.latency[b] > 0));
      assert(
        slowest === 0 || LATENCY_BOUNDS_US[slowest - 1] < digMaxUs,
        `bucket ${slowest} above dig's ${digMaxUs} µs`,
      );

      // names: per (pod, name), NXDOMAIN per name
      const byName = new Map(r.names.map((n) => [n.name, n]));
      assertEquals(byName.get("www.lab")?.queries, 3 * N + K + L + J);
      for (let i = 0; i < M; i++) {
        assertEquals(byName.get(`nx${i}.lab`), { ifindex: s.ifindex, name: `nx${i}.lab`, queries: 1, nxdomain: 1 });
      }
      assertEquals(
        sum(r.names.map((n) => n.queries)),
        answered + J,
      );

      // the resolver's side is not a client's: counted as served only
      assertEquals(
        r.counters.served,
        2 * (answered + J),
        "each query and answer once at p1's veth (:5354 is no DNS port)",
      );
      for (const k of DNS_STATS.slice(0, DNS_STATS.indexOf("served"))) assertEquals(r.counters[k], 0, k); // malformed, skipped
      // a second read: nothing new
      const again = lab.reader.read();
      assertEquals([again.servers, again.names], [[], []]);
      // one query per read: each latency on its own, within what dig measured
      for (let i = 0; i < 5; i++) {
        const [{ ms }] = await lab.dig("p2", resolver, [`one${i}.lab TXT`]);
        const one = server(lab.reader.read(), lab, "p2", resolver);
        assertEquals(sum(one.latency), 1);
        const bucket = one.latency.indexOf(1);
        assert(one.latencySumUs > 0 && one.latencySumUs <= (ms + 1) * 1000, `${one.latencySumUs} µs, dig ${ms} ms`);
        assert(one.latencySumUs <= (LATENCY_BOUNDS_US[bucket] ?? Infinity), `in bucket ${bucket}`);
        assert(bucket === 0 || one.latencySumUs > LATENCY_BOUNDS_US[bucket - 1], `in bucket ${bucket}`);
      }
      await lab.close();
      assertEquals(await waitProgramsGone(programIds), [], "the programs are unloaded");
    });
  },
);

dnsKernelTest(
  "dns: SERVFAIL, REFUSED and truncated answers; a server that never answers times out after the limit",
  async () => {
    await withDnsLab(3, { timeoutMs: 800 }, async (lab) => {
      await lab.responder("p1");
      await lab.silent("p3");
      const S = 4, R = 3, T = 2, U = 3;
      const asked = [
        ...Array.from({ length: S }, (_, i) => `servfail-${i}.lab A`),
        ...Array.from({ length: R }, (_, i) => `refused-${i}.lab AAAA`),
        ...Array.from({ length: T }, (_, i) => `tc-${i}.lab TXT`),
      ];
      const got = await lab.dig("p2", lab.ip("p1"), asked, ["+ignore"]); // +ignore: no retry over TCP after TC
      assertEquals(got.map((x) => x.status), [
        ...Array(S).fill("SERVFAIL"),
        ...Array(R).fill("REFUSED"),
        ...Array(T).fill("NOERROR"),
      ]);
      await lab.send("p2", lab.ip("p3"), 53, "names", U); // no answer ever
      const first = lab.reader.read();
      const answers = server(first, lab, "p2", lab.ip("p1"));
      assertEquals(answers.responses, [T, 0, S, R, 0]);
      assertEquals(answers.truncated, T);
      assertEquals(
        answers.queries[qtype("A")] + answers.queries[qtype("AAAA")] + answers.queries[qtype("TXT")],
        S + R + T,
      );
      const silent = server(first, lab, "p2", lab.ip("p3"));
      assertEquals(
        [silent.queries[qtype("A")], sum(silent.responses), silent.timeouts],
        [U, 0, 0],
        "not timed out yet",
      );
      assertEquals(first.counters.pendingEntries, U);
      await sleep(900);
      const second = lab.reader.read();
      assertEquals(second.servers.length, 1);
      assertEquals(server(second, lab, "p2", lab.ip("p3")).timeouts, U);
      assertEquals(sum(server(second, lab, "p2", lab.ip("p3")).queries), 0, "only the timeouts are new");
      assertEquals(counterDelta(first.counters, second.counters), { timeouts: U, pendingEntries: -U });
      assertEquals(second.counters.pendingEvicted, 0);
    });
  },
);

dnsKernelTest("dns: malformed and untracked messages are counted by reason, never as queries", async () => {
  await withDnsLab(2, {}, async (lab) => {
    await lab.silent("p1");
    const C = 3;
    const kinds: [string, keyof DnsCounters][] = [
      ["short-header", "shortHeader"],
      ["long-name", "nameTooLong"],
      ["pointer", "pointer"],
      ["bad-label", "badLabel"],
      ["short-question", "shortQuestion"],
      ["no-type", "shortQuestion"],
      ["two-questions", "qdcount"],
      ["response-to-server", "notTracked"],
    ];
    let before = lab.reader.read().counters;
    for (const [kind, reason] of kinds) {
      await lab.send("p2", lab.ip("p1"), 53, kind, C);
      const r = lab.reader.read();
      assertEquals(r.servers, [], `${kind}: no query counted`);
      assertEquals(counterDelta(before, r.counters), { [reason]: C, served: C }, kind);
      before = r.counters;
    }
    // and the program still counts a good one
    await lab.send("p2", lab.ip("p1"), 53, "names", 1);
    assertEquals(server(lab.reader.read(), lab, "p2", lab.ip("p1")).queries[qtype("A")], 1);
  });
});

dnsKernelTest(
  "dns: 10,000 names from one pod: the kernel's table and the records capped, every total exact",
  async () => {
    const TABLE = 1024, CAP = 100, NAMES = 10_000;
    await withDnsLab(2, { namesTableSize: TABLE, maxNameRecords: CAP, timeoutMs: 100 }, async (lab) => {
      await lab.silent("p1");
      const pod = lab.net.pod("p2").ifindex;
      for (let round = 1; round <= 2; round++) {
        await lab.send("p2", lab.ip("p1"), 53, "names", NAMES);
        const r = lab.reader.read(Date.now() + (round - 1) * 120_000);
        assertEquals(r.names.length, CAP);
        assertEquals(sum(r.names.map((n) => n.queries)), NAMES, "every query in a name record or an other one");
        const others = r.names.filter((n) => n.name === null);
        assertEquals(others.map((o) => o.ifindex), [pod], "one other record, the pod's");
        assertEquals(others[0].queries, NAMES - (CAP - 1));
        assertEquals(r.namesSummed, TABLE - (CAP - 1), "the kernel's names over the cap summed");
        assertEquals(server(r, lab, "p2", lab.ip("p1")).queries[qtype("A")], NAMES);
        assertEquals(r.counters.namesFull, round * (NAMES - TABLE));
        assertEquals(r.counters.namesCreated, round * TABLE);
        assertEquals(r.counters.nameEntries, TABLE);
        await sleep(150);
        // the timeouts; and idle names leave the table, making room for the next round's
        const later = lab.reader.read(Date.now() + round * 120_000);
        // a query is a timeout at the first read after 100 ms: some may have been at the first
        assertEquals(sum([...r.servers, ...later.servers].map((s) => s.timeouts)), NAMES);
        assertEquals(later.counters.timeouts, round * NAMES);
        assertEquals([later.counters.pendingEntries, later.counters.pendingEvicted], [0, 0]);
        assertEquals(later.counters.nameEntries, 0);
      }
    });
  },
);

dnsKernelTest("dns: full LRU tables evict, and say how many: pending queries and (pod, server) entries", async () => {
  const ports = Array.from({ length: 8 }, (_, i) => 1053 + i);
  await withDnsLab(2, { ports, pendingTableSize: 64, serversTableSize: 4, timeoutMs: 100 }, async (lab) => {
    await lab.silent("p1");
    const EACH = 125; // 9 ports x 125 = 1,125 queries, none answered (a closed port's ICMP error is no DNS)
    for (const port of [53, ...ports]) await lab.send("p2", lab.ip("p1"), port, "names", EACH);
    const total = EACH * (ports.length + 1);
    const r = lab.reader.read();
    const c = r.counters;
    assertEquals(c.pendingCreated, total);
    assertEquals(c.pendingEvicted + c.pendingEntries + c.timeouts, total, "each query pending, evicted or timed out");
    assert(c.pendingEvicted >= total - 64, `at most 64 pending: ${JSON.stringify(c)}`);
    assertEquals(c.serversCreated, ports.length + 1);
    assertEquals(c.serversEvicted + c.serverEntries, ports.length + 1, "each entry present or evicted");
    assert(c.serversEvicted >= ports.length + 1 - 4, `at most 4 entries: ${JSON.stringify(c)}`);
    await sleep(150);
    const later = lab.reader.read().counters;
    assertEquals([later.pendingEntries, later.pendingEvicted + later.timeouts], [0, total]);
  });
});

dnsKernelTest("dns: the program loads on this kernel with no libbpf warning, and unloads", async () => {
  const since = libbpfSeq();
  const reader = DnsReader.open(BPF_OBJ_DIR, DEFAULT_DNS);
  const ids = reader.obj.programs.map((p) => p.id);
  try {
    assertEquals(libbpfMessagesSince(since).filter((m) => m.level === "warn").map((m) => m.text), []);
    assertEquals(ids.length, 2);
  } finally {
    reader.close();
  }
  assertEquals(await waitProgramsGone(ids), []);
});

dnsKernelTest(
  "dns: a resolver library (glibc's getaddrinfo, from the pod's resolv.conf) is counted like dig",
  async () => {
    await withDnsLab(2, {}, async (lab) => {
      await lab.resolver("p1", { hosts: { "www.lab": "10.244.1.1" } });
      const R = 4;
      // AF_UNSPEC: an A and an AAAA query each time (dnsmasq has no AAAA for www.lab: NOERROR, no answer)
      const got = await lab.lookup("p2", lab.ip("p1"), "www.lab", R);
      assertEquals(got, Array(R).fill("10.244.1.1"));
      const s = server(lab.reader.read(), lab, "p2", lab.ip("p1"));
      assertEquals([s.queries[qtype("A")], s.queries[qtype("AAAA")], sum(s.queries)], [R, R, 2 * R]);
      assertEquals([s.responses[rcode("NOERROR")], sum(s.responses), sum(s.latency)], [2 * R, 2 * R, 2 * R]);
    });
  },
);

/** An Ethernet + IPv6 + UDP frame (no extension headers; checksum 0: test_run does not check it). */
function udp6Frame(src: string, dst: string, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const v6 = (text: string) => {
    const [head, tail] = text.split("::");
    const groups = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
    const h = groups(head), t = groups(tail ?? "");
    return [...h, ...Array(8 - h.length - t.length).fill(0), ...t].flatMap((g) => [g >> 8, g & 0xff]);
  };
  const f = new Uint8Array(14 + 40 + 8 + payload.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, 0x86dd);
  f[14] = 0x60;
  dv.setUint16(14 + 4, 8 + payload.length);
  f[14 + 6] = 17; // UDP
  f[14 + 7] = 64;
  f.set(v6(src), 14 + 8);
  f.set(v6(dst), 14 + 24);
  dv.setUint16(54, sport);
  dv.setUint16(56, dport);
  dv.setUint16(58, 8 + payload.length);
  f.set(payload, 62);
  return f;
}

/** A DNS message of one question: `flags` as on the wire (0x0100: a query with RD; 0x8183: an NXDOMAIN answer). */
function dnsMessage(id: number, flags: number, name: string, type: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]);
  return dnsRaw(id, flags, [...labels, 0, 0, type, 0, 1]);
}

/** A DNS header for one question, then `question` as given (well-formed or not). */
function dnsRaw(id: number, flags: number, question: number[]): Uint8Array {
  return new Uint8Array([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 1, 0, 0, 0, 0, 0, 0, ...question]);
}

dnsKernelTest(
  "dns: IPv6 too (BPF_PROG_TEST_RUN): a query, its NXDOMAIN answer matched, the server's address in full",
  async () => {
    const reader = DnsReader.open(BPF_OBJ_DIR, DEFAULT_DNS);
    try {
      const query = udp6Frame("fd00::10", "fd00::53", 41000, 53, dnsMessage(0x1234, 0x0100, "Six.lab", 28));
      const answer = udp6Frame("fd00::53", "fd00::10", 53, 41000, dnsMessage(0x1234, 0x8183, "six.lab", 28));
      reader.obj.program("dns_ingress").testRun({ data: query });
      reader.obj.program("dns_egress").testRun({ data: answer });
      const r = reader.read();
      assertEquals(r.servers.length, 1);
      const s = r.servers[0];
      assertEquals([s.server, s.port, s.queries[qtype("AAAA")], s.responses[rcode("NXDOMAIN")], sum(s.latency)], [
        "fd00::53",
        53,
        1,
        1,
        1,
      ]);
      assertEquals(r.names.map((n) => [n.name, n.queries, n.nxdomain]), [["six.lab", 1, 1]]);
      assertEquals([r.counters.matched, r.counters.pendingEntries], [1, 0]);
    } finally {
      reader.close();
    }
  },
);

/** A pod's query to its server and the server's answer, over IPv4 (BPF_PROG_TEST_RUN's frames). */
const toServer = (msg: Uint8Array) =>
  udpFrame({ srcIp: "10.244.250.1", dstIp: "10.244.250.53", srcPort: 41000, dstPort: 53, payload: msg });
const fromServer = (msg: Uint8Array) =>
  udpFrame({ srcIp: "10.244.250.53", dstIp: "10.244.250.1", srcPort: 53, dstPort: 41000, payload: msg });

dnsKernelTest(
  "dns: a name of any length is one entry whatever its case and what follows it (BPF_PROG_TEST_RUN)",
  async () => {
    const reader = DnsReader.open(BPF_OBJ_DIR, DEFAULT_DNS);
    try {
      const send = (prog: string, frame: Uint8Array) => reader.obj.program(prog).testRun({ data: frame });
      // wire lengths 3 to 60: the name's end at every place of the walk's 8-byte words; one of three labels;
      // the bytes around the capitals ("@", "[", "`", "{"), and 0xc1 (0x41, "A", with the high bit) left as they are
      const names = [...Array.from({ length: 58 }, (_, i) => "n".repeat(i + 1)), "a.b.c", "@az[`az{~.lab", "x\xc1"];
      names.forEach((name, i) => {
        // the same name in capitals with another type (other bytes after its end), then its NXDOMAIN answer
        send("dns_ingress", toServer(dnsMessage(2 * i, 0x0100, name, 1)));
        send("dns_ingress", toServer(dnsMessage(2 * i + 1, 0x0100, name.toUpperCase(), 28)));
        send("dns_egress", fromServer(dnsMessage(2 * i + 1, 0x8183, name.toUpperCase(), 28)));
      });
      const r = reader.read();
      assertEquals(
        r.names.map((n) => [n.name, n.queries, n.nxdomain]).sort(),
        names.map((n) => [n.replace("\xc1", "\\193"), 2, 1]).sort(),
      );
      assertEquals([r.counters.namesCreated, r.counters.matched], [names.length, names.length]);
    } finally {
      reader.close();
    }
  },
);

dnsKernelTest(
  "dns: an answer's question is read only for NXDOMAIN: a malformed one in another answer is not malformed",
  async () => {
    const reader = DnsReader.open(BPF_OBJ_DIR, DEFAULT_DNS);
    try {
      const pointer = [0xc0, 0x0c, 0, 1, 0, 1]; // the question's name a compression pointer
      for (const id of [1, 2, 3]) {
        reader.obj.program("dns_ingress").testRun({ data: toServer(dnsMessage(id, 0x0100, "p.lab", 1)) });
      }
      for (const [id, flags] of [[1, 0x8180], [2, 0x8182], [3, 0x8183]]) { // NOERROR, SERVFAIL: counted; NXDOMAIN: malformed
        reader.obj.program("dns_egress").testRun({ data: fromServer(dnsRaw(id, flags, pointer)) });
      }
      const r = reader.read();
      assertEquals(r.servers.length, 1);
      const s = r.servers[0];
      assertEquals([s.queries[qtype("A")], s.responses, sum(s.latency)], [3, [1, 0, 1, 0, 0], 2]);
      assertEquals([r.counters.matched, r.counters.pointer, r.counters.pendingEntries], [2, 1, 1]);
      assertEquals(r.names.map((n) => [n.name, n.queries, n.nxdomain]), [["p.lab", 3, 0]]);
    } finally {
      reader.close();
    }
  },
);

dnsKernelTest(
  "dns: an answer with no question (QDCOUNT 0, as FORMERR and REFUSED often come) is matched and counted",
  async () => {
    const reader = DnsReader.open(BPF_OBJ_DIR, DEFAULT_DNS);
    try {
      const bare = (id: number, flags: number) =>
        // a header only: no question, no records
        new Uint8Array([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
      for (const id of [1, 2, 3]) {
        reader.obj.program("dns_ingress").testRun({ data: toServer(dnsMessage(id, 0x0100, "q.lab", 1)) });
      }
      // FORMERR and REFUSED without a question: answers; an NXDOMAIN one has no name to count: skipped
      for (const [id, flags] of [[1, 0x8181], [2, 0x8185], [3, 0x8183]]) {
        reader.obj.program("dns_egress").testRun({ data: fromServer(bare(id, flags)) });
      }
      const r = reader.read();
      assertEquals(r.servers.length, 1);
      const s = r.servers[0];
      assertEquals([s.queries[qtype("A")], s.responses, sum(s.latency)], [3, [0, 0, 0, 1, 1], 2]);
      assertEquals([r.counters.matched, r.counters.qdcount, r.counters.pendingEntries], [2, 1, 1]);
    } finally {
      reader.close();
    }
  },
);

dnsKernelTest(
  "dns: answers matched while the reader reads are no evictions: pendingEvicted stays 0 with room to spare",
  async () => {
    await withDnsLab(3, { timeoutMs: 600_000 }, async (lab) => {
      await lab.resolver("p1", { hosts: { "www.lab": "10.244.1.1" } });
      await lab.silent("p3");
      // 6,000 names (queries to a server that never answers, pending all along) make each read's walk long
      await lab.send("p2", lab.ip("p3"), 53, "names", 6000);
      await Deno.writeTextFile(`${lab.dir}/dnsperf`, "www.lab A\n");
      // dnsperf: at most 50 queries in flight, answered as fast as dnsmasq can for 3 s, while the reader reads
      const argv = ["dnsperf", "-s", lab.ip("p1"), "-d", `${lab.dir}/dnsperf`, "-l", "3", "-q", "50", "-t", "1"];
      const flood = new Deno.Command("ip", { args: ["netns", "exec", lab.net.pod("p2").netns, ...argv] }).output();
      const seen: number[] = [];
      try {
        for (let i = 0; i < 40; i++) {
          seen.push(lab.reader.read().counters.pendingEvicted);
          await sleep(20);
        }
      } finally {
        const out = await flood;
        assert(out.success, new TextDecoder().decode(out.stderr));
      }
      const c = lab.reader.read().counters;
      assert(c.matched > 1000, `answers matched: ${c.matched}`);
      assert(c.pendingEntries < 8000, `the pending table never filled: ${c.pendingEntries}`);
      assertEquals(seen.filter((n) => n !== 0), [], "no eviction counted where none happened");
      assertEquals(c.pendingEvicted, 0);
    });
  },
);
