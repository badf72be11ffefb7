// SPDX-License-Identifier: Apache-2.0
/**
 * Socket acceleration on the real kernel (accel_lab.ts: our own namespaces
 * and child cgroup; servers and clients inside it): byte-exact transfers
 * through the accelerated path with exact counters.
 */
import type { AccelRule } from "../../../control/wire/accel.ts";
import type { LbState } from "../../../control/wire/services.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { assertNoLeftovers, waitProgramsGone } from "../../testing/bpf.ts";
import { testService, waitFor } from "../lb/fixtures.ts";
import { DEFAULT_LB, LbModule } from "../lb/module.ts";
import { accelKernelTest, type AccelLab, SERVER_IP, withAccelLab } from "./accel_lab.ts";
import { AccelModule, type AccelSettings, DEFAULT_ACCEL } from "./module.ts";
import { kernelLosesWakeups } from "./policy.ts";

const PORT = 7000;
let version = 0;

/** Rule 1: service test/s1 whose backend is SERVER_IP:PORT. */
function serviceState(rules: AccelRule[] = [{ id: 1, kind: "service", namespace: "test", name: "s1" }]): LbState {
  return {
    version: ++version,
    services: [testService(1, "10.96.7.1", [{ id: 1, ip: SERVER_IP }], {}, PORT)],
    accel: rules,
  };
}

async function withModule(
  lab: AccelLab,
  settings: Partial<AccelSettings>,
  fn: (m: AccelModule) => Promise<void>,
): Promise<number[]> {
  const m = new AccelModule(lab.env(), { ...DEFAULT_ACCEL, cgroup: lab.cgroup, ...settings });
  m.start({ adopt: false });
  const ids = m.programs(false).map((p) => p.id);
  try {
    await fn(m);
  } finally {
    m.stop();
    await m.settled();
  }
  return ids;
}

const MB = 1 << 20;

accelKernelTest(
  "accel: byte-exact transfers both ways (16 MiB up, 32 MiB down, half-close) through the accelerated path; counters = connections and every byte",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT);
      const ids = await withModule(lab, { skbVerdict: "on" }, async (m) => {
        assert(m.verdict, "forced on: the pass-through SK_SKB verdict is attached");
        const attached = await lab.lab.cgroupPrograms();
        assertEquals(attached.map((p) => p.attach_type), ["cgroup_sock_ops"]);
        m.apply(serviceState());
        const r = await lab.transfer(PORT, 2, 16 * MB, 32 * MB);
        assertEquals([r.ok, r.bad], [2, []]);
        const c = m.read().accel!;
        assertEquals(c.rules.length, 1);
        const [id, conns, bytes] = c.rules[0];
        assertEquals([id, conns], [1, 2]);
        // every byte of both directions went through sk_msg redirect: what the clients sent and received
        assertEquals(bytes, r.bytesSent + r.bytesReceived);
        assertEquals(m.read().accel!.rules, [], "deltas: nothing moved since");
        const passed = m.totals().get(1)![3];
        assertEquals(passed, 0, "nothing of an accelerated socket went the normal way");
      });
      assertEquals(await lab.lab.cgroupPrograms(), [], "nothing left on the cgroup");
      assertEquals(await waitProgramsGone(ids), [], "programs unloaded");
    }),
);

accelKernelTest(
  "accel: 64 concurrent connections, small and uneven sizes; connections without a rule, or before attach, go the normal way intact",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT);
      await lab.serve(PORT + 1); // no rule covers this port
      const early = await lab.connectFirst(PORT, 8, 300_001, 1_234_567); // sockets made before the programs were attached
      await withModule(lab, {}, async (m) => {
        m.apply(serviceState());
        const [r, other, before] = await Promise.all([
          lab.transfer(PORT, 64, 100_003, 77_777),
          lab.transfer(PORT + 1, 16, 50_000, 50_000),
          early.release(),
        ]);
        assertEquals([r.ok, r.bad], [64, []]);
        assertEquals([other.ok, other.bad], [16, []]);
        assertEquals([before.ok, before.bad], [8, []]);
        const c = m.read().accel!;
        assertEquals(c.rules, [[1, 64, r.bytesSent + r.bytesReceived]], "only the 64 new connections under the rule");
      });
    }),
);

accelKernelTest(
  "accel: rules programmed by difference (a selector matching no pod, a named port, none); a port no rule covers is not accelerated",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT + 2);
      await withModule(lab, {}, async (m) => {
        m.apply(serviceState([{ id: 5, kind: "pods", namespace: "test", selector: { app: "x" } }]));
        assertEquals(m.plan!.endpoints.size, 0, "no pod of the lab carries app=x");
        m.apply(
          serviceState([{ id: 3, kind: "service", namespace: "test", name: "s1", portName: "" }, {
            id: 5,
            kind: "pods",
            namespace: "test",
            selector: { app: "x" },
          }]),
        );
        assertEquals([...m.plan!.endpoints], [[`${SERVER_IP}:${PORT}`, 3]]);
        m.apply(serviceState([]));
        assertEquals(m.plan!.endpoints.size, 0);

        m.apply(serviceState([{ id: 2, kind: "service", namespace: "test", name: "s1" }]));
        // the service's backend is on PORT, not PORT + 2: not accelerated
        const plain = await lab.transfer(PORT + 2, 4, 200_000, 200_000);
        assertEquals([plain.ok, m.read().accel!.rules], [4, []]);
      });
    }),
);

