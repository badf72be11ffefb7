// SPDX-License-Identifier: Apache-2.0
/**
 * Socket load balancing on the real kernel (lb_lab.ts: our own namespaces,
 * child cgroup and pins; clients inside the cgroup, backends served by a
 * process we run): exact numbers for what the programs do and count.
 */
import type { BackendState, LbService, LbState } from "../../../control/wire/services.ts";
import { pathExists } from "../../libbpf/mod.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../testing/assert.ts";
import { assertNoLeftovers, ownProgramIds, waitProgramsGone } from "../../testing/bpf.ts";
import { cgroup2Root } from "../../testing/kernel.ts";
import { output } from "../../testing/run.ts";
import type { StartOptions } from "../module.ts";
import { resolveLbCgroup } from "./cgroup.ts";
import { lbKernelTest, type LbLab, withLbLab } from "./lb_lab.ts";
import { DEFAULT_LB, LbModule, type LbSettings } from "./module.ts";
import { seeded, testService } from "./fixtures.ts";

const PORT = 8080;

type Spec = [backendId: number, name: string, state?: BackendState, weight?: number];

function svc(lab: LbLab, id: number, vip: string, backends: Spec[], extra: Partial<LbService> = {}): LbService {
  return testService(
    id,
    vip,
    backends.map(([bid, name, state, weight]) => ({ id: bid, ip: lab.backend(name).ip, state, weight })),
    extra,
    PORT,
  );
}

let version = 0;
const state = (...services: LbService[]): LbState => ({ version: ++version, services });

/** A started module on the lab's cgroup; stopped by `use`'s end whatever happens. */
async function withModule(
  lab: LbLab,
  settings: Partial<LbSettings>,
  fn: (m: LbModule) => Promise<void>,
  start: StartOptions = { adopt: false },
): Promise<void> {
  const m = new LbModule(lab.env(), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup: lab.cgroup.path, ...settings });
  m.start(start);
  try {
    await fn(m);
  } finally {
    m.stop();
    await m.settled();
  }
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Every count the module has to report, over as many readings as it takes (counts set aside at applies come first). */
function drain(
  m: LbModule,
): { services: Map<number, [number, number]>; backends: Map<number, number>; readings: number } {
  const services = new Map<number, [number, number]>(), backends = new Map<number, number>();
  for (let readings = 1;; readings++) {
    const c = m.read().lb!;
    if (!c.services.length && !c.backends.length) return { services, backends, readings };
    for (const [id, n, r] of c.services) {
      services.set(id, [(services.get(id)?.[0] ?? 0) + n, (services.get(id)?.[1] ?? 0) + r]);
    }
    for (const [id, n] of c.backends) backends.set(id, (backends.get(id) ?? 0) + n);
  }
}

/** Everything the module made is gone: nothing on the cgroup, no pins, its programs unloaded. */
async function assertNothingLeft(lab: LbLab, progIds: number[]): Promise<void> {
  assertEquals(await lab.cgroupPrograms(), [], "nothing attached to the cgroup");
  assert(!pathExists(lab.env().pinDir), `no pins left in ${lab.env().pinDir}`);
  assertEquals(await waitProgramsGone(progIds), [], "programs unloaded");
}

