// SPDX-License-Identifier: Apache-2.0
/**
 * Data monitoring on the real kernel: the agent (flows, tcp, drops and
 * ifstats modules) on a node namespace with a bridge and three pods, shaped
 * like the lab, following a pods file. Traffic of known size between the
 * pods; exact packets and bytes per pod and per flow, both directions,
 * checked against the kernel's own veth statistics; a refused connection,
 * retransmits under netem loss (equal to the pod's RetransSegs), a drop with
 * its reason, pods appearing and vanishing, and the flow LRU overflowing.
 */
import type { Batch } from "../control/wire/batch.ts";
import type { FlowRecord, PodReport, TcpRecord } from "../control/wire/monitoring.ts";
import { type AgentRig, withAgentRig } from "./testing/agent_rig.ts";
import {
  assert,
  assertEquals,
  assertNoLeftovers,
  type InterfaceStats,
  interfaceStats,
  kernelTest,
  openCompiled,
  ping,
  run,
  sendUdp,
  statsDelta,
  tcpSnmp,
  tcpTransfer,
  track,
  waitListening,
  waitProgramsGone,
} from "./testing/mod.ts";
import { u32Key } from "./libbpf/mod.ts";

/** The compiled TCP/UDP client and server of the lb tests (scripts/tools/lbprobe.c). */
const LBPROBE = new URL("../build/tools/lbprobe", import.meta.url).pathname;

/** ICMP echo of 200 payload bytes: 242-byte frames. */
const PING = 200, PING_FRAME = PING + 8 + 20 + 14;
/** Ethernet + IPv4 + TCP with timestamps (32): every segment but the SYN, whose options take 40. */
const TCP_HDRS = 14 + 20 + 32, SYN_HDRS = 14 + 20 + 40;

/** A node with three pods and an agent on it. */
const withPods = (fn: (r: AgentRig) => Promise<void>) => withAgentRig({ pods: 3 }, fn);

const podOf = (b: Batch, name: string): PodReport => {
  const p = b.pods?.find((x) => x.name === name);
  if (!p) throw new Error(`pod ${name} not in batch ${b.seq}: ${b.pods?.map((x) => x.name)}`);
  return p;
};

/** A pod's counters that changed between two batches. */
const podDelta = (a: Batch, b: Batch, name: string) => {
  const [x, y] = [podOf(a, name), podOf(b, name)];
  return {
    rxPackets: y.rxPackets - x.rxPackets,
    rxBytes: y.rxBytes - x.rxBytes,
    txPackets: y.txPackets - x.txPackets,
    txBytes: y.txBytes - x.txBytes,
    drops: y.drops - x.drops,
  };
};

/** Host veth statistics of every pod, now. */
async function vethStats(r: AgentRig): Promise<Map<string, InterfaceStats>> {
  const out = new Map<string, InterfaceStats>();
  for (const p of r.pods.pods.filter((x) => !r.pods.removed.has(x.name))) {
    out.set(p.name, await interfaceStats(r.pods.node, p.hostVeth));
  }
  return out;
}

/** The pod's view of its host veth's statistics delta: what the veth sent, the pod received. */
function podViewOfVeth(before: Map<string, InterfaceStats>, after: Map<string, InterfaceStats>, name: string) {
  const d = statsDelta(before.get(name)!, after.get(name)!);
  return { rxPackets: d.txPackets, rxBytes: d.txBytes, txPackets: d.rxPackets, txBytes: d.rxBytes };
}

const sumOf = (records: FlowRecord[], f: (r: FlowRecord) => boolean) =>
  records.filter(f).reduce((s, r) => ({ packets: s.packets + r.packets, bytes: s.bytes + r.bytes }), {
    packets: 0,
    bytes: 0,
  });

const brief = (f: FlowRecord) => `${f.src}>${f.dst}:${f.port}/${f.proto} ${f.obs} ${f.packets}p ${f.bytes}b`;