accelKernelTest(
  "accel: switching redirection off and on while 16 connections stream 8 MiB each way loses and reorders nothing (a socket that sent the normal way once stays on it)",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT);
      await withModule(lab, {}, async (m) => {
        m.apply(serviceState());
        const run = lab.transfer(PORT, 16, 8 * MB, 8 * MB);
        let flips = 0;
        let done = false;
        run.finally(() => done = true);
        await waitFor("the 16 connections accelerated", () => (m.totals().get(1)?.[0] ?? 0) === 16); // established (and inserted) while on
        while (!done) {
          m.setEnabled(flips % 2 === 1);
          flips++;
          await new Promise((r) => setTimeout(r, 7));
        }
        m.setEnabled(true);
        const r = await run;
        assertEquals([r.ok, r.bad], [16, []]);
        assert(flips > 4, `switched ${flips} times during the transfer`);
        const t = m.totals().get(1)!;
        assert(
          t[1] > 0 && t[1] <= r.bytesSent + r.bytesReceived,
          `redirected ${t[1]} bytes of ${r.bytesSent + r.bytesReceived}`,
        );
      });
    }),
);

accelKernelTest(
  "accel: the module stopped (everything detached, the sockhash freed) while 16 connections stream 8 MiB each way loses nothing",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT);
      const m = new AccelModule(lab.env(), { ...DEFAULT_ACCEL, cgroup: lab.cgroup });
      m.start({ adopt: false });
      try {
        m.apply(serviceState());
        const run = lab.transfer(PORT, 16, 8 * MB, 8 * MB);
        await new Promise((r) => setTimeout(r, 300));
        m.stop();
        const r = await run;
        assertEquals([r.ok, r.bad], [16, []]);
      } finally {
        m.stop();
      }
      assertEquals(await lab.lab.cgroupPrograms(), []);
    }),
);

accelKernelTest(
  "accel: connections to a service VIP that the socket load balancer sent to a local backend are accelerated (sockops sees the backend's address)",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT);
      const lb = new LbModule(lab.lab.env("lb"), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup: lab.cgroup });
      lb.start({ adopt: false });
      try {
        await withModule(lab, {}, async (m) => {
          const s = serviceState();
          lb.apply(s);
          m.apply(s);
          // the transfer client connects to the VIP:80 instead of the server's address
          const r = await lab.transfer(PORT, 4, 1 * MB, 2 * MB, { ip: "10.96.7.1", port: 80 });
          assertEquals([r.ok, r.bad], [4, []]);
          assertEquals(lb.read().lb!.services, [[1, 4, 0]], "the load balancer picked the backend for each");
          assertEquals(
            m.read().accel!.rules,
            [[1, 4, r.bytesSent + r.bytesReceived]],
            "and each was accelerated, every byte",
          );
        });
      } finally {
        lb.stop();
        await lb.settled();
      }
    }),
);

accelKernelTest(
  "accel: --accel-sockmap-workaround on, off and auto: the SK_SKB verdict program attached or not as asked, the choice and its reason in the log and the inventory",
  () =>
    withAccelLab(async (lab) => {
      const release = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
      const affected = kernelLosesWakeups(release);
      const cases = [
        ["on", true, "sockmap workaround on (forced on)"],
        ["off", false, "sockmap workaround off (forced off)"],
        [
          "auto",
          affected,
          `sockmap workaround ${affected ? "on" : "off"} (auto: kernel ${release} is ${
            affected ? "" : "not "
          }among those with commit 929e30f93125)`,
        ],
      ] as const;
      for (const [skbVerdict, attached, text] of cases) {
        // Only that the setting is applied: whether this kernel really loses wake-ups is apps_test.ts's to show.
        await withModule(lab, { skbVerdict }, (m) => {
          assertEquals([m.verdict, m.workaround?.on], [attached, attached], skbVerdict);
          const attach = m.programs(false).map((p) => `${p.name}: ${p.attach}`).sort();
          assertEquals(attach, [
            `accel_msg: sk_msg accel_sockets; ${text}`,
            ...(attached ? ["accel_skb: sk_skb verdict accel_sockets"] : []),
            `accel_sockops: cgroup sockops ${lab.cgroup}`,
          ]);
          assertEquals(
            lab.logs.filter((l) => l.includes("accel: attached")).at(-1),
            `accel: attached to ${lab.cgroup}; ${text}`,
          );
          return Promise.resolve();
        });
      }
    }),
);

accelKernelTest(
  "accel: a dual-stack server listening on [::] gets IPv4-mapped sockets (::ffff:a.b.c.d): 12 connections of an IPv4 client and 5 of an IPv6 one to ::ffff:SERVER_IP are accelerated, counters exact",
  () =>
    withAccelLab(async (lab) => {
      await lab.serve(PORT, "::");
      await withModule(lab, {}, async (m) => {
        m.apply(serviceState());
        const v4 = await lab.transfer(PORT, 12, 100_003, 300_007);
        assertEquals([v4.ok, v4.bad], [12, []]);
        assertEquals(m.read().accel!.rules, [[1, 12, v4.bytesSent + v4.bytesReceived]], "IPv4 client, [::] server");
        const v6 = await lab.transfer(PORT, 5, 200_001, 70_001, { ip: `::ffff:${SERVER_IP}`, port: PORT });
        assertEquals([v6.ok, v6.bad], [5, []]);
        assertEquals(m.read().accel!.rules, [[1, 5, v6.bytesSent + v6.bytesReceived]], "both ends IPv4-mapped");
        assertEquals(m.totals().get(1)![3], 0, "nothing of an accelerated socket went the normal way");
      });
    }),
);

accelKernelTest("no leftovers: no namespaces, pins or cgroups of this file", async () => {
  await assertNoLeftovers();
});