lbKernelTest(
  "lb: N TCP connections to the VIP all land on the table's backends; per-backend counters = what each accepted; getpeername is the VIP; only the cgroup is translated",
  () =>
    withLbLab(3, async (lab) => {
      const server = await lab.serve(PORT);
      let progIds: number[] = [];
      await withModule(lab, {}, async (m) => {
        const attached = await lab.cgroupPrograms();
        assertEquals(attached.map((p) => p.attach_type).sort(), [
          "cgroup_inet4_connect",
          "cgroup_inet4_getpeername",
          "cgroup_inet6_connect",
          "cgroup_inet6_getpeername",
          "cgroup_udp4_recvmsg",
          "cgroup_udp4_sendmsg",
          "cgroup_udp6_recvmsg",
        ]);
        progIds = attached.map((p) => p.id);
        const vip = "10.96.0.10";
        const s = state(svc(lab, 1, vip, [[11, "b1"], [12, "b2"], [13, "b3"]]));
        assertEquals(m.apply(s).programmed, 1);

        const N = 300;
        const r = await lab.client("tcp", vip, 80, N);
        const accepted = await server.stop();
        assertEquals(r.errors, {});
        assertEquals(r.peers, { [`${vip}:80`]: N }, "the application sees the VIP");
        assertEquals(sum(r.names), N);
        for (const name of ["b1", "b2", "b3"]) {
          assertEquals(accepted[name].tcp, r.names[name] ?? 0, `${name} accepted what the client was told`);
          assert(
            accepted[name].tcp > N / 6,
            `${name} got ${accepted[name].tcp} of ${N}: picked at random from the whole table`,
          );
        }
        const c = m.read().lb!;
        assertEquals(c, {
          version: s.version,
          services: [[1, N, 0]],
          backends: [[11, accepted.b1.tcp], [12, accepted.b2.tcp], [13, accepted.b3.tcp]],
        });
        assertEquals(m.read().lb, { version: s.version, services: [], backends: [] }, "only what moved");

        // a process outside the cgroup is not translated: the VIP has no route in the namespace
        const outside = await lab.client("tcp", vip, 80, 2, { cgroup: false });
        assertEquals(outside.errors, { ENETUNREACH: 2 });
        assertEquals(m.read().lb!.services, []);
        const inv = m.programs(false);
        assertEquals(
          inv.map((p) => p.attach).sort(),
          ["connect4", "connect6", "getpeername4", "getpeername6", "recvmsg4", "recvmsg6", "sendmsg4"].map((h) =>
            `cgroup ${h} ${lab.cgroup.path}`
          ),
        );
        const maps = Object.fromEntries(m.maps().map((x) => [x.name, x.entries]));
        assertEquals([maps.lb_services, maps.lb_backends, maps.lb_maglev], [1, 3, 32]);
        assert(maps.lb_reverse >= N, "a reverse entry per socket");
      });
      await assertNothingLeft(lab, progIds);
    }),
);

lbKernelTest(
  "lb: client affinity pins a client (network namespace) to one backend; a terminating backend is never picked from affinity",
  () =>
    withLbLab(3, async (lab) => {
      const server = await lab.serve(PORT);
      await withModule(lab, {}, async (m) => {
        const vip = "10.96.0.11";
        const backends: Spec[] = [[21, "b1"], [22, "b2"], [23, "b3"]];
        m.apply(state(svc(lab, 2, vip, backends)));
        const spread = await lab.client("tcp", vip, 80, 40);
        assert(
          Object.keys(spread.names).length >= 2,
          `without affinity 40 connections spread: ${JSON.stringify(spread.names)}`,
        );

        m.apply(state(svc(lab, 2, vip, backends, { affinity: "client", affinityTimeoutS: 300 })));
        const a = await lab.client("tcp", vip, 80, 40);
        const b = await lab.client("tcp", vip, 80, 40); // another process, the same namespace: the same client
        assertEquals(Object.keys(a.names).length, 1, JSON.stringify(a.names));
        assertEquals(b.names, a.names);
        const pinned = Object.keys(a.names)[0];
        const pinnedId = backends.find(([, n]) => n === pinned)![0];

        // the pinned backend starts terminating: its clients move, and stick to their new backend
        m.apply(state(svc(
          lab,
          2,
          vip,
          backends.map(([id, n]) => [id, n, id === pinnedId ? "terminating" : "active"] as Spec),
          { affinity: "client", affinityTimeoutS: 300 },
        )));
        const c = await lab.client("tcp", vip, 80, 40);
        assertEquals(Object.keys(c.names).length, 1, JSON.stringify(c.names));
        assert(!(pinned in c.names), `moved off ${pinned}: ${JSON.stringify(c.names)}`);
        assertEquals(sum(a.errors) + sum(b.errors) + sum(c.errors), 0);
        const accepted = await server.stop();
        assertEquals(accepted[pinned].tcp, (spread.names[pinned] ?? 0) + 80);
      });
    }),
);

