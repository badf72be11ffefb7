// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { buildPodIndex } from "./attribution.ts";
import { CACHE, DB, index, REPORTS, tcp, WEB } from "./fixtures.test-support.ts";
import { mergeRows } from "./rows.ts";
import { aggregateTcp, avgDurationMs, avgSrttUs, connectionView, failures, TCP_ROWS } from "./tcp.ts";

const ix = index();

describe("aggregateTcp", () => {
  it("sums records per (node, local pod, remote, port, role) and keeps srtt exact as sum / samples", () => {
    const rows = aggregateTcp(
      [
        { node: "node-a", record: tcp({ opened: 2, closed: 1, durationMs: 300, srttUsSum: 400, srttSamples: 2 }) },
        {
          node: "node-a",
          record: tcp({ opened: 1, failedRefused: 1, srttUsSum: 250, srttSamples: 1, retransmits: 3 }),
        },
        {
          node: "node-b",
          record: tcp({
            pod: "u-db",
            local: "10.0.2.2",
            remote: "10.0.1.2",
            role: "server",
            opened: 2,
            closed: 2,
            durationMs: 500,
          }),
        },
      ],
      ix,
    );
    expect(rows).toHaveLength(2);
    const [client, server] = rows;
    expect(client).toMatchObject({
      node: "node-a",
      local: WEB,
      remote: DB,
      port: 5432,
      role: "client",
      opened: 3,
      closed: 1,
      failedRefused: 1,
      retransmits: 3,
    });
    expect(avgSrttUs(client)).toBe(650 / 3);
    expect(avgDurationMs(client)).toBe(300);
    expect(failures(client)).toBe(1);
    expect(server).toMatchObject({ node: "node-b", local: DB, remote: WEB, role: "server", opened: 2 });
    expect(avgSrttUs(server)).toBeNull();
    expect(avgDurationMs(server)).toBe(250);
    // Once per connection: the client's row; the server's view of a pod client is its duplicate.
    expect(connectionView(rows)).toEqual([client]);
    expect(connectionView(rows).reduce((n, r) => n + r.opened, 0)).toBe(3);
  });

  it("counts failures of every kind, and a refused connection to the world stays an IP", () => {
    const [row] = aggregateTcp(
      [{
        node: "node-a",
        record: tcp({ remote: "203.0.113.9", port: 80, opened: 0, failedRefused: 2, failedTimeout: 1, failedOther: 4 }),
      }],
      ix,
    );
    expect(row.remote).toEqual({ kind: "world", ip: "203.0.113.9" });
    expect(failures(row)).toBe(7);
  });

  it("a server row with a world client is kept once; host sockets and vanished pods are named by address and uid", () => {
    const rows = aggregateTcp(
      [
        {
          node: "node-a",
          record: tcp({
            pod: "u-cache",
            local: "10.0.1.3",
            remote: "198.51.100.1",
            port: 6379,
            role: "server",
            opened: 5,
          }),
        },
        {
          node: "node-a",
          record: tcp({ pod: undefined, local: "192.168.1.10", remote: "10.0.2.2", port: 5432, opened: 1 }),
        },
        { node: "node-a", record: tcp({ pod: "u-gone", local: "10.0.1.9", opened: 1 }) },
      ],
      ix,
    );
    const locals = rows.map((r) => r.local);
    expect(locals).toContainEqual(CACHE);
    expect(locals).toContainEqual({ kind: "world", ip: "192.168.1.10" });
    expect(locals).toContainEqual({ kind: "pod", uid: "u-gone", namespace: "", name: "", node: "node-a" });
    expect(connectionView(rows)).toHaveLength(3);
  });

  it("the service hook names a client's remote VIP", () => {
    const withSvc = buildPodIndex(
      REPORTS,
      (
        ip,
        port,
      ) => (ip === "10.96.0.5" && port === 80 ? { kind: "service", namespace: "default", name: "api" } : undefined),
    );
    const [row] = aggregateTcp(
      [{ node: "node-a", record: tcp({ remote: "10.96.0.5", port: 80, opened: 1 }) }],
      withSvc,
    );
    expect(row.remote).toEqual({ kind: "service", namespace: "default", name: "api" });
  });

  it("averages stay exact when rows merge (sums and counts, not averages)", () => {
    const [base] = aggregateTcp([{ node: "node-a", record: tcp({ opened: 1 }) }], ix);
    const merged = mergeRows(
      [
        { ...base, srttUsSum: 100, srttSamples: 1, closed: 1, durationMs: 10 },
        { ...base, srttUsSum: 1_300, srttSamples: 4, closed: 3, durationMs: 50 },
      ],
      TCP_ROWS,
    );
    expect(merged).toHaveLength(1);
    expect([merged[0]!.opened, avgSrttUs(merged[0]!), avgDurationMs(merged[0]!)]).toEqual([2, 1_400 / 5, 60 / 4]);
  });

  it("records of zeros (an older agent's rounding of a sub-millisecond duration) make no row", () => {
    expect(aggregateTcp([{ node: "node-a", record: tcp({}) }], index())).toEqual([]);
    expect(aggregateTcp([{ node: "node-a", record: tcp({ durationMs: 1 }) }], index())).toHaveLength(1);
  });
});
