// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { T0, useTestDb } from "../test-support.ts";
import { seedDefaultThresholds } from "./defaults.ts";
import { ThresholdInput } from "./model.ts";
import { deleteThreshold, listThresholds, updateThreshold } from "./thresholds.ts";

const s = useTestDb();

describe("default thresholds", () => {
  it("agent silent and drops surge, on every node, created once", async () => {
    expect(await seedDefaultThresholds(s.db, T0)).toBe(true);
    const made = await listThresholds(s.db);
    expect(made.map((t) => [t.metric, t.scope, t.upper, t.holdSeconds, t.enabled])).toEqual([
      ["heartbeatAgeSeconds", { kind: "all" }, 120, 0, true],
      ["dropsPerSec", { kind: "all" }, 100, 60, true],
    ]);
    expect(await seedDefaultThresholds(s.db, T0 + 1_000)).toBe(false);
    expect(await listThresholds(s.db)).toEqual(made);
  });

  it("never made again after the operator deleted or edited them", async () => {
    await seedDefaultThresholds(s.db, T0);
    const [silent, drops] = await listThresholds(s.db);
    await deleteThreshold(s.db, silent!.id, T0 + 1);
    const edited = ThresholdInput.parse({
      metric: "dropsPerSec",
      scope: { kind: "all" },
      upper: 5_000,
      holdSeconds: 5,
    });
    await updateThreshold(s.db, drops!.id, edited, T0 + 2);
    expect(await seedDefaultThresholds(s.db, T0 + 3)).toBe(false);
    expect((await listThresholds(s.db)).map((t) => [t.metric, t.upper])).toEqual([["dropsPerSec", 5_000]]);
  });
});