lbKernelTest(
  "lb: no usable backend: connect() and sendto() fail with ECONNREFUSED at once, and the refused counter equals the attempts",
  () =>
    withLbLab(2, async (lab) => {
      await withModule(lab, {}, async (m) => {
        const s = state(
          svc(lab, 3, "10.96.0.12", [[31, "b1", "terminating"], [32, "b2", "unhealthy"]]),
          svc(lab, 4, "10.96.0.13", [], { protocol: "UDP" }),
        );
        m.apply(s);
        const tcp = await lab.client("tcp", "10.96.0.12", 80, 25);
        assertEquals(tcp.errors, { ECONNREFUSED: 25 });
        assert(tcp.maxMs < 500, `refused at once (slowest ${tcp.maxMs.toFixed(1)} ms), not after a SYN timeout`);
        const udp = await lab.client("udp", "10.96.0.13", 80, 7);
        assertEquals(udp.errors, { ECONNREFUSED: 7 });
        assertEquals(m.read().lb, { version: s.version, services: [[3, 0, 25], [4, 0, 7]], backends: [] });
      });
    }),
);

lbKernelTest(
  "lb: UDP: replies to unconnected sendto() come from the VIP; connected sockets see the VIP as peer and source",
  () =>
    withLbLab(3, async (lab) => {
      const server = await lab.serve(PORT);
      await withModule(lab, {}, async (m) => {
        const vip = "10.96.0.14";
        const s = state(svc(lab, 5, vip, [[51, "b1"], [52, "b2"], [53, "b3"]], { protocol: "UDP", port: 53 }));
        m.apply(s);
        const N = 60, C = 12;
        const u = await lab.client("udp", vip, 53, N);
        assertEquals(u.errors, {});
        assertEquals(u.sources, { [`${vip}:53`]: N }, "every reply appears to come from the VIP");
        assert(Object.keys(u.names).length >= 2, `each datagram picks anew: ${JSON.stringify(u.names)}`);
        const c = await lab.client("udp-connected", vip, 53, C);
        assertEquals(c.errors, {});
        assertEquals([c.peers, c.sources], [{ [`${vip}:53`]: C }, { [`${vip}:53`]: C }]);
        const got = await server.stop();
        const counters = m.read().lb!;
        assertEquals(counters.services, [[5, N + C, 0]]);
        assertEquals(counters.backends, [[51, got.b1.udp], [52, got.b2.udp], [53, got.b3.udp]]);
        assertEquals(got.b1.udp + got.b2.udp + got.b3.udp, N + C);
      });
    }),
);

