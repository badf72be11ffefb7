// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { capRows, DEFAULT_CAPS, otherDropRow, otherFlowRow, otherTcpRow } from "./cardinality.ts";
import { DROP_ROWS, type DropRow } from "./drops.ts";
import { addFlowCounters, FLOW_ROWS, type FlowRow, flowRowKey } from "./flows.ts";
import { CACHE, DB, WEB } from "./fixtures.test-support.ts";
import { TCP_ROWS } from "./tcp.ts";

const world = (ip: string) => ({ kind: "world", ip }) as const;
const row = (server: FlowRow["server"], bytes: number, tcpFlags = 0): FlowRow => ({
  node: "node-a",
  client: WEB,
  server,
  port: 80,
  proto: 6,
  fwdPackets: 1,
  fwdBytes: bytes,
  revPackets: 1,
  revBytes: 0,
  tcpFlags,
});

describe("capRows", () => {
  const rows = [row(DB, 500), row(CACHE, 100, 2), row(world("1.1.1.1"), 900), row(world("2.2.2.2"), 100, 16)];

  it("keeps stored keys, gives the free places to the heaviest new keys, and sums the rest into 'other'", () => {
    const stored = new Set([flowRowKey(row(CACHE, 0))]);
    const r = capRows(rows, stored, 3, FLOW_ROWS, otherFlowRow("node-a"));
    expect(
      r.kept.map((
        k,
      ) => [k.server.kind === "world" ? k.server.ip : k.server.kind === "pod" ? k.server.name : "", k.fwdBytes]),
    ).toEqual([
      ["cache", 100],
      ["1.1.1.1", 900],
      ["db", 500],
    ]);
    expect(r.cutKeys).toBe(1);
    expect(r.other).toEqual({ ...otherFlowRow("node-a"), fwdPackets: 1, fwdBytes: 100, revPackets: 1, tcpFlags: 16 });
    // Nothing lost: kept + other = input.
    const total = (rs: FlowRow[]) =>
      rs.reduce((t, x) => addFlowCounters(t, x), {
        fwdPackets: 0,
        fwdBytes: 0,
        revPackets: 0,
        revBytes: 0,
        tcpFlags: 0,
      });
    expect(total([...r.kept, r.other!])).toEqual(total(rows));
  });

  it("ties by key; a full bucket sends every new key to 'other'; under the cap nothing is cut", () => {
    const tie = capRows(
      [row(world("9.9.9.9"), 5), row(world("8.8.8.8"), 5)],
      new Set(),
      1,
      FLOW_ROWS,
      otherFlowRow("node-a"),
    );
    expect(tie.kept.map((k) => (k.server.kind === "world" ? k.server.ip : ""))).toEqual(["8.8.8.8"]);
    const full = capRows(rows, new Set(["x", "y"]), 2, FLOW_ROWS, otherFlowRow("node-a"));
    expect([full.kept.length, full.cutKeys, full.other?.fwdBytes]).toEqual([0, 4, 1_600]);
    expect(capRows(rows, new Set(), DEFAULT_CAPS.flows, FLOW_ROWS, otherFlowRow("node-a"))).toEqual({
      kept: expect.any(Array),
      cutKeys: 0,
    });
  });

  it("'other' rows of TCP and drops key apart from real ones", () => {
    expect(TCP_ROWS.key(otherTcpRow("n"))).toBe("n|other|other|0|unknown|");
    const drops: DropRow[] = [
      { node: "n", reason: "A", packets: 5, bytes: 1 },
      { node: "n", reason: "B", packets: 3, bytes: 2 },
      { node: "n", reason: "C", packets: 1, bytes: 4 },
    ];
    const r = capRows(drops, new Set(), 1, DROP_ROWS, otherDropRow("n"));
    expect(r.kept.map((d) => d.reason)).toEqual(["A"]);
    expect(r.other).toEqual({ node: "n", reason: "(other)", packets: 4, bytes: 6 });
  });
});
