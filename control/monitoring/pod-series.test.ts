// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { NO_RATES } from "../ingest/rates.ts";
import { observePods, type PodPresence, podRates, type TimedPodCounters } from "./pod-series.ts";

describe("observePods", () => {
  it("pods appear, vanish at the first batch without them, and return", () => {
    let s: PodPresence[] = [];
    let u = observePods(s, "node-a", 1_000, ["a", "b"]);
    expect([u.appeared, u.vanished]).toEqual([["a", "b"], []]);
    s = observePods(u.presence, "node-b", 1_500, ["c"]).presence;
    u = observePods(s, "node-a", 6_000, ["a"]);
    expect(u.vanished).toEqual(["b"]);
    expect(u.presence).toEqual([
      { uid: "a", node: "node-a", firstSeen: 1_000, lastSeen: 6_000 },
      { uid: "b", node: "node-a", firstSeen: 1_000, lastSeen: 1_000, vanishedAt: 6_000 },
      { uid: "c", node: "node-b", firstSeen: 1_500, lastSeen: 1_500 }, // other node untouched
    ]);
    // Still missing later: vanishedAt stays the first miss.
    s = observePods(u.presence, "node-a", 11_000, ["a"]).presence;
    const b = s.find((p) => p.uid === "b")!;
    expect(b.vanishedAt).toBe(6_000);
    // Back within the grace period: current again, first seen kept.
    u = observePods(s, "node-a", 16_000, ["a", "b"]);
    expect(u.returned).toEqual(["b"]);
    expect(u.presence.find((p) => p.uid === "b")).toEqual({
      uid: "b",
      node: "node-a",
      firstSeen: 1_000,
      lastSeen: 16_000,
    });
  });

  it("an older batch arriving late neither resurrects nor vanishes", () => {
    let s = observePods([], "node-a", 1_000, ["a", "b"]).presence;
    s = observePods(s, "node-a", 5_000, ["a"]).presence; // b vanished at 5 000
    const late = observePods(s, "node-a", 3_000, ["b"]); // a batch from before
    expect(late.presence).toEqual(s);
    expect([late.appeared, late.vanished, late.returned]).toEqual([[], [], []]);
  });
});

describe("podRates", () => {
  const c = (o: Partial<TimedPodCounters>): TimedPodCounters => ({
    uid: "a",
    ifindex: 7,
    ts: 10_000,
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    drops: 0,
    ...o,
  });

  it("rates from two cumulative reports", () => {
    expect(
      podRates(
        c({ rxBytes: 1_000, txPackets: 2 }),
        c({ ts: 12_000, rxBytes: 5_000, rxPackets: 8, txPackets: 4, txBytes: 3_000 }),
      ),
    ).toEqual({
      rxPacketsPerSec: 4,
      rxBytesPerSec: 2_000,
      txPacketsPerSec: 1,
      txBytesPerSec: 1_500,
    });
  });

  it("none for the first report, another pod, a new veth, a counter going down, or no time passing", () => {
    expect(podRates(undefined, c({}))).toEqual(NO_RATES);
    expect(podRates(c({}), c({ uid: "b", ts: 11_000 }))).toEqual(NO_RATES);
    expect(podRates(c({}), c({ ifindex: 9, ts: 11_000 }))).toEqual(NO_RATES);
    expect(podRates(c({ rxBytes: 10 }), c({ ts: 11_000, rxBytes: 5 }))).toEqual(NO_RATES);
    expect(podRates(c({}), c({}))).toEqual(NO_RATES);
  });
});
