// SPDX-License-Identifier: Apache-2.0
/**
 * The agent against a fake control plane, on the real kernel: joining and
 * the stored credential, every HTTP answer of the contract, spooling while
 * the control plane is away and resending in order with exact totals, the
 * desired state switching ifstats off and on, and a module that fails to
 * load. The agent watches a veth of its own in a namespace of its own.
 */
import { RETRY_JITTER } from "../control/wire/retry.ts";
import { Agent } from "./agent.ts";
import { ConfigError } from "./config.ts";
import { BpfObject, makeDirs, pathExists } from "./libbpf/mod.ts";
import { type AgentRig, assertPingTotals, PING_FRAME, PING_SIZE, withAgentRig } from "./testing/agent_rig.ts";
import {
  assert,
  assertEquals,
  assertNoLeftovers,
  assertRejects,
  assertStringIncludes,
  compileBpf,
  interfaceStats,
  kernelTest,
  OBJECTS,
  ping,
  statsDelta,
  track,
  waitProgramsGone,
  withTempDir,
} from "./testing/mod.ts";

const N = 20;

const withRig = (fn: (r: AgentRig) => Promise<void>) => withAgentRig({}, fn);

kernelTest(
  "joins once and stores the credential (0600); batches carry exact counts and the inventory; a clean stop leaves nothing",
  () =>
    withRig(async (r) => {
      const before = await interfaceStats(r.net.nsA, r.net.ifA);
      const agent = await r.start();
      assertEquals(r.control.joins, 1);
      const cred = JSON.parse(Deno.readTextFileSync(`${r.stateDir}/credential.json`));
      assertEquals([cred.node, cred.control], [r.node, `${r.control.url}/`]);
      assertEquals(Deno.statSync(`${r.stateDir}/credential.json`).mode! & 0o777, 0o600);

      // one filter each way at the fixed slot; maps and the drop link pinned; the epoch on disk
      for (const d of ["ingress", "egress"] as const) {
        const f = await r.filters(d);
        assertEquals(f.length, 1, `${d}: ${f}`);
        assertStringIncludes(f[0], `pref 3768 bpf chain 0 handle 0xeb8 ifstats_${d}`);
      }
      for (const p of ["ifstats", "ifstats_big", "ifstats_cfg", "drop_link"]) {
        assert(pathExists(`${r.pinDir}/${p}`), `pin ${p}`);
      }
      assertEquals(JSON.parse(Deno.readTextFileSync(`${r.stateDir}/epoch.json`)).bootId, agent.bootId);

      await ping(r.net.nsA, r.net.ipB, { count: N, size: PING_SIZE });
      const b = await r.tick(agent);
      assertEquals(r.control.seqs(agent.bootId), [0]);
      const got = r.control.last(agent.bootId)!;
      assertEquals(got, b);
      // compact by default (the control plane said it accepts the version), and read back exactly
      assertEquals(r.control.ingests().map((q) => `${q.encoding} ${q.status}`), ["compact 200"]);
      const { ifname, rxPackets, rxBytes, txPackets, txBytes } = got.interfaces[0];
      assertEquals([ifname, rxPackets, rxBytes, txPackets, txBytes], [r.net.ifA, N, N * PING_FRAME, N, N * PING_FRAME]);
      const d = statsDelta(before, await interfaceStats(r.net.nsA, r.net.ifA));
      assertEquals([d.rxPackets, d.rxBytes, d.txPackets, d.txBytes], [rxPackets, rxBytes, txPackets, txBytes]);

      const inv = got.inventory!;
      assertEquals([inv.btf, inv.kernel], [true, Deno.osRelease()]);
      assertEquals(
        inv.features["prog:sched_cls"] && inv.features["prog:tracepoint"] && inv.features["map:percpu_array"],
        true,
      );
      assertEquals(Object.keys(inv.features).length, 11);
      assertEquals(
        inv.modules.map((m) => `${m.name}:${m.state}`),
        ["ifstats:on", "flows:on", "tcp:on", "drops:on", "lb:off", "accel:off", "gateway:off", "dns:on"],
      );
      assertEquals(
        inv.programs.filter((p) => p.module === "ifstats").map((p) => [p.name, p.type, p.attach]),
        [
          ["ifstats_ingress", "sched_cls", `tc ingress ${r.net.ifA}`],
          ["ifstats_egress", "sched_cls", `tc egress ${r.net.ifA}`],
          ["ifstats_drop", "tracepoint", "tracepoint skb/kfree_skb"],
        ],
      );
      // no pods: the flow programs are loaded and attached nowhere; the pods list is empty
      assertEquals(
        inv.programs.filter((p) => p.module === "flows").map((p) => [p.name, p.attach]),
        [["flows_ingress", "not attached"], ["flows_egress", "not attached"]],
      );
      assertEquals(
        inv.programs.filter((p) => p.module === "dns").map((p) => [p.name, p.attach]),
        [["dns_ingress", "not attached"], ["dns_egress", "not attached"]],
      );
      assertEquals(got.pods, []);
      assertEquals(
        inv.maps.filter((m) => m.module === "ifstats").map((m) => [m.name, m.type, m.maxEntries, m.entries]),
        [
          ["ifstats", "percpu_array", 4096, 1],
          ["ifstats_big", "percpu_hash", 1024, 0],
          ["ifstats_cfg", "array", 1, 1],
        ],
      );
      assertEquals(inv.spool, { pending: 0, dropped: 0, merged: 0, quarantined: 0, quarantineDropped: 0 });
      const progIds = inv.programs.map((p) => p.id);
      assertEquals(
        new Set(inv.programs.map((p) => p.module)),
        new Set(["ifstats", "flows", "tcp", "drops", "dns"]),
      );

      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
      assertEquals(await waitProgramsGone(progIds), []);
      // the last batch has the final totals
      assertEquals(r.control.seqs(agent.bootId), [0, 1]);

      // the next start uses the stored credential (no join), in a new epoch
      const again = await r.start();
      assertEquals(r.control.joins, 1);
      assert(again.bootId !== agent.bootId);
      await r.tick(again);
      assertEquals(r.control.seqs(again.bootId), [0]);
      assertEquals(r.control.last(again.bootId)!.interfaces[0].rxPackets, 0, "a fresh start counts from zero");
      await again.stop();
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest(
  "no credential and no join token: refused with a clear message before anything is attached; a bad token too",
  () =>
    withRig(async (r) => {
      const e = await assertRejects(() => r.start({ token: false }), ConfigError);
      assertStringIncludes(e.message, `no credential for node ${r.node}`);
      assertStringIncludes(e.message, "--join-token");
      const bad = r.config();
      bad.joinToken = "ek8s-not-the-right-token-000";
      const e2 = await assertRejects(() => Agent.start(bad, { log: r.log }), ConfigError);
      assertStringIncludes(e2.message, `node ${r.node}: join refused (/api/v1/join answered 401`);
      assertStringIncludes(e2.message, "the join token is invalid, expired or revoked");
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest(
  "control plane away at the first start: the agent starts, spools, and joins and sends once it is back",
  () =>
    withRig(async (r) => {
      await r.control.down();
      const agent = await r.start();
      assertStringIncludes(r.logs.join("\n"), "cannot join yet");
      await r.tick(agent);
      await r.tick(agent);
      assertEquals([agent.spool.pending, r.control.joins], [2, 0]);
      r.control.up();
      await r.tick(agent);
      assertEquals(r.control.joins, 1);
      assertEquals(r.control.seqs(agent.bootId), [0, 1, 2]);
      assert(pathExists(`${r.stateDir}/credential.json`));
    }),
);

kernelTest(
  "join 409 at the first start (the node name is live elsewhere): the agent starts and spools, says once what an admin must do, and does not ask again at every interval",
  () =>
    withRig(async (r) => {
      r.control.nodeTaken = true;
      const agent = await r.start();
      for (let i = 0; i < 4; i++) await r.tick(agent);
      const joinAsks = r.control.requests.filter((q) => q.path === "/api/v1/join");
      assertEquals([agent.spool.pending, joinAsks.map((q) => q.status)], [4, [409]]);
      assertEquals(r.control.requests.filter((q) => q.path === "/api/v1/ingest"), []);
      const said = r.logs.filter((l) => l.includes("join refused"));
      assertEquals(said.length, 1, r.logs.join("\n"));
      assertStringIncludes(said[0], `an admin approves its re-join (POST /api/v1/nodes/${r.node}/rejoin)`);
      assertStringIncludes(said[0], "Batches stay spooled; asking again in 30 s");
      assert(!pathExists(`${r.stateDir}/credential.json`));
    }),
);

kernelTest(
  "401: joins again once and resends the same batch; without a token the batches stay spooled and it says so",
  () =>
    withRig(async (r) => {
      const agent = await r.start();
      await r.tick(agent);
      r.control.revokeAll();
      const b = await r.tick(agent);
      assertEquals(r.control.joins, 2);
      assertEquals(r.control.requests.filter((q) => q.path === "/api/v1/ingest").map((q) => `${q.seq}:${q.status}`), [
        "0:200",
        "1:401",
        "1:200",
      ]);
      assertEquals(r.control.last(agent.bootId), b);
      const stored = JSON.parse(Deno.readTextFileSync(`${r.stateDir}/credential.json`)).credential;
      assertStringIncludes(stored, "-2", "the new credential is stored");
      await agent.stop();

      // a start without a token uses the stored credential; once it is revoked, nothing can help
      const noToken = await r.start({ token: false });
      r.control.revokeAll();
      await r.tick(noToken);
      await r.tick(noToken);
      assertEquals([noToken.spool.pending, r.control.joins], [2, 2]);
      const said = r.logs.filter((l) => l.includes("no --join-token to join again"));
      assertEquals(said.length, 1, "said once, not at every retry");
      assertStringIncludes(said[0], "credential refused (/api/v1/ingest answered 401");
      assertStringIncludes(said[0], "batches stay spooled (1, at most 1000)");
    }),
);

kernelTest(
  "400 moves the batch to the quarantine with its reason, never deletes it, and the next goes out; 429 waits for Retry-After",
  () =>
    withRig(async (r) => {
      const agent = await r.start();
      r.control.failNext(400, 2); // compact, then the same batch as plain JSON (delivery.ts): both refused
      await r.tick(agent);
      const { refusals } = agent.delivery;
      const counts = () => [agent.spool.pending, refusals.counts.invalid, refusals.quarantine.count];
      assertEquals([...counts(), r.control.batches.length], [0, 1, 1, 0]);
      const kept = [...Deno.readDirSync(`${r.stateDir}/quarantine`)].map((e) => e.name).sort();
      assertEquals(kept.length, 2, kept.join(" "));
      assertEquals(JSON.parse(Deno.readTextFileSync(`${r.stateDir}/quarantine/${kept[0]}`)).seq, 0);
      assertEquals(JSON.parse(Deno.readTextFileSync(`${r.stateDir}/quarantine/${kept[1]}`)).status, 400);
      assertStringIncludes(r.logs.join("\n"), "batch 0 of boot");
      await r.tick(agent);
      assertEquals(r.control.seqs(agent.bootId), [1]);
      assertEquals(r.control.last(agent.bootId)!.inventory!.spool.quarantined, 1, "reported in the inventory");
      await r.tick(agent);
      assertEquals(refusals.quarantine.count, 1, "not resent to the same control plane at once");
      r.control.wire = { ...r.control.wire, started: r.control.wire.started! + 1 }; // it restarted (with a fix)
      const duplicates = r.control.duplicates;
      await r.tick(agent);
      assertEquals([refusals.quarantine.count, r.control.duplicates], [0, duplicates + 1], "resent, acknowledged");
      assertEquals([...Deno.readDirSync(`${r.stateDir}/quarantine`)].length, 0);
      assertStringIncludes(r.logs.join("\n"), "accepted by the control plane now: removed");

      r.control.failNext(429, 1, { "retry-after": "1" });
      await r.tick(agent);
      const asked = r.control.requests.length;
      await r.tick(agent); // within the second: not even asked
      assertEquals([r.control.requests.length, agent.spool.pending], [asked, 2]);
      // Retry-After plus its jitter at most (control/wire/retry.ts).
      await new Promise((ok) => setTimeout(ok, 1000 * (1 + RETRY_JITTER) + 100));
      await agent.deliver();
      assertEquals([r.control.seqs(agent.bootId), agent.spool.pending], [[1, 2, 3, 4, 5], 0]);
    }),
);

kernelTest(
  "control plane failing (503) then gone: every read is spooled; when back, sent strictly in order, no gaps, exact totals",
  () =>
    withRig(async (r) => {
      const before = await interfaceStats(r.net.nsA, r.net.ifA);
      const agent = await r.start();
      await r.tick(agent);
      r.control.failAll(503);
      await ping(r.net.nsA, r.net.ipB, { count: N, size: PING_SIZE });
      for (let i = 0; i < 3; i++) await r.tick(agent);
      assertEquals(agent.spool.pending, 3);
      await r.control.down();
      await ping(r.net.nsA, r.net.ipB, { count: 7, size: PING_SIZE });
      for (let i = 0; i < 2; i++) await r.tick(agent);
      assertEquals(agent.spool.pending, 5);
      assertStringIncludes(r.logs.join("\n"), "spooling");

      r.control.failAll(null);
      r.control.up();
      await r.tick(agent);
      assertEquals(agent.spool.pending, 0);
      assertEquals(r.control.seqs(agent.bootId), [0, 1, 2, 3, 4, 5, 6]);
      const last = r.control.last(agent.bootId)!;
      assertEquals(last.inventory!.spool.pending, 5, "the last batch was made while five waited");
      const total = N + 7;
      await assertPingTotals(r, last.interfaces[0], total, before);
    }),
);

kernelTest(
  "a full spool merges the oldest batches (not the one being sent), drops none; what arrives carries the exact totals",
  () =>
    withRig(async (r) => {
      const agent = await r.start({ extra: ["--spool-max-batches", "3"] });
      await r.control.down();
      await ping(r.net.nsA, r.net.ipB, { count: 5, size: PING_SIZE });
      for (let i = 0; i < 6; i++) await r.tick(agent);
      // 0 was sent without an answer (it may have been stored): apart; 1 to 4 merged into one, carrying seq 4
      assertEquals([agent.spool.pending, agent.spool.merged, agent.spool.dropped], [3, 3, 0]);
      assertEquals(agent.spool.entries().map((e) => [e.firstSeq, e.seq]), [[0, 0], [1, 4], [5, 5]]);
      r.control.up();
      await r.tick(agent); // spools seq 6, merging 5 into 1-4, then sends
      assertEquals([agent.spool.merged, agent.spool.dropped, agent.spool.pending], [4, 0, 0]);
      assertEquals(r.control.seqs(agent.bootId), [0, 5, 6]);
      const last = r.control.last(agent.bootId)!;
      assertEquals(
        [last.inventory!.spool.pending, last.inventory!.spool.merged, last.inventory!.spool.dropped],
        [3, 3, 0],
        "as it was when the batch was made",
      );
      assertEquals(last.interfaces[0].rxPackets, 5);
    }),
);

kernelTest(
  "desired state: ifstats off detaches and unpins it (module off, no interfaces); on again attaches anew in a new epoch",
  () =>
    withRig(async (r) => {
      const agent = await r.start();
      await r.tick(agent);
      const firstBoot = agent.bootId;
      const progIds = r.control.last(firstBoot)!.inventory!.programs.filter((p) => p.module === "ifstats").map((p) =>
        p.id
      );

      r.control.setDesired({ ifstats: false });
      await r.tick(agent); // the ack carries version 2
      const off = await r.tick(agent); // applied at this read
      assertEquals(off.interfaces, []);
      assertEquals(off.inventory!.modules[0], { name: "ifstats", desired: false, state: "off" });
      assertEquals([off.inventory!.programs, off.inventory!.maps].map((l) => l.filter((x) => x.module === "ifstats")), [
        [],
        [],
      ]);
      assertEquals(await r.filters("ingress"), []);
      assertEquals(await r.filters("egress"), []);
      assertEquals(await r.hasClsact(), false);
      assert(!pathExists(r.pinDir), "pins removed");
      assertEquals(await waitProgramsGone(progIds), []);
      assertEquals(agent.bootId, firstBoot, "no counting module started: the epoch stays");
      assertEquals(JSON.parse(Deno.readTextFileSync(`${r.stateDir}/desired.json`)).desired.version, 2);

      r.control.setDesired({ ifstats: true });
      await r.tick(agent); // the ack carries version 3
      const on = await r.tick(agent); // applied at this read: attached anew, from zero
      assert(agent.bootId !== firstBoot, "a new epoch");
      assertEquals([on.bootId, on.seq, on.interfaces[0].rxPackets], [agent.bootId, 0, 0]);
      assertEquals(on.inventory!.modules[0], { name: "ifstats", desired: true, state: "on" });
      assertEquals((await r.filters("ingress")).length, 1);
      await ping(r.net.nsA, r.net.ipB, { count: N, size: PING_SIZE });
      const counted = await r.tick(agent);
      assertEquals([counted.seq, counted.interfaces[0].rxPackets, counted.interfaces[0].txBytes], [
        1,
        N,
        N * PING_FRAME,
      ]);
      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest(
  "a module that fails to load is reported as error with the verifier log; the agent keeps sending; nothing is left attached",
  () =>
    withRig(async (r) => {
      const broken = await compileBpf("ifstats_broken");
      try {
        await withTempDir("ek8s-broken-", async (bpfDir) => {
          await Deno.copyFile(broken.path, `${bpfDir}/ifstats.bpf.o`);
          for (const o of ["flows", "tcp", "drops"]) {
            await Deno.copyFile(OBJECTS.ifstats.replace("ifstats", o), `${bpfDir}/${o}.bpf.o`);
          }
          const agent = await r.start({ bpfDir });
          const b = await r.tick(agent);
          assertEquals(
            b.inventory!.modules.slice(1, 4).map((m) => `${m.name}:${m.state}`),
            ["flows:on", "tcp:on", "drops:on"],
            "the others go on",
          );
          const st = b.inventory!.modules[0];
          assertEquals([st.name, st.desired, st.state], ["ifstats", true, "error"]);
          assertStringIncludes(st.error!, "bpf_object__load");
          assertStringIncludes(st.error!, "verifier log of program 'ifstats_ingress' (head):");
          assertStringIncludes(st.error!, "invalid access to packet");
          assertEquals(b.interfaces, []);
          assertEquals(r.control.seqs(agent.bootId), [0]);
          assertEquals(await r.filters("ingress"), []);
          assertEquals(await r.hasClsact(), false);
          assert(!pathExists(r.pinDir), "no pins");
          await r.tick(agent);
          assertEquals(r.control.seqs(agent.bootId), [0, 1], "still running");
          await agent.stop();
          assertEquals(await r.assertCleanedUp(), []);
        });
      } finally {
        await broken.cleanup();
      }
    }),
);

kernelTest(
  "pins that do not fit (another agent version) are not adopted: a new epoch from zero, and the module runs",
  () =>
    withRig(async (r) => {
      const old = BpfObject.open(OBJECTS.ifstats);
      try {
        old.map("ifstats").setMaxEntries(16);
        track(old.load());
        makeDirs(r.pinDir);
        old.map("ifstats").pin(`${r.pinDir}/ifstats`);
      } finally {
        old.close();
      }
      const oldBoot = "00000000-0000-4000-8000-0000000000ee";
      Deno.writeTextFileSync(
        `${r.stateDir}/epoch.json`,
        JSON.stringify({ node: r.node, bootId: oldBoot, nextSeq: 9, modules: {} }),
      );
      r.control.setDesired({ flows: false, tcp: false, drops: false }); // ifstats the only counting module: adoption is tried
      const agent = await r.start();
      assertStringIncludes(r.logs.join("\n"), "could not adopt ifstats");
      assert(agent.bootId !== oldBoot);
      await ping(r.net.nsA, r.net.ipB, { count: 3, size: PING_SIZE });
      const b = await r.tick(agent);
      assertEquals([b.seq, b.inventory!.modules[0].state, b.interfaces[0].rxPackets], [0, "on", 3]);
      assertEquals(b.inventory!.maps[0].maxEntries, 4096, "made anew");
      assertEquals((await r.filters("ingress")).length, 1);
      await agent.stop();
      assertEquals(await r.assertCleanedUp(), []);
    }),
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
