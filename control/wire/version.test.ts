// SPDX-License-Identifier: Apache-2.0
/** The rule's pure parts: which versions are accepted, which a batch can be written as, and how. */
import { describe, expect, it } from "vitest";
import { DEFAULT_MODULES, DesiredState, DesiredStateAnswer, MODULES } from "./batch.ts";
import {
  acceptedWireVersions,
  ADDED_IN,
  desiredForWireVersion,
  downgradeBatch,
  fieldsNewerThan,
  reachableVersion,
  WIRE_VERSION,
  wireVersionFromEnv,
} from "./version.ts";

/** A history for the tests: 2 and 3 added fields, 4 changed something else. */
const HISTORY = { 2: [["a"]], 3: [["inventory", "b"], ["c"]] };

describe("wire versions", () => {
  it("a control plane of N accepts N−1 and N; the first version only itself", () => {
    expect(acceptedWireVersions(1)).toEqual([1]);
    expect(acceptedWireVersions(2)).toEqual([1, 2]);
    expect(acceptedWireVersions(7)).toEqual([6, 7]);
  });

  it("a batch reaches the newest accepted version down its chain of additions, never up, never across a change", () => {
    expect(reachableVersion(3, [1, 2], HISTORY)).toBe(2);
    expect(reachableVersion(3, [1], HISTORY)).toBe(1);
    expect(reachableVersion(3, [3, 4], HISTORY)).toBe(3);
    expect(reachableVersion(2, [3, 4], HISTORY)).toBeUndefined(); // older than accepted: the control plane must read it
    expect(reachableVersion(4, [2, 3], HISTORY)).toBeUndefined(); // 4 has no additions-only entry
  });

  it("downgrading leaves out exactly the fields added since, sets v, and leaves the original alone", () => {
    const b = { v: 3, a: 1, c: 2, keep: 3, inventory: { b: 4, other: 5 } };
    expect(downgradeBatch(b, 2, HISTORY)).toEqual({ v: 2, a: 1, keep: 3, inventory: { other: 5 } });
    expect(downgradeBatch(b, 1, HISTORY)).toEqual({ v: 1, keep: 3, inventory: { other: 5 } });
    expect(b).toEqual({ v: 3, a: 1, c: 2, keep: 3, inventory: { b: 4, other: 5 } });
    expect(downgradeBatch({ v: 4 }, 3, HISTORY)).toBeUndefined();
    expect(downgradeBatch({ v: 2 }, 3, HISTORY)).toBeUndefined();
  });

  it("names the fields a batch carries that a version after its own added", () => {
    expect(fieldsNewerThan({ v: 1, a: 1, inventory: { b: 2 } }, 1, HISTORY)).toEqual([["a"], ["inventory", "b"]]);
    expect(fieldsNewerThan({ v: 3, a: 1, inventory: { b: 2 } }, 3, HISTORY)).toEqual([]);
  });

  it("every version after the first has an entry in the real history (each only added fields, or none)", () => {
    expect(Object.keys(ADDED_IN).map(Number)).toEqual(Array.from({ length: WIRE_VERSION - 1 }, (_, i) => i + 2));
    expect(ADDED_IN[4]).toEqual([]); // 4 may travel compact; its content is 3's
  });

  it("a version that added nothing (4) is written as the one before by setting v alone", () => {
    const b = { v: 4, node: "n", gateway: { frontends: [] }, inventory: { spool: { merged: 1 } } };
    expect(downgradeBatch(b, 3)).toEqual({ ...b, v: 3 });
    expect(reachableVersion(4, [2, 3])).toBe(3);
    expect(reachableVersion(4, [3, 4])).toBe(4);
    expect(fieldsNewerThan(b, 3)).toEqual([]);
    // Its empty entry is an entry: "added nothing", not "changed something else" (no entry: not downgradable).
    expect(downgradeBatch(b, 3, { ...HISTORY, 4: [] })).toEqual({ ...b, v: 3 });
    expect(downgradeBatch(b, 3, HISTORY)).toBeUndefined();
  });

  it("a field of a record (5: drops' service) is named with *, left out of every record, and nowhere else", () => {
    const drops = [
      { pod: "a", reason: "NO_SOCKET", packets: 1, bytes: 60, service: "shop/web" },
      { pod: "b", reason: "NO_SOCKET", packets: 2, bytes: 120 },
      { pod: "c", reason: "OTHER", packets: 3, bytes: 180, service: "shop/db" },
    ];
    const b = { v: 5, node: "n", service: "kept", inventory: { service: "kept" }, drops };
    expect(fieldsNewerThan(b, 4)).toEqual([["drops", 0, "service"]]); // where it is first found
    expect(fieldsNewerThan({ ...b, drops: drops.slice(1) }, 4)).toEqual([["drops", 1, "service"]]);
    expect(fieldsNewerThan({ ...b, drops: drops.slice(1, 2) }, 4)).toEqual([]);
    expect(fieldsNewerThan({ ...b, drops: [] }, 4)).toEqual([]);
    expect(fieldsNewerThan({ ...b, drops: undefined }, 4)).toEqual([]);
    expect(downgradeBatch(b, 4)).toEqual({
      ...b,
      v: 4,
      drops: drops.map(({ service: _, ...rest }) => rest),
    });
    expect(b.drops[0]!.service).toBe("shop/web"); // the original is left alone
    expect(reachableVersion(5, [3, 4])).toBe(4);
    expect(reachableVersion(5, [2, 3])).toBe(3);
  });

  it("[field=value] names the array elements whose field is that value: found there, left out whole", () => {
    const history = { 2: [["inventory", "modules", "[name=dns]"], ["inventory", "maps", "[module=dns]"]] };
    const modules = [{ name: "flows", state: "on" }, { name: "dns", state: "on" }, { name: "tcp", state: "off" }];
    const maps = [{ module: "dns", id: 1 }, { module: "flows", id: 2 }, { module: "dns", id: 3 }];
    const b = { v: 2, inventory: { modules, maps, other: { name: "dns" } } };
    expect(fieldsNewerThan(b, 1, history)).toEqual([["inventory", "modules", 1], ["inventory", "maps", 0]]);
    expect(fieldsNewerThan({ v: 1, inventory: { modules: [modules[0]], maps: [] } }, 1, history)).toEqual([]);
    expect(downgradeBatch(b, 1, history)).toEqual({
      v: 1,
      inventory: { modules: [modules[0], modules[2]], maps: [maps[1]], other: { name: "dns" } }, // order kept
    });
    expect(b.inventory.modules).toHaveLength(3); // the original is left alone
    expect(downgradeBatch({ v: 2, inventory: { modules: "not a list" } }, 1, history)).toEqual({
      v: 1,
      inventory: { modules: "not a list" }, // nothing selected: left for the schema to judge
    });
  });

  it("6 (dns): the batch's dns, the monitoring's dns fields and the module's inventory entries", () => {
    const inventory = {
      modules: MODULES.map((name) => ({ name, desired: true, state: "on" })),
      programs: [{ id: 1, module: "flows" }, { id: 2, module: "dns" }],
      maps: [{ id: 3, module: "dns" }, { id: 4, module: "tcp" }],
    };
    const b = { v: 6, inventory, dns: { servers: [], names: [] }, monitoring: { flowEntries: 1, dnsNamesFull: 2 } };
    expect(downgradeBatch(b, 5)).toEqual({
      v: 5,
      inventory: {
        modules: inventory.modules.filter((m) => m.name !== "dns"),
        programs: [{ id: 1, module: "flows" }],
        maps: [{ id: 4, module: "tcp" }],
      },
      monitoring: { flowEntries: 1 },
    });
    expect(fieldsNewerThan(b, 5).map((p) => p.join("."))).toEqual([
      "dns",
      "monitoring.dnsNamesFull",
      `inventory.modules.${MODULES.indexOf("dns")}`,
      "inventory.programs.1",
      "inventory.maps.0",
    ]);
    expect(reachableVersion(6, [4, 5])).toBe(5);
  });

  it("the desired state to an older agent names no module added after its version; an agent defaults a missing one", () => {
    const desired = { version: 3, modules: { ...DEFAULT_MODULES, dns: false, flows: false } };
    const to5 = desiredForWireVersion(desired, 5);
    expect(Object.keys(to5.modules).sort()).toEqual(MODULES.filter((m) => m !== "dns").sort());
    expect(to5.modules.flows).toBe(false);
    expect(desiredForWireVersion(desired, 6)).toEqual(desired);
    expect(desired.modules.dns).toBe(false); // the original is left alone
    // an agent of 6 reads a control plane of 5's answer: dns at its default; a module it does not know is ignored
    const from5 = DesiredStateAnswer.parse({ ...to5, modules: { ...to5.modules, future: true } });
    expect(from5).toEqual({ version: 3, modules: { ...desired.modules, dns: DEFAULT_MODULES.dns } });
    expect(DesiredStateAnswer.safeParse({ version: 3, modules: { ...to5.modules, flows: "yes" } }).success).toBe(false);
    // the control plane's own schema stays strict: every module, no other
    expect(DesiredState.safeParse(to5).success).toBe(false);
  });

  it("the test override: unset is WIRE_VERSION; a bad value is refused naming the variable", () => {
    expect(wireVersionFromEnv(undefined)).toBe(WIRE_VERSION);
    expect(wireVersionFromEnv("")).toBe(WIRE_VERSION);
    expect(wireVersionFromEnv("3")).toBe(3);
    for (const bad of ["0", "1.5", "x", "-1", " 2"]) {
      expect(() => wireVersionFromEnv(bad), bad).toThrow(/EBPF_K8S_TEST_WIRE_VERSION: must be a wire version/);
    }
  });
});