lbKernelTest(
  "lb: AF_INET6 sockets reach IPv4 services as ::ffff:VIP (TCP, unconnected and connected UDP) and see the VIP",
  () =>
    withLbLab(2, async (lab) => {
      const server = await lab.serve(PORT);
      await withModule(lab, {}, async (m) => {
        const s = state(
          svc(lab, 8, "10.96.0.17", [[81, "b1"], [82, "b2"]]),
          svc(lab, 9, "10.96.0.17", [[91, "b1"], [92, "b2"]], { protocol: "UDP" }),
        );
        m.apply(s);
        const mapped = "::ffff:10.96.0.17:80";
        const tcp = await lab.client("tcp6", "10.96.0.17", 80, 20);
        assertEquals([tcp.errors, tcp.peers, sum(tcp.names)], [{}, { [mapped]: 20 }, 20]);
        const udp = await lab.client("udp6", "10.96.0.17", 80, 20);
        assertEquals([udp.errors, udp.sources, sum(udp.names)], [{}, { [mapped]: 20 }, 20]);
        const conn = await lab.client("udp-connected6", "10.96.0.17", 80, 5);
        assertEquals([conn.errors, conn.peers, conn.sources], [{}, { [mapped]: 5 }, { [mapped]: 5 }]);
        const got = await server.stop();
        assertEquals(m.read().lb!.services, [[8, 20, 0], [9, 25, 0]]);
        assertEquals(got.b1.tcp + got.b2.tcp, 20);
        assertEquals(got.b1.udp + got.b2.udp, 25);
        m.apply(state(svc(lab, 8, "10.96.0.17", [[81, "b1", "terminating"]])));
        assertEquals((await lab.client("tcp6", "10.96.0.17", 80, 3)).errors, { ECONNREFUSED: 3 });
      });
    }),
);

