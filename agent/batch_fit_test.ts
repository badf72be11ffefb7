import { assert, assertEquals } from "./testing/assert.ts";
import { fitBatch } from "./batch_fit.ts";
import type { Batch } from "../control/wire/batch.ts";

const flow = (i: number) => ({
  src: "10.244.1.11",
  dst: `10.244.2.${i % 250}`,
  port: i,
  proto: 6,
  toServer: true,
  obs: "tx" as const,
  packets: 1,
  bytes: 100,
  tcpFlags: 0,
});
const monitoring = {
  flowEntries: 0,
  flowTableSize: 0,
  flowsCreated: 0,
  flowsEvicted: 0,
  flowCreateFailed: 0,
  flowRecordsCut: 7,
  tcpRecordsCut: 0,
  dropRecordsCut: 0,
};

Deno.test("a batch over the byte limit loses its least important records, counted as cut", () => {
  const b = {
    v: 1,
    node: "n",
    bootId: crypto.randomUUID(),
    seq: 0,
    ts: 1,
    interval: 1,
    interfaces: [],
    flows: Array.from({ length: 1000 }, (_, i) => flow(i)),
    monitoring,
  } as Batch;
  const full = JSON.stringify(b).length;
  const { cut, bytes } = fitBatch(b, Math.floor(full / 2));
  assertEquals(bytes, JSON.stringify(b).length);
  assert(bytes <= full / 2);
  assertEquals(cut.flows, 1000 - b.flows!.length);
  assertEquals(b.monitoring!.flowRecordsCut, 7 + cut.flows);
  assertEquals(b.flows!.at(-1)!.port, b.flows!.length - 1, "cut from the end");
  assertEquals(fitBatch(b, full).cut, { flows: 0, tcp: 0, drops: 0 }, "fits: untouched");
});
