// SPDX-License-Identifier: Apache-2.0
/** The module manager with stand-in modules: versions applied once, errors reported, unsupported names. */
import {
  DEFAULT_MODULES,
  type DesiredState,
  type ModuleName,
  MODULES,
  type ModuleStatus,
} from "../../control/wire/batch.ts";
import { assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { describeError, ModuleManager } from "./manager.ts";
import type { Module, Reading, StartOptions } from "./module.ts";

class StandIn implements Module {
  constructor(readonly name: ModuleName = "ifstats") {}
  readonly counting = true;
  calls: string[] = [];
  failStart: Error | null = null;
  pins = false;
  hasPins() {
    return this.pins;
  }
  start(o: StartOptions) {
    this.calls.push(`start${o.adopt ? " adopt" : ""}`);
    if (this.failStart) throw this.failStart;
  }
  stop() {
    this.calls.push("stop");
  }
  clean() {
    this.calls.push("clean");
  }
  record() {
    return { r: 1 };
  }
  read(): Reading {
    return {
      interfaces: [{ ifname: "ek8s0", ifindex: 2, rxPackets: 1, rxBytes: 2, txPackets: 3, txBytes: 4, drops: 0 }],
    };
  }
  programs() {
    return [];
  }
  maps() {
    return [];
  }
}

const desired = (version: number, ifstats: boolean): DesiredState => ({
  version,
  modules: { ...DEFAULT_MODULES, ifstats },
});

Deno.test("manager: each desired version is applied once; off stops, on starts fresh after a new epoch", () => {
  const m = new StandIn();
  const mgr = new ModuleManager([m], null, () => {});
  mgr.startAll(false);
  assertEquals(m.calls, ["start"]);
  let epochs = 0;
  const bump = () => epochs++;
  assertEquals(mgr.offer(desired(3, false)), true);
  assertEquals(mgr.offer(desired(3, false)), false, "same version pending");
  assertEquals(mgr.apply(bump), true);
  assertEquals(mgr.apply(bump), false, "nothing pending");
  assertEquals(mgr.offer(desired(3, false)), false, "same version applied");
  assertEquals(mgr.read(), { interfaces: [] });
  assertEquals(mgr.records(), {});
  mgr.offer(desired(4, true));
  mgr.apply(bump);
  assertEquals([m.calls, epochs], [["start", "stop", "start"], 1]);
  assertEquals(mgr.read().interfaces.length, 1);
  assertEquals(mgr.records(), { ifstats: { r: 1 } });
  // a control plane whose database was reset counts from 1 again: a different version is applied
  mgr.offer(desired(1, false));
  mgr.apply(bump);
  assertEquals(m.calls.at(-1), "stop");
});

Deno.test("manager: a module whose kernel lacks a feature is not started and says what is missing", () => {
  const m = new StandIn();
  const logs: string[] = [];
  let lacks = ["helper loop (Linux 5.17)"];
  const mgr = new ModuleManager([m], desired(1, true), (l) => logs.push(l), (name) => name === "ifstats" ? lacks : []);
  assertEquals(mgr.startAll(false), [], "not a failed start: nothing to begin a new epoch for");
  assertEquals(m.calls, []);
  const unsupported: ModuleStatus = {
    name: "ifstats",
    desired: true,
    state: "unsupported",
    error: "this kernel lacks what the module's programs need: helper loop (Linux 5.17)",
  };
  assertEquals(mgr.statuses()[0], unsupported);
  assertEquals(logs, [`module ifstats: not started: ${unsupported.error}`]);
  mgr.offer(desired(2, false));
  mgr.apply(() => {});
  assertEquals(mgr.statuses()[0], { name: "ifstats", desired: false, state: "off" });
  lacks = []; // e.g. the objects of an upgrade that no longer need it
  mgr.offer(desired(3, true));
  mgr.apply(() => {});
  assertEquals([m.calls, mgr.statuses()[0].state], [["start"], "on"]);
});

Deno.test("manager: statuses name every module; those without an implementation are unsupported", () => {
  const mgr = new ModuleManager([new StandIn()], desired(7, true), () => {});
  mgr.startAll(false);
  const st = mgr.statuses();
  assertEquals(st.map((s) => s.name), [...MODULES]);
  assertEquals(st[0], { name: "ifstats", desired: true, state: "on" });
  assertEquals(st.slice(1).map((s) => s.state), MODULES.slice(1).map(() => "unsupported"));
  assertEquals(st.find((s) => s.name === "lb")?.desired, false);
});

Deno.test("manager: a failed start is state error with the reason until the next version; switching off clears it", () => {
  const m = new StandIn();
  m.failStart = new Error("bpf_object__load(ifstats.bpf.o): Permission denied (EACCES)");
  const logs: string[] = [];
  const mgr = new ModuleManager([m], null, (l) => logs.push(l));
  mgr.startAll(false);
  assertEquals(mgr.statuses()[0], {
    name: "ifstats",
    desired: true,
    state: "error",
    error: "bpf_object__load(ifstats.bpf.o): Permission denied (EACCES)",
  });
  assertStringIncludes(logs.join("\n"), "module ifstats: cannot start");
  m.failStart = null;
  mgr.offer(desired(2, true));
  mgr.apply(() => {});
  assertEquals(mgr.statuses()[0].state, "on", "retried with the new version");
  m.failStart = new Error("again");
  mgr.offer(desired(3, false));
  mgr.apply(() => {});
  mgr.offer(desired(4, true));
  mgr.apply(() => {});
  assertEquals(mgr.statuses()[0].state, "error");
  mgr.offer(desired(5, false));
  mgr.apply(() => {});
  assertEquals(mgr.statuses()[0], { name: "ifstats", desired: false, state: "off" });
});

Deno.test("manager: adoption needs the pins of every counting module to start; unwanted modules are cleaned up", () => {
  const m = new StandIn();
  const mgr = new ModuleManager([m], desired(1, true), () => {});
  assertEquals(mgr.canAdopt(), false);
  m.pins = true;
  assertEquals(mgr.canAdopt(), true);
  mgr.startAll(true, { ifstats: { r: 0 } });
  assertEquals(m.calls, ["start adopt"]);
  const off = new StandIn();
  new ModuleManager([off], desired(1, false), () => {}).startAll(false);
  assertEquals(off.calls, ["clean"]);
});

/** A monitoring stand-in: pod drops and cut records that only grow, a read that can fail. */
class Drops implements Module {
  readonly name = "drops" as const;
  readonly counting = false;
  total = 0;
  cut = 0;
  changed = 0;
  fail = false;
  hasPins() {
    return false;
  }
  start() {}
  stop() {}
  clean() {}
  record() {
    return {};
  }
  read(): Reading {
    if (this.fail) throw new Error("map gone");
    this.total += 2;
    return {
      drops: [{ reason: "NO_SOCKET", packets: 2, bytes: 80 }],
      podDrops: new Map([["u1", this.total]]),
      monitoring: { dropRecordsCut: this.cut },
    };
  }
  podsChanged() {
    this.changed++;
  }
  recordsCut(n: number) {
    this.cut += n;
  }
  programs() {
    return [];
  }
  maps() {
    return [];
  }
}

Deno.test("manager: readings merge; a module switched off (or failing to read) keeps its cumulative parts, so they never go down", () => {
  const ifs = new StandIn(), drops = new Drops();
  const logs: string[] = [];
  const mgr = new ModuleManager([ifs, drops], desired(1, true), (l) => logs.push(l));
  mgr.startAll(false);
  mgr.recordsCut("drops", 3);
  mgr.recordsCut("flows", 5); // no such module here: nothing to charge
  mgr.podsChanged();
  let r = mgr.read();
  assertEquals([r.interfaces.length, r.drops?.length, r.podDrops?.get("u1"), r.monitoring, drops.changed], [1, 1, 2, {
    dropRecordsCut: 3,
  }, 1]);
  mgr.offer({ version: 2, modules: { ...DEFAULT_MODULES, drops: false } });
  mgr.apply(() => {});
  r = mgr.read();
  assertEquals(
    [r.drops, r.podDrops?.get("u1"), r.monitoring],
    [undefined, 2, { dropRecordsCut: 3 }],
    "records gone, totals stand",
  );
  mgr.offer({ version: 3, modules: { ...DEFAULT_MODULES, drops: true } });
  mgr.apply(() => {});
  drops.fail = true;
  r = mgr.read();
  assertEquals([r.interfaces.length, r.podDrops?.get("u1")], [1, 2], "the others' readings and the last totals");
  assertStringIncludes(logs.join("\n"), "module drops: read failed: map gone");
});

Deno.test("describeError: an AggregateError lists every cause", () => {
  const e = new AggregateError([new Error("first"), new Error("second")], "two things");
  assertEquals(describeError(e), "two things\nfirst\nsecond");
});

/** A stand-in module with release() (its pins outlive the agent). */
class Keeper extends StandIn {
  handOver: boolean[] = [];
  release() {
    this.calls.push("release");
  }
  override record(handOver = false) {
    this.handOver.push(handOver);
    return { r: 2 };
  }
}

Deno.test("manager: releaseAll lets modules with release() go attached, stops the others; records(true) asks for the hand-over record", () => {
  const stopped = new StandIn(), kept = new Keeper("lb");
  const mgr = new ModuleManager([stopped, kept], desired(1, true), () => {});
  mgr.offer({ version: 2, modules: { ...DEFAULT_MODULES, ifstats: true, lb: true } });
  mgr.apply(() => {});
  assertEquals(mgr.records(true), { ifstats: { r: 1 }, lb: { r: 2 } });
  assertEquals(kept.handOver, [true]);
  mgr.releaseAll();
  assertEquals([stopped.calls.at(-1), kept.calls.at(-1)], ["stop", "release"]);
  assertEquals(kept.calls.includes("stop"), false, "a released module is never detached");
  assertEquals(mgr.statuses().filter((s) => s.state === "on"), [], "both off: nothing read or recorded any more");
  assertEquals(mgr.records(), {});
});

Deno.test("manager: the deltas of the load-balancing modules (lb, accel, gateway) reach the batch while they run", () => {
  class Delta extends StandIn {
    override read(): Reading {
      const version = 3;
      if (this.name === "lb") return { lb: { version, services: [[1, 2, 0]], backends: [] } } as Reading;
      if (this.name === "accel") return { accel: { version, rules: [[1, 1, 10]] } } as Reading;
      return { gateway: { version, services: [[1, 1, 2, 3, 4]], flows: 1, evicted: 0, noBackend: 0 } } as Reading;
    }
  }
  const mods = (["lb", "accel", "gateway"] as const).map((n) => new Delta(n));
  const mgr = new ModuleManager(mods, {
    version: 1,
    modules: { ...DEFAULT_MODULES, lb: true, accel: true, gateway: true },
  }, () => {});
  mgr.startAll(false);
  const r = mgr.read();
  assertEquals([r.lb?.services, r.accel?.rules, r.gateway?.services], [[[1, 2, 0]], [[1, 1, 10]], [[1, 1, 2, 3, 4]]]);
});