lbKernelTest(
  "lb: tables swapped under running connect loops (backend ids reused across services) never fail or misroute a connection",
  () =>
    withLbLab(5, async (lab) => {
      const server = await lab.serve(PORT);
      // a small pool: ranges are reused as soon as their quarantine allows
      await withModule(lab, { poolSlots: 1 << 15 }, async (m) => {
        const S = ["b1", "b2", "b3"], T = ["b4", "b5"];
        // ids as the control plane hands them out: the smallest free, kept while the same backend stays
        const ids = new Map<string, number>();
        const assign = (svcId: number, names: string[]) => {
          for (const k of [...ids.keys()]) {
            if (k.startsWith(`${svcId}/`) && !names.includes(k.split("/")[1])) ids.delete(k);
          }
          for (const n of names) {
            if (ids.has(`${svcId}/${n}`)) continue;
            let id = 1;
            while ([...ids.values()].includes(id)) id++;
            ids.set(`${svcId}/${n}`, id);
          }
          return names.map((n): Spec => [ids.get(`${svcId}/${n}`)!, n, "active", 1 + (n.charCodeAt(1) % 3)]);
        };
        const rnd = seeded(5);
        const subset = (all: string[]) => {
          const s = all.filter(() => rnd(2) === 0);
          return s.length ? s : [all[rnd(all.length)]];
        };
        const both = (s: string[], t: string[]) => {
          const tt = assign(2, t); // T first this time or S first: both orders reuse ids
          return state(svc(lab, 1, "10.96.1.1", assign(1, s)), svc(lab, 2, "10.96.1.2", tt));
        };
        m.apply(both(S, T));
        const loopS = lab.spawnClient("loop", "10.96.1.1", 80, 30);
        const loopT = lab.spawnClient("loop", "10.96.1.2", 80, 30);
        let swaps = 0, spares = 0;
        for (const end = Date.now() + 4000; Date.now() < end; swaps++) {
          const s = both(subset(S), subset(T));
          m.apply(s);
          for (const x of s.services) for (const b of x.backends) if (m.programmer!.slotOf(b.id, b) !== b.id) spares++;
          await new Promise((r) => setTimeout(r, 20 + rnd(40)));
        }
        await lab.stopLoops();
        const [rs, rt] = [await loopS.result(), await loopT.result()];
        assertEquals([rs.errors, rt.errors], [{}, {}], "no connection failed");
        assert(
          Object.keys(rs.names).every((n) => S.includes(n)),
          `S reached only its backends: ${JSON.stringify(rs.names)}`,
        );
        assert(
          Object.keys(rt.names).every((n) => T.includes(n)),
          `T reached only its backends: ${JSON.stringify(rt.names)}`,
        );
        assert(rs.count > 100 && rt.count > 100, `connections made during ${swaps} swaps: ${rs.count}, ${rt.count}`);
        const accepted = await server.stop();
        let total = 0;
        for (const n of [...S, ...T]) total += accepted[n].tcp;
        assertEquals(total, rs.count + rt.count);
        const counted = drain(m);
        assertEquals([counted.services.get(1)?.[0], counted.services.get(2)?.[0]], [rs.count, rt.count]);
        assertEquals([...counted.backends.values()].reduce((a, b) => a + b, 0), total, "per backend too");
        const changed = lab.logs.map((l) => Number(/, (\d+) changed/.exec(l)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
        assert(swaps > 40 && changed > 40, `${swaps} versions, ${changed} table swaps`);
        assert(spares > 0, "ids came back with another address while their old slot was in quarantine");
        console.error(
          `${
            rs.count + rt.count
          } connections during ${swaps} versions: ${changed} table swaps, ${spares} backends in a spare slot`,
        );
      });
    }),
);

lbKernelTest(
  "lb: restart after a crash adopts the pins: balancing goes on with no agent, the new programs replace the old in the same links, nothing is rewritten",
  () =>
    withLbLab(3, async (lab) => {
      const server = await lab.serve(PORT);
      const vip = "10.96.0.15";
      const backends: Spec[] = [[61, "b1"], [62, "b2"], [63, "b3"]];
      const s = state(svc(lab, 6, vip, backends, { affinity: "client" }));
      const first = new LbModule(lab.env(), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup: lab.cgroup.path });
      let second: LbModule | null = null;
      try {
        first.start({ adopt: false });
        first.apply(s);
        const before = await lab.cgroupPrograms();
        const record = first.record();
        const r1 = await lab.client("tcp", vip, 80, 10);
        first.release(); // as kill -9 would: nothing detached, nothing unpinned

        assertEquals(await lab.cgroupPrograms(), before, "still attached");
        const gap = await lab.client("tcp", vip, 80, 10); // no agent runs
        assertEquals([gap.errors, gap.names], [{}, r1.names], "balanced, with the same affinity, while no agent ran");

        second = new LbModule(lab.env(), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup: lab.cgroup.path });
        second.start({ adopt: true, previous: record });
        const after = await lab.cgroupPrograms();
        assertEquals(after.length, 7, "the same seven links, none added");
        assert(after.every((p) => !before.some((b) => b.id === p.id)), "running the new programs");
        assertEquals(await waitProgramsGone(before.map((p) => p.id)), [], "the old programs are gone");
        const report = second.apply({ ...s, version: s.version + 1 });
        assertEquals(
          [report.programmed, report.removed],
          [0, 0],
          "the adopted table is the one it computes: kept as it is",
        );
        assertEquals(second.read().lb!.services, [], "what the dead agent's programs counted was its to report");

        const r2 = await lab.client("tcp", vip, 80, 10);
        assertEquals([r2.errors, r2.names], [{}, r1.names], "affinity survived the restart");
        assertEquals(second.read().lb!.services, [[6, 10, 0]]);
        await server.stop();
        const ids = after.map((p) => p.id);
        second.stop();
        await second.settled();
        second = null;
        await assertNothingLeft(lab, ids);
      } finally {
        second?.stop();
        first.stop(); // harmless after release
      }
    }),
);

lbKernelTest(
  "lb: an adoption that cannot reuse the pins (another pool size) starts from empty maps and leaves one set of links",
  () =>
    withLbLab(1, async (lab) => {
      const first = new LbModule(lab.env(), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup: lab.cgroup.path });
      first.start({ adopt: false });
      first.apply(state(svc(lab, 7, "10.96.0.16", [[71, "b1"]])));
      const record = first.record();
      first.release();
      await withModule(lab, { poolSlots: 1 << 17 }, async (m) => {
        assertStringIncludes(lab.logs.join("\n"), "cannot adopt the pinned maps and links");
        assertEquals((await lab.cgroupPrograms()).length, 7);
        assertEquals(m.programmer!.services, 0);
      }, { adopt: true, previous: record });
      assertEquals(await lab.cgroupPrograms(), []);
    }),
);