kernelTest(
  "pods: exact packets and bytes per pod and per flow, both directions (= the veths' own statistics); drops with their reason",
  () =>
    withPods(async (r) => {
      const [p1, p2, p3] = ["p1", "p2", "p3"].map((n) => r.pods.pod(n));
      // every UDP datagram to a closed port is answered (no ICMP rate limit), so both directions are exact
      await run(r.pods.in("p3", ["sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0"]));
      const agent = await r.start();
      const b0 = await r.tick(agent);
      assertEquals(
        b0.pods!.map((p) => [p.name, p.hostVeth, p.ifindex, p.netnsIno]),
        [p1, p2, p3].map((p) => [p.name, p.hostVeth, p.ifindex, p.netnsIno]),
      );
      const inv = b0.inventory!;
      assertEquals(inv.modules.slice(0, 4).map((m) => `${m.name}:${m.state}`), [
        "ifstats:on",
        "flows:on",
        "tcp:on",
        "drops:on",
      ]);
      const flowProgs = inv.programs.filter((p) => p.module === "flows").map((p) => [p.name, p.type, p.attach]);
      assertEquals(flowProgs, [
        ["flows_ingress", "sched_cls", "tc ingress ek8sp1, ek8sp2, ek8sp3"],
        ["flows_egress", "sched_cls", "tc egress ek8sp1, ek8sp2, ek8sp3"],
      ]);
      assertEquals(
        inv.programs.filter((p) => !["flows", "ifstats", "dns"].includes(p.module)).map((
          p,
        ) => [p.module, p.name, p.attach]),
        [
          ["tcp", "tcp_state", "tracepoint sock/inet_sock_set_state"],
          ["tcp", "tcp_retransmit", "tracepoint tcp/tcp_retransmit_skb"],
          ["tcp", "tcp_rst_rx", "tracepoint tcp/tcp_receive_reset"],
          ["tcp", "tcp_rst_tx", "tracepoint tcp/tcp_send_reset"],
          ["tcp", "tcp_destroy", "tracepoint tcp/tcp_destroy_sock"],
          ["drops", "drops_kfree_skb", "tracepoint skb/kfree_skb"],
        ],
      );
      assertEquals(inv.programs.filter((p) => p.module === "dns").map((p) => [p.name, p.attach]), [
        ["dns_ingress", "tc ingress ek8sp1, ek8sp2, ek8sp3"],
        ["dns_egress", "tc egress ek8sp1, ek8sp2, ek8sp3"],
      ]);
      assertEquals(inv.maps.filter((m) => m.module !== "ifstats").map((m) => [m.module, m.name, m.maxEntries]), [
        ["flows", "flows", 65536],
        ["flows", "flow_stats", 4],
        ["flows", "ifstats", 4096],
        ["flows", "ifstats_big", 1024],
        ["tcp", "tcp_stats", 16384],
        ["tcp", "tcp_socks", 65536],
        ["tcp", "tcp_stats_created", 1],
        ["drops", "drops", 8192],
        ["drops", "drops_overflow", 1],
        ["drops", "drop_endpoints", 65536],
        ["dns", "dns_servers", 4096],
        ["dns", "dns_pending", 16384],
        ["dns", "dns_names", 8192],
        ["dns", "dns_names_other", 1024],
        ["dns", "dns_config", 1],
        ["dns", "dns_stats", 18],
      ]);
      assertEquals(
        inv.maps.find((m) => m.module === "flows" && m.name === "ifstats")!.entries,
        3,
        "a counter slot per hooked veth",
      );

      const before = await vethStats(r);
      const [N12, N13, N23, U] = [7, 5, 3, 6];
      await ping(p1.netns, p2.ip, { count: N12, size: PING });
      await ping(p1.netns, p3.ip, { count: N13, size: PING });
      await ping(p2.netns, p3.ip, { count: N23, size: PING });
      await sendUdp(p1.netns, p3.ip, 9, { count: U, size: 100 });
      const b = await r.tick(agent);
      const after = await vethStats(r);

      // per pod: exact, and the same as the veths' own statistics
      const UDP = 100 + 8 + 20 + 14, UNREACH = 20 + 8 + 100 + 8 + 20 + 14; // ICMP port unreachable quotes the datagram
      const want = {
        p1: {
          txPackets: N12 + N13 + U,
          txBytes: (N12 + N13) * PING_FRAME + U * UDP,
          rxPackets: N12 + N13 + U,
          rxBytes: (N12 + N13) * PING_FRAME + U * UNREACH,
        },
        p2: {
          txPackets: N12 + N23,
          txBytes: (N12 + N23) * PING_FRAME,
          rxPackets: N12 + N23,
          rxBytes: (N12 + N23) * PING_FRAME,
        },
        p3: {
          txPackets: N13 + N23 + U,
          txBytes: (N13 + N23) * PING_FRAME + U * UNREACH,
          rxPackets: N13 + N23 + U,
          rxBytes: (N13 + N23) * PING_FRAME + U * UDP,
        },
      };
      for (const name of ["p1", "p2", "p3"] as const) {
        const { drops: _, ...got } = podDelta(b0, b, name);
        assertEquals(got, { ...want[name] }, `pod ${name}`);
        assertEquals(podViewOfVeth(before, after, name), got, `pod ${name} against its veth's statistics`);
      }

      // per flow: each direction seen leaving its sender (tx) and entering its receiver (rx)
      const flows = b.flows!;
      const icmp = (src: string, dst: string, obs: string) =>
        sumOf(flows, (f) => f.proto === 1 && f.src === src && f.dst === dst && f.obs === obs);
      for (const [a, c, n] of [[p1, p2, N12], [p1, p3, N13], [p2, p3, N23]] as const) {
        for (const obs of ["tx", "rx"]) {
          assertEquals(
            icmp(a.ip, c.ip, obs),
            { packets: n, bytes: n * PING_FRAME },
            `echo requests ${a.name}>${c.name} ${obs}`,
          );
        }
      }
      const udp = flows.filter((f) => f.proto === 17).map(brief).sort();
      assertEquals(udp, [`${p1.ip}>${p3.ip}:9/17 rx ${U}p ${U * UDP}b`, `${p1.ip}>${p3.ip}:9/17 tx ${U}p ${U * UDP}b`]);
      // what left each pod (tx at its veth) and what entered it (rx) add up to its counters
      for (const p of [p1, p2, p3]) {
        const d = podDelta(b0, b, p.name);
        assertEquals(
          sumOf(flows, (f) => f.obs === "tx" && f.src === p.ip),
          { packets: d.txPackets, bytes: d.txBytes },
          `${p.name} tx flows`,
        );
        assertEquals(
          sumOf(flows, (f) => f.obs === "rx" && f.dst === p.ip),
          { packets: d.rxPackets, bytes: d.rxBytes },
          `${p.name} rx flows`,
        );
      }
      assertEquals(flows.filter((f) => f.obs === "host"), [], "no host interface hooked");

      // drops, with the kernel's reason, in the pod's namespace; bytes as the kernel held them (from the L4 header on):
      // p3 dropped the datagrams to its closed port; the echo replies, which go to ping's raw socket, are freed by
      // ping_rcv with NO_SOCKET too (no ICMP "ping" socket wanted them): N12 + N13 at p1, N23 at p2
      const dropsOf = (p: { uid: string }) =>
        b.drops!.filter((d) => d.pod === p.uid).map((d) => [d.reason, d.packets, d.bytes]);
      assertEquals(dropsOf(p3), [["NO_SOCKET", U, U * (8 + 100)]]);
      assertEquals(dropsOf(p1), [["NO_SOCKET", N12 + N13, (N12 + N13) * (8 + PING)]]);
      assertEquals(dropsOf(p2), [["NO_SOCKET", N23, N23 * (8 + PING)]]);
      assertEquals(
        ["p1", "p2", "p3"].map((n) => podDelta(b0, b, n).drops),
        [N12 + N13, N23, U],
        "each pod's cumulative drops",
      );

      const m = b.monitoring!;
      assertEquals([
        m.flowTableSize,
        m.flowsEvicted,
        m.flowCreateFailed,
        m.flowRecordsCut,
        m.tcpRecordsCut,
        m.dropRecordsCut,
        m.flowKeysSummed,
        m.tcpKeysSummed,
        m.dropKeysSummed,
        m.dropsOverflow,
      ], [65536, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      assertEquals(m.flowsCreated, m.flowEntries + m.flowsEvicted, "every entry made is in the table (none idle yet)");
      assertEquals(b.inventory!.maps.find((x) => x.name === "flows")!.entries, m.flowEntries);

      // the next interval: no traffic, no records; cumulative pod counters stand
      const quiet = await r.tick(agent);
      assertEquals([quiet.flows, quiet.drops?.filter((d) => d.pod)], [[], []]);
      assertEquals(quiet.pods!.map((p) => p.rxPackets), b.pods!.map((p) => p.rxPackets));

      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest(
  "TCP: a transfer of known size (payload exact, packets = the veths' statistics), opened/closed both sides; a refused connection",
  () =>
    withPods(async (r) => {
      const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
      const agent = await r.start();
      const b0 = await r.tick(agent);
      const before = await vethStats(r);
      const SIZE = 1_000_000;
      await tcpTransfer(r.pods, "p1", "p2", 5001, SIZE);
      const b = await r.tick(agent);
      const after = await vethStats(r);

      const tcpFlows = b.flows!.filter((f) => f.proto === 6 && f.port === 5001);
      const c2s = (obs: string) => tcpFlows.filter((f) => f.toServer && f.obs === obs);
      const s2c = (obs: string) => tcpFlows.filter((f) => !f.toServer && f.obs === obs);
      for (const obs of ["tx", "rx"]) {
        assertEquals(c2s(obs).length, 1, `one client-to-server record (${obs}): ${tcpFlows.map(brief)}`);
        assertEquals(s2c(obs).length, 1, `one server-to-client record (${obs})`);
        const up = c2s(obs)[0];
        assertEquals([up.src, up.dst], [p1.ip, p2.ip]);
        // every segment's headers, the SYN's bigger: what is left is the payload, exactly what was sent
        assertEquals(up.bytes - SYN_HDRS - TCP_HDRS * (up.packets - 1), SIZE, `payload ${obs}`);
        assertEquals(up.tcpFlags & 0x03, 0x03, "SYN and FIN seen");
      }
      // per direction, exactly the veths' statistics (nothing else crossed them)
      const v1 = podViewOfVeth(before, after, "p1"), v2 = podViewOfVeth(before, after, "p2");
      assertEquals([c2s("tx")[0].packets, c2s("tx")[0].bytes], [v1.txPackets, v1.txBytes]);
      assertEquals([s2c("rx")[0].packets, s2c("rx")[0].bytes], [v1.rxPackets, v1.rxBytes]);
      assertEquals([c2s("rx")[0].packets, c2s("rx")[0].bytes], [v2.rxPackets, v2.rxBytes]);
      assertEquals([s2c("tx")[0].packets, s2c("tx")[0].bytes], [v2.txPackets, v2.txBytes]);
      const { drops: _, ...d1 } = podDelta(b0, b, "p1");
      assertEquals(d1, v1, "pod p1 counters");

      const rec = (pod: string, role: string) =>
        b.tcp!.filter((t) => t.pod === pod && t.role === role && t.port === 5001);
      const client = rec(p1.uid, "client"), server = rec(p2.uid, "server");
      assertEquals(client.map((t) => [t.local, t.remote, t.opened, t.closed, t.failedRefused, t.retransmits]), [[
        p1.ip,
        p2.ip,
        1,
        1,
        0,
        0,
      ]]);
      assertEquals(server.map((t) => [t.local, t.remote, t.opened, t.closed, t.failedRefused, t.retransmits]), [[
        p2.ip,
        p1.ip,
        1,
        1,
        0,
        0,
      ]]);
      assert(client[0].srttSamples >= 1 && client[0].srttUsSum > 0, "an RTT sample at close");

      // a connection to a closed port of p2: refused for the client pod, after a reset it received
      await run(r.pods.in("p1", ["nc", "-z", "-w", "2", p2.ip, "81"]), { allowFail: true });
      const refused = await r.tick(agent);
      const got = refused.tcp!.filter((t) => t.pod === p1.uid);
      assertEquals(
        got.map((
          t,
        ) => [t.role, t.remote, t.port, t.failedRefused, t.resetsRx, t.opened, t.failedTimeout, t.failedOther]),
        [["client", p2.ip, 81, 1, 1, 0, 0, 0]],
      );
      assertEquals(refused.tcp!.filter((t) => t.pod === p2.uid), [], "no socket on p2's side: nothing to charge there");
      // p2 dropped the SYN (no socket) and answered with a reset
      assertEquals(refused.drops!.filter((d) => d.pod === p2.uid).map((d) => [d.reason, d.packets]), [[
        "NO_SOCKET",
        1,
      ]]);
      await agent.stop();
    }),
);

kernelTest(
  "TCP: an abortive close (SO_LINGER 0): the reset the client sends is on its client row, the one the server receives on its server row; no row of unknown role",
  () =>
    withPods(async (r) => {
      const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
      const N = 5, PORT = 5003;
      const agent = await r.start();
      await r.tick(agent);
      // lbprobe: each connection reads the server's name, then closes with SO_LINGER 0 (a reset, no FIN)
      const server = new Deno.Command("ip", {
        args: ["netns", "exec", p2.netns, LBPROBE, "serve-tcp", String(PORT), "p2"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        await waitListening(p2.netns, PORT);
        const report = JSON.parse(
          (await run(["ip", "netns", "exec", p1.netns, LBPROBE, "tcp", p2.ip, String(PORT), String(N)])).stdout,
        );
        assertEquals(report.errors, {}, "every connection answered");
        const sum = new Map<string, number[]>();
        const row = (t: TcpRecord) => `${t.pod === p1.uid ? "p1" : "p2"} ${t.role} ${t.local}>${t.remote}:${t.port}`;
        // the server closes its side when it reads the reset: until both sides counted every close
        for (let i = 0; i < 20 && (sum.get(`p2 server ${p2.ip}>${p1.ip}:${PORT}`)?.[1] ?? 0) < N; i++) {
          const b = await r.tick(agent);
          for (const t of b.tcp!.filter((t) => t.pod === p1.uid || t.pod === p2.uid)) {
            const c = [t.opened, t.closed, t.resetsTx, t.resetsRx, t.failedRefused + t.failedTimeout + t.failedOther];
            sum.set(row(t), (sum.get(row(t)) ?? [0, 0, 0, 0, 0]).map((x, k) => x + c[k]!));
          }
        }
        // [opened, closed, resets sent, resets received, failed]
        assertEquals(Object.fromEntries(sum), {
          [`p1 client ${p1.ip}>${p2.ip}:${PORT}`]: [N, N, N, 0, 0],
          [`p2 server ${p2.ip}>${p1.ip}:${PORT}`]: [N, N, 0, N, 0],
        });
      } finally {
        server.kill("SIGKILL");
        await server.status;
      }
      await agent.stop();
    }),
);

kernelTest(
  "retransmits under packet loss on a pod's veth: counted per pod, equal to each pod's own RetransSegs; the losses are drops charged to the pod",
  () =>
    withPods(async (r) => {
      const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
      // one segment per skb (no GSO): the tracepoint fires per skb, RetransSegs counts segments
      for (const p of [p1, p2]) await run(["ip", "-n", p.netns, "link", "set", "dev", "eth0", "gso_max_segs", "1"]);
      const agent = await r.start();
      await r.tick(agent);
      const before = await Promise.all([p1, p2].map((p) => tcpSnmp(p.netns, "RetransSegs")));
      // 20% of what goes to p2 is lost. netem would do (tc qdisc ... netem loss 20%), but not every kernel has
      // sch_netem (this one does not): a test program at tc egress of p2's host veth drops at random instead
      const lossy = track(await openCompiled("lossy"));
      let shot = 0;
      try {
        lossy.load();
        const att = lossy.program("lossy").attachTc({ ifname: p2.hostVeth, netns: r.pods.node }, "egress", {
          handle: 1,
          priority: 1,
        });
        try {
          await tcpTransfer(r.pods, "p1", "p2", 5002, 300_000, 60);
        } finally {
          att.detach();
        }
        shot = Number(lossy.map("lossy_dropped").sumU64(u32Key(0))![0]);
      } finally {
        lossy.close();
      }
      // A lost FIN is retransmitted from LAST-ACK or FIN-WAIT after the transfer returned: count only once no
      // connection can retransmit any more, or a late one lands between the agent's read and RetransSegs'.
      await waitFor("both pods' connections closed", async () =>
        (await Promise.all([p1, p2].map((p) => retransmitting(p.netns)))).every((n) => n === 0), 10_000);
      const b = await r.tick(agent);
      const afterSnmp = await Promise.all([p1, p2].map((p) =>
        tcpSnmp(p.netns, "RetransSegs")
      ));
      const retrans = (pod: string) =>
        b.tcp!.filter((t: TcpRecord) => t.pod === pod).reduce((s, t) => s + t.retransmits, 0);
      const kernel = afterSnmp.map((v, i) => v - before[i]);
      assert(kernel[0] > 0, `p1 retransmitted (RetransSegs +${kernel[0]})`);
      assertEquals([retrans(p1.uid), retrans(p2.uid)], kernel, "retransmits per pod = RetransSegs of its namespace");
      // what the loss dropped: at p2's host veth (node namespace), charged to p2 through its veth
      const lost = b.drops!.filter((d) => d.ifname === p2.hostVeth);
      assertEquals(lost.map((d) => [d.pod, d.reason, d.packets]), [[p2.uid, "TC_EGRESS", shot]]);
      await agent.stop();
    }),
);

kernelTest(
  "pods come and go: a new pod is hooked within one interval; one that leaves the list and returns keeps its totals; a deleted one leaves the batch and its hooks without an error",
  () =>
    withPods(async (r) => {
      const [p1, p3] = ["p1", "p3"].map((n) => r.pods.pod(n));
      r.pods.removed.add("p3"); // not there yet as far as the agent knows
      r.pods.writePodsFile();
      const agent = await r.start({ interval: 1 });
      const b0 = await r.tick(agent);
      assertEquals(b0.pods!.map((p) => p.name), ["p1", "p2"]);
      assertEquals((await r.filters("ingress", p3.hostVeth)).length, 0);

      // p3 appears: the pods file is polled every 500 ms, the module hooks its veth at once
      r.pods.removed.delete("p3");
      await new Promise((res) => setTimeout(res, 5));
      r.pods.writePodsFile();
      await waitFor("p3's veth hooked", async () =>
        (await r.filters("ingress", p3.hostVeth)).some((l) => l.includes("flows_ingress")), 1000);
      await ping(p1.netns, p3.ip, { count: 4, size: PING });
      const b1 = await r.tick(agent);
      assertEquals(
        b1.pods!.map((p) =>
          p.name
        ),
        ["p1", "p2", "p3"],
      );
      assertEquals([podOf(b1, "p3").rxPackets, podOf(b1, "p3").txPackets], [4, 4]);

      // p2 leaves the list while its veth stays (not watched meanwhile), then comes back: its totals continue, never reset
      const p2 = r.pods.pod("p2");
      const c2 = podOf(b1, "p2");
      r.pods.removed.add("p2");
      await new Promise((res) => setTimeout(res, 5));
      r.pods.writePodsFile();
      await waitFor("p2's veth let go", async () => !(await r.filters("ingress", p2.hostVeth)).length, 1000);
      await ping(p1.netns, p2.ip, { count: 3, size: PING });
      assertEquals((await r.tick(agent)).pods!.map((p) => p.name), ["p1", "p3"]);
      r.pods.removed.delete("p2");
      await new Promise((res) => setTimeout(res, 5));
      r.pods.writePodsFile();
      await waitFor("p2's veth hooked again", async () => (await r.filters("ingress", p2.hostVeth)).length > 0, 1000);
      await ping(p1.netns, p2.ip, { count: 2, size: PING });
      const back = podOf(await r.tick(agent), "p2");
      assertEquals([back.rxPackets, back.txPackets], [c2.rxPackets + 2, c2.txPackets + 2]);

      // p3 is deleted (its namespace and veth go), then the pods file says so
      const progIds = b1.inventory!.programs.filter((p) => p.module === "flows").map((p) => p.id);
      const logs = r.logs.length;
      await r.pods.removePod("p3");
      await new Promise((res) => setTimeout(res, 700));
      const b2 = await r.tick(agent);
      assertEquals(b2.pods!.map((p) => p.name).sort(), ["p1", "p2"]);
      assertEquals(b2.inventory!.programs.filter((p) => p.module === "flows").map((p) => p.attach), [
        "tc ingress ek8sp1, ek8sp2",
        "tc egress ek8sp1, ek8sp2",
      ]);
      assertEquals(r.logs.slice(logs), [], "nothing went wrong");
      await ping(p1.netns, r.pods.pod("p2").ip, { count: 2, size: PING });
      const b3 = await r.tick(agent);
      assertEquals(podDelta(b2, b3, "p1").txPackets, 2);
      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
      assertEquals(await waitProgramsGone(progIds), []);
    }),
);

kernelTest(
  "desired state: each monitoring module switches alone; flows off leaves the pod veths and the batch's pods, on again hooks them in a new epoch",
  () =>
    withPods(async (r) => {
      const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
      const agent = await r.start();
      await r.tick(agent);
      const boot = agent.bootId;
      r.control.setDesired({ flows: false, drops: false, dns: false }); // dns: its filters share the veths
      await r.tick(agent); // the ack carries the change
      await ping(p1.netns, p2.ip, { count: 3, size: PING });
      await run(r.pods.in("p1", ["nc", "-z", "-w", "2", p2.ip, "82"]), { allowFail: true });
      const off = await r.tick(agent); // applied at this read
      assertEquals(off.inventory!.modules.slice(0, 4).map((m) => `${m.name}:${m.state}`), [
        "ifstats:on",
        "flows:off",
        "tcp:on",
        "drops:off",
      ]);
      assertEquals(off.inventory!.modules.find((m) => m.name === "dns")!.state, "off");
      assertEquals([off.pods, off.flows, off.drops, off.dns], [undefined, undefined, undefined, undefined]);
      assertEquals(
        off.tcp!.filter((t) => t.pod === p1.uid).map((t) => [t.port, t.failedRefused]),
        [[82, 1]],
        "tcp goes on",
      );
      for (const p of [p1, p2]) {
        assertEquals(await r.filters("ingress", p.hostVeth), [], `nothing left on ${p.hostVeth}`);
      }
      assertEquals(agent.bootId, boot, "switching off begins no epoch");
      r.control.setDesired({ flows: true, drops: true, dns: true });
      await r.tick(agent);
      const on = await r.tick(agent);
      assert(agent.bootId !== boot, "flows counts pod totals: on again, a new epoch");
      assertEquals(on.pods!.map((p) => [p.name, p.rxPackets, p.txPackets]), [["p1", 0, 0], ["p2", 0, 0], ["p3", 0, 0]]);
      await ping(p1.netns, p2.ip, { count: 2, size: PING });
      assertEquals(podOf(await r.tick(agent), "p2").rxPackets, 2);
      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest(
  "the flow table is an LRU of the configured size: 500 flows into 64 entries are evicted, counted, never silent",
  () =>
    withPods(async (r) => {
      const [p1, p2] = ["p1", "p2"].map((n) => r.pods.pod(n));
      const agent = await r.start({ extra: ["--flow-table-size", "64"] });
      await r.tick(agent);
      await sendUdp(p1.netns, p2.ip, 9, { count: 500, size: 10, firstSourcePort: 20000 }); // a source port, so a flow, per datagram
      const b = await r.tick(agent);
      const m = b.monitoring!;
      assertEquals(m.flowTableSize, 64);
      assert(m.flowEntries <= 64, `entries ${m.flowEntries} <= 64`);
      assert(m.flowsCreated >= 1000, `created ${m.flowsCreated}: each of 500 flows at least at p1's veth and at p2's`);
      assert(m.flowsEvicted >= m.flowsCreated - 64, `evicted ${m.flowsEvicted}`);
      assertEquals(
        m.flowsCreated,
        m.flowEntries + m.flowsEvicted,
        "created = in the table + evicted (none removed as idle)",
      );
      assertEquals(b.inventory!.maps.find((x) => x.name === "flows")!.maxEntries, 64);
      await agent.stop();
    }),
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});

/** TCP sockets of a namespace that may still send a retransmission: any but listeners and TIME-WAIT (which only answers). */
async function retransmitting(netns: string): Promise<number> {
  const out =
    (await run(["ip", "netns", "exec", netns, "ss", "-Htan", "exclude", "listening", "exclude", "time-wait"])).stdout;
  return out.split("\n").filter((l) => l.trim()).length;
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}
