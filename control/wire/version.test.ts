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

  it("every version after the first that added fields lists them (the real history)", () => {
    for (const [v, paths] of Object.entries(ADDED_IN)) {
      expect(Number(v)).toBeLessThanOrEqual(WIRE_VERSION);
      expect(paths.length).toBeGreaterThan(0);
    }
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
