// SPDX-License-Identifier: Apache-2.0
/** Every kind of bad batch gets a 4xx naming the problem, and the database stays exactly as it was. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_BATCH_BYTES, WIRE_VERSION } from "../wire/batch.ts";
import { batch, dumpTables, iface, openTestDb, postBatch, testApp, type TestDb } from "../test-support.ts";

let t: TestDb;
let app: ReturnType<typeof testApp>["app"];
let before: Awaited<ReturnType<typeof dumpTables>>;

beforeEach(async () => {
  t = await openTestDb();
  ({ app } = testApp(t.db));
  // Something stored already, so "unchanged" is not trivially "empty".
  expect((await postBatch(app, batch())).status).toBe(200);
  before = await dumpTables(t.db);
});
afterEach(async () => {
  expect(await dumpTables(t.db)).toEqual(before);
  t.close();
});

/** A batch as JSON, open to any change a case makes to it (the point is to break its shape). */
// deno-lint-ignore no-explicit-any
type Mutable = any;

/** A valid next batch with one change applied to its JSON form. */
function nextBatchWith(change: (b: Mutable) => void): unknown {
  const b: Mutable = structuredClone(batch({ seq: 2, ts: batch().ts + 1_000 }));
  change(b);
  return b;
}

const POD = {
  uid: "u-1",
  namespace: "default",
  name: "web",
  labels: {},
  ips: ["10.0.1.2"],
  hostNetwork: false,
  rxPackets: 0,
  rxBytes: 0,
  txPackets: 0,
  txBytes: 0,
  drops: 0,
};
const FLOW = {
  src: "10.0.1.2",
  dst: "10.0.1.3",
  port: 80,
  proto: 6,
  toServer: true,
  obs: "tx",
  packets: 1,
  bytes: 60,
  tcpFlags: 2,
};

const invalid: Array<[string, (b: Mutable) => void, string, RegExp]> = [
  ["missing field", (b) => delete b.interfaces[0].rxBytes, "interfaces.0.rxBytes", /required/],
  ["missing top-level field", (b) => delete b.bootId, "bootId", /required/],
  ["wrong type", (b) => (b.seq = "2"), "seq", /number/],
  ["negative counter", (b) => (b.interfaces[0].txPackets = -1), "interfaces.0.txPackets", />=\s*0/],
  ["fractional counter", (b) => (b.interfaces[0].drops = 1.5), "interfaces.0.drops", /int/],
  ["bad node name", (b) => (b.node = "Node_A"), "node", /RFC 1123/],
  ["bad bootId", (b) => (b.bootId = "not-a-uuid"), "bootId", /UUID/i],
  ["bad interface name", (b) => (b.interfaces[0].ifname = "a/b"), "interfaces.0.ifname", /interface name/],
  ["unknown top-level field", (b) => (b.extra = 1), "extra", /unknown field/],
  ["unknown interface field", (b) => (b.interfaces[0].mtu = 1500), "interfaces.0.mtu", /unknown field/],
  ["duplicate interface", (b) => b.interfaces.push(b.interfaces[0]), "interfaces.1.ifname", /duplicate/],
  ["duplicate pod", (b) => (b.pods = [POD, POD]), "pods.1.uid", /duplicate pod uid 'u-1'/],
  ["bad flow address", (b) => (b.flows = [{ ...FLOW, src: "10.0.0.300" }]), "flows.0.src", /IP/i],
  ["bad flow observation point", (b) => (b.flows = [{ ...FLOW, obs: "wire" }]), "flows.0.obs", /tx|rx|host|option/i],
  [
    "empty drop reason",
    (b) => (b.drops = [{ reason: "", packets: 1, bytes: 1 }]),
    "drops.0.reason",
    /1 char|too small|least/i,
  ],
  ["empty object", (b) => Object.keys(b).forEach((k) => delete b[k]), "v", /required/],
];

describe("invalid batches", () => {
  it.each(invalid)("%s → 400 naming the field", async (_name, change, path, message) => {
    const res = await postBatch(app, nextBatchWith(change));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body = await res.json();
    expect(body.error).toBe("invalid batch");
    expect(body.issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it("a version not accepted → 409 unsupported wire version, saying which are (wire-versions.test.ts has the rest)", async () => {
    const res = await postBatch(app, nextBatchWith((b) => (b.v = WIRE_VERSION + 1)));
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: "unsupported wire version",
      version: WIRE_VERSION,
      accepts: [WIRE_VERSION - 1, WIRE_VERSION],
      started: expect.any(Number),
      issues: [{
        path: "v",
        message: `this control plane accepts wire versions ${WIRE_VERSION - 1} and ${WIRE_VERSION}, not ${
          WIRE_VERSION + 1
        }`,
      }],
    });
  });

  it("names every offending field at once", async () => {
    const res = await postBatch(
      app,
      nextBatchWith((b) => {
        b.node = "";
        b.interfaces[0].rxBytes = "x";
      }),
    );
    const { issues } = await res.json();
    expect(issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(["node", "interfaces.0.rxBytes"]),
    );
  });

  it("a JSON array is rejected at the root", async () => {
    const res = await postBatch(app, [batch()]);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toEqual([{ path: "(root)", message: expect.stringMatching(/object/) }]);
  });

  it.each([
    ["garbage", "{not json"],
    ["empty body", ""],
  ])("%s → 400 body is not JSON", async (_name, raw) => {
    const res = await postBatch(app, raw);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "body is not JSON" });
  });

  it("a body over MAX_BATCH_BYTES → 413", async () => {
    const huge = JSON.stringify(batch({ interfaces: [iface()] })).replace(
      "}]",
      `}],"pad":"${"x".repeat(MAX_BATCH_BYTES)}"`,
    );
    const res = await postBatch(app, huge);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: `batch larger than ${MAX_BATCH_BYTES} bytes`,
      maxBytes: MAX_BATCH_BYTES,
    });
  });

  it("a Content-Length over the limit is refused before reading", async () => {
    const res = await postBatch(app, JSON.stringify(batch()), { "content-length": String(MAX_BATCH_BYTES + 1) });
    expect(res.status).toBe(413);
  });
});
