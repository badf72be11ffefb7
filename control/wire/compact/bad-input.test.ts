// SPDX-License-Identifier: Apache-2.0
/**
 * A bad compact batch is refused with the field and the index named, and nothing returned: decodeCompact
 * throws before it builds a single record.
 */
import { describe, expect, it } from "vitest";
import { Batch } from "../batch.ts";
import { CompactBatchError, decodeCompact } from "./decode.ts";
import { encodeCompact } from "./encode.ts";
import { fullBatch } from "./fixtures.test-support.ts";
import type { CompactBatch } from "./shape.ts";

/** A valid compact batch as parsed JSON, to break one thing of. */
const good = (): CompactBatch => JSON.parse(JSON.stringify(encodeCompact(Batch.parse(fullBatch()))));

function refusal(compact: unknown): CompactBatchError {
  try {
    decodeCompact(compact);
  } catch (e) {
    expect(e).toBeInstanceOf(CompactBatchError);
    return e as CompactBatchError;
  }
  throw new Error("decodeCompact accepted a bad batch");
}

describe("bad compact batches are refused, naming the field and the index", () => {
  it("the unbroken batch decodes (so each refusal below is for the one thing broken)", () => {
    expect(decodeCompact(good())).toStrictEqual(Batch.parse(fullBatch()));
  });

  it("a column shorter or longer than the table's first column", () => {
    const short = good();
    short.flows!.dst.pop();
    expect(refusal(short).message).toBe(
      `flows.dst[${short.flows!.src.length - 1}]: column has 5 entries, flows.src has 6`,
    );
    const long = good();
    long.tcp!.role.push(0);
    expect(refusal(long).message).toBe("tcp.role[2]: column has 3 entries, tcp.pod has 2");
    const pods = good();
    pods.pods!.counters.txBytes.push(1);
    expect(refusal(pods).message).toBe("pods.counters.txBytes[2]: column has 3 entries, pods.counters.rxPackets has 2");
  });

  it("a dictionary index out of range", () => {
    const c = good();
    c.flows!.src[4] = c.strings.length;
    expect(refusal(c).message).toBe(
      `flows.src[4]: dictionary index ${c.strings.length} is out of range (${c.strings.length} strings)`,
    );
  });

  it("a dictionary entry that is not what the field using it must be", () => {
    const c = good();
    c.strings.push("not-an-address");
    c.flows!.dst[2] = c.strings.length - 1;
    expect(refusal(c).message).toMatch(
      /^flows\.dst\[2\]: strings\[\d+\] "not-an-address": must be an IPv4 or IPv6 address$/,
    );
    const ifname = good();
    ifname.strings.push("eth/0");
    ifname.interfaces.ifname[1] = ifname.strings.length - 1;
    expect(refusal(ifname).path).toBe("interfaces.ifname[1]");
  });

  it("a negative counter, a non-integer, a value out of its field's range, and -1 for a string that is not optional", () => {
    const negative = good();
    negative.flows!.packets[3] = -1;
    expect(refusal(negative).message).toMatch(/^flows\.packets\[3\]: Too small/);
    const fraction = good();
    fraction.tcp!.opened[1] = 1.5;
    expect(refusal(fraction).message).toMatch(/^tcp\.opened\[1\]: .*expected int/);
    const port = good();
    port.flows!.port[0] = 65536;
    expect(refusal(port).path).toBe("flows.port[0]");
    const ifindex = good(); // positive: its bound 0 is excluded, unlike a counter's
    ifindex.interfaces.ifindex[1] = 0;
    expect(refusal(ifindex).message).toMatch(/^interfaces\.ifindex\[1\]: Too small/);
    const flag = good();
    flag.flows!.toServer[0] = 2;
    expect(refusal(flag).message).toBe("flows.toServer[0]: must be 0 or 1 (false or true)");
    const obs = good();
    obs.flows!.obs[1] = 3;
    expect(refusal(obs).path).toBe("flows.obs[1]");
    const absent = good();
    absent.drops!.reason[0] = -1;
    expect(refusal(absent).path).toBe("drops.reason[0]");
    const text = good();
    (text.drops!.packets as unknown[])[2] = "2";
    expect(refusal(text).path).toBe("drops.packets[2]");
  });

  it("an unknown field, in the batch or in a table", () => {
    expect(refusal({ ...good(), extra: 1 }).message).toMatch(/^\(batch\): Unrecognized key: "extra"/);
    const c = good();
    (c.flows as Record<string, unknown>).ttl = [];
    expect(refusal(c).message).toMatch(/^flows: Unrecognized key: "ttl"/);
  });

  it("a missing column, and an inventory or pods whose hash does not match them", () => {
    const c = good();
    delete (c.tcp as Record<string, unknown>).srttSamples;
    expect(refusal(c).path).toBe("tcp.srttSamples");
    // A late column (added after compact batches began) may be missing; present, it is checked like any other.
    const late = good();
    delete (late.drops as Record<string, unknown>).service;
    expect(decodeCompact(late).drops!.every((d) => d.service === undefined)).toBe(true);
    const short = good();
    short.drops!.service!.pop();
    expect(refusal(short).path).toMatch(/^drops\.service\[/);
    const bad = good();
    bad.strings.push("Not A Service");
    bad.drops!.service![1] = bad.strings.length - 1;
    expect(refusal(bad).message).toMatch(
      /^drops\.service\[1\]: strings\[\d+\] "Not A Service": must be namespace\/name/,
    );
    const pods = good();
    pods.pods!.infoHash = "0123456789abcdef";
    expect(refusal(pods).message).toBe("pods.infoHash: does not match what was sent with it");
    expect(refusal({ ...good(), inventoryHash: "0123456789abcdef" }).message).toBe(
      "inventoryHash: does not match what was sent with it",
    );
  });
});