lbKernelTest("lb: 10,000 services are programmed (batched writes) and each answers", () =>
  withLbLab(2, async (lab) => {
    const server = await lab.serve(PORT);
    await withModule(lab, { poolSlots: 1 << 22 }, async (m) => {
      const services: LbService[] = [];
      const vip = (i: number) => `10.96.${i >> 8}.${i & 0xff}`;
      for (let i = 1; i <= 10_000; i++) services.push(svc(lab, i, vip(i), [[2 * i - 1, "b1"], [2 * i, "b2"]]));
      const t0 = performance.now();
      const report = m.apply(state(...services));
      console.error(`programmed 10,000 services in ${Math.round(performance.now() - t0)} ms`);
      assertEquals([report.programmed, report.unplaced.length], [10_000, 0]);
      const maps = Object.fromEntries(m.maps().map((x) => [x.name, x.entries]));
      assertEquals([maps.lb_services, maps.lb_backends, maps.lb_maglev], [10_000, 20_000, 10_000 * 16]);
      for (const i of [1, 4321, 10_000]) {
        const r = await lab.client("tcp", vip(i), 80, 5);
        assertEquals([r.errors, sum(r.names)], [{}, 5], `service ${i}`);
      }
      await server.stop();
      const c = m.read().lb!;
      assertEquals(c.services, [[1, 5, 0], [4321, 5, 0], [10_000, 5, 0]]);
      // and removing them all again
      assertEquals(m.apply(state()).removed, 10_000);
    });
  }));

lbKernelTest(
  "lb: the cgroup must be given, exist, and not be the root; nothing is attached otherwise",
  () =>
    withLbLab(1, async (lab) => {
      const root = cgroup2Root()!;
      assertThrows(() => resolveLbCgroup(undefined), Error, "set --lb-cgroup");
      assertThrows(() => resolveLbCgroup(root), Error, "refused");
      assertThrows(() => resolveLbCgroup(`${root}/`), Error, "refused");
      assertThrows(() => resolveLbCgroup("/"), Error, "not under a cgroup v2 mount");
      assertThrows(() => resolveLbCgroup(`${root}/ek8s-no-such-cgroup`), Error, "no such cgroup directory");
      assertThrows(() => resolveLbCgroup(`${lab.cgroup.path}/..`), Error, '".."');
      // the root cgroup seen through a path that is not a mount point in the list: refused by its inode
      assertThrows(() => resolveLbCgroup(root, [root.split("/").slice(0, -1).join("/")]), Error, "is the root cgroup");
      assertEquals(resolveLbCgroup(lab.cgroup.path.slice(root.length + 1)), lab.cgroup.path, "relative to the mount");
      assertEquals(resolveLbCgroup(lab.cgroup.path), lab.cgroup.path);

      // Ours only: programs this process holds, and lb programs on the root cgroup that were not there before.
      const rootLb = async () =>
        (JSON.parse((await output(["bpftool", "cgroup", "show", root, "-j"])).trim() || "[]") as {
          id: number;
          name: string;
        }[]).filter((p) => p.name.startsWith("lb_")).map((p) => p.id);
      const before = ownProgramIds(), rootBefore = await rootLb();
      for (const cgroup of [undefined, root]) {
        const m = new LbModule(lab.env(), { ...DEFAULT_LB, poolSlots: 1 << 16, cgroup });
        assertThrows(() => m.start({ adopt: false }), Error, "--lb-cgroup");
      }
      assertEquals((await rootLb()).filter((id) => !rootBefore.includes(id)), [], "nothing attached to the root");
      assertEquals([...ownProgramIds()].filter((id) => !before.has(id)).length, 0, "nothing loaded");
    }),
);

lbKernelTest("no leftovers: no namespaces, pins or cgroups of this file", async () => {
  await assertNoLeftovers();
});
