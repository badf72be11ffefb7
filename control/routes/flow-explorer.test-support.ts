// SPDX-License-Identifier: Apache-2.0
/**
 * The flow explorer's scenario (API, page and Chromium tests): three pods
 * (web and cache on node-a, db on node-b; scenario.test-support.ts), the
 * service demo/echo on 10.96.0.20:80, and eight flows, one of each verdict
 * and a few ok, over two batches per node `t0 + 10 s` and `t0 + 45 s` (a
 * minute apart when t0 is 20 s into a minute, as T0 is).
 *
 *   flow (label)                         bytes pkts  verdict    from
 *   default/web → data/db:5432            5500  23  refused    client TCP row: 3 opened, 1 refused
 *   default/cache → default/web:8080      2000  10  ok         client row (1 opened), not the server's too
 *   192.168.1.60 → data/db:5432           1080   6  ok         server row only: 1 opened, 1 reset sent
 *   192.168.1.50 → default/cache:6379      400   4  no_reply   SYN in, nothing back
 *   default/cache → data/db:6379           400   4  reset      RST in the reply
 *   default/web → demo/echo:80             300   3  timed_out  client row: 2 timed out (service demo/echo)
 *   default/web → 1.1.1.1:53               120   2  ok         UDP (a refused TCP connection to 1.1.1.1:53 is not its)
 *   default/web → data/db:9000             120   2  failed     client row: 1 failed otherwise (and an RST)
 */
import { flow, tcp } from "../monitoring/fixtures.test-support.ts";
import { CACHE, DB_POD, report, WEB } from "../monitoring/scenario.test-support.ts";
import { service } from "../services/fixtures.test-support.ts";
import type { Batch } from "../wire/batch.ts";

export const ECHO = service("echo", "10.96.0.20", { namespace: "demo" });

/** Rows in the default order (bytes descending, ties by key), as `${source} → ${destination}:${port}`. */
export const BY_BYTES = [
  "default/web → data/db:5432",
  "default/cache → default/web:8080",
  "192.168.1.60 → data/db:5432",
  "192.168.1.50 → default/cache:6379",
  "default/cache → data/db:6379",
  "default/web → demo/echo:80",
  "default/web → 1.1.1.1:53",
  "default/web → data/db:9000",
] as const;

export const VERDICTS: Record<(typeof BY_BYTES)[number], string> = {
  "default/web → data/db:5432": "refused",
  "default/cache → default/web:8080": "ok",
  "192.168.1.60 → data/db:5432": "ok",
  "192.168.1.50 → default/cache:6379": "no_reply",
  "default/cache → data/db:6379": "reset",
  "default/web → demo/echo:80": "timed_out",
  "default/web → 1.1.1.1:53": "ok",
  "default/web → data/db:9000": "failed",
};

export const EXPLORER_TOTALS = { packets: 54, bytes: 9_920 };

/** Each batch, in the order to post them (each node's pods first). */
export function explorerBatches(t0: number): Partial<Batch>[] {
  const a = (seq: number, ts: number, more: Partial<Batch>): Partial<Batch> => ({
    node: "node-a",
    seq,
    ts,
    pods: [report(WEB, seq), report(CACHE, seq)],
    ...more,
  });
  const b = (seq: number, ts: number, more: Partial<Batch>): Partial<Batch> => ({
    node: "node-b",
    seq,
    ts,
    pods: [report(DB_POD, seq)],
    ...more,
  });
  const early = t0 + 10_000, late = t0 + 45_000;
  return [
    a(1, t0, {}),
    b(1, t0, {}),
    a(2, early, {
      flows: [
        flow({ packets: 10, bytes: 1_000, tcpFlags: 0x12 }),
        flow({ dst: "10.96.0.20", port: 80, packets: 3, bytes: 300, tcpFlags: 0x02 }),
        flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 2, bytes: 120 }),
        flow({ src: "192.168.1.50", dst: "10.0.1.3", port: 6379, obs: "rx", packets: 4, bytes: 400, tcpFlags: 0x02 }),
      ],
      tcp: [
        tcp({ opened: 3, failedRefused: 1, srttUsSum: 3_000, srttSamples: 3 }),
        tcp({ remote: "10.96.0.20", port: 80, failedTimeout: 2 }),
        // DNS over TCP to the same address and port, refused: no TCP flow of it, and the UDP flow stays ok
        tcp({ remote: "1.1.1.1", port: 53, failedRefused: 1 }),
      ],
    }),
    b(2, early, {
      flows: [flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, packets: 8, bytes: 4_000, tcpFlags: 0x11 })],
    }),
    a(3, late, {
      flows: [
        flow({ packets: 5, bytes: 500, tcpFlags: 0x10 }),
        flow({ src: "10.0.1.3", port: 6379, packets: 2, bytes: 200, tcpFlags: 0x02 }),
        flow({ src: "10.0.1.3", dst: "10.0.1.2", port: 8080, packets: 5, bytes: 500, tcpFlags: 0x10 }),
        flow({
          src: "10.0.1.2",
          dst: "10.0.1.3",
          port: 8080,
          toServer: false,
          packets: 5,
          bytes: 1_500,
          tcpFlags: 0x10,
        }),
        flow({ port: 9000, packets: 1, bytes: 60, tcpFlags: 0x02 }),
      ],
      tcp: [
        tcp({
          pod: "u-cache",
          local: "10.0.1.3",
          remote: "10.0.1.2",
          port: 8080,
          opened: 1,
          srttUsSum: 200,
          srttSamples: 1,
        }),
        tcp({
          local: "10.0.1.2",
          remote: "10.0.1.3",
          port: 8080,
          role: "server",
          opened: 1,
          srttUsSum: 800,
          srttSamples: 2,
        }),
        tcp({ port: 9000, failedOther: 1 }),
      ],
    }),
    b(3, late, {
      flows: [
        flow({ src: "10.0.2.2", dst: "10.0.1.3", port: 6379, toServer: false, packets: 2, bytes: 200, tcpFlags: 0x14 }),
        flow({ src: "10.0.2.2", dst: "10.0.1.2", port: 9000, toServer: false, packets: 1, bytes: 60, tcpFlags: 0x14 }),
        flow({ src: "192.168.1.60", dst: "10.0.2.2", obs: "rx", packets: 3, bytes: 180, tcpFlags: 0x12 }),
        flow({ src: "10.0.2.2", dst: "192.168.1.60", toServer: false, packets: 3, bytes: 900, tcpFlags: 0x10 }),
      ],
      tcp: [
        tcp({ pod: "u-db", local: "10.0.2.2", remote: "192.168.1.60", role: "server", opened: 1, resetsTx: 1 }),
      ],
    }),
  ];
}
