/** The rule's pure parts: which versions are accepted, which a batch can be written as, and how. */
import { describe, expect, it } from "vitest";
import {
  acceptedWireVersions,
  ADDED_IN,
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

  it("the test override: unset is WIRE_VERSION; a bad value is refused naming the variable", () => {
    expect(wireVersionFromEnv(undefined)).toBe(WIRE_VERSION);
    expect(wireVersionFromEnv("")).toBe(WIRE_VERSION);
    expect(wireVersionFromEnv("3")).toBe(3);
    for (const bad of ["0", "1.5", "x", "-1", " 2"]) {
      expect(() => wireVersionFromEnv(bad), bad).toThrow(/EBPF_K8S_TEST_WIRE_VERSION: must be a wire version/);
    }
  });
});
