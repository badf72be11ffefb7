// SPDX-License-Identifier: Apache-2.0
/** A streamed record's JSON, written out for speed, is the flows API's Flow (flowJson) but bytesPerSec, byte for byte. */
import { describe, expect, it } from "vitest";
import { OTHER_ENDPOINT, type StoredEndpoint } from "../monitoring/attribution.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { flowJson } from "../routes/monitoring-json.ts";
import { StreamedBatch, StreamedFlow } from "./record.ts";

const ENDPOINTS: StoredEndpoint[] = [
  { kind: "pod", uid: "u-web", namespace: "default", name: "web", node: "node-a" },
  { kind: "pod", uid: "u-gone", namespace: "", name: "", node: "" },
  { kind: "service", namespace: "shop", name: "web" },
  { kind: "world", ip: "fd00::1" },
  OTHER_ENDPOINT,
];

describe("StreamedFlow.json", () => {
  it("equals flowJson's Flow without bytesPerSec, after the stream's own members, for every kind of row", () => {
    const batch = new StreamedBatch("node-a", Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 0, 1));
    let seq = 0;
    for (const client of ENDPOINTS) {
      for (const server of ENDPOINTS) {
        for (
          const [proto, tcpFlags, service] of [[6, 0x1b, true], [17, 0, false], [1, 0, false], [
            132,
            0xff,
            true,
          ]] as const
        ) {
          const row: FlowRow = {
            node: "node-a",
            client,
            server,
            port: proto === 1 ? 0 : 8080,
            proto,
            service: service ? { kind: "service", namespace: "shop", name: "web" } : undefined,
            fwdPackets: 3,
            fwdBytes: 300,
            revPackets: 2,
            revBytes: 9_007_199_254_740_991,
            tcpFlags,
          };
          const { bytesPerSec: _, ...flow } = flowJson(row, 10);
          const record = new StreamedFlow(++seq, batch, row);
          expect(record.json).toBe(
            `{"type":"flow","seq":${seq},"node":"node-a","ts":"2026-01-01T00:00:00.000Z",` +
              `"storedAt":"2026-01-01T00:00:01.000Z",${JSON.stringify(flow).slice(1)}`,
          );
          expect(record.json, "made once").toBe(record.json);
        }
      }
    }
  });
});
