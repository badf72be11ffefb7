// SPDX-License-Identifier: Apache-2.0
/**
 * Compact batches at POST /api/v1/ingest (wire version 4, control/wire/compact/http.ts): stored exactly as the
 * same batch sent as plain JSON, the parts held per node and the 412 that asks for them whole, every refusal of
 * a bad body, and agents of the version before (plain JSON) and of this one (compact) at once.
 */
import { describe, expect, it } from "vitest";
import { batchFor, inventoryFor, nodeName } from "../bench/simulated-node.ts";
import {
  bearer,
  BOOT_A,
  credentialFor,
  dumpTables,
  getJson,
  openTestDb,
  postBatch,
  T0,
  testApp,
  useTestApp,
} from "../test-support.ts";
import { type Batch, MAX_BATCH_BYTES } from "../wire/batch.ts";
import { encodeCompact, podInfo } from "../wire/compact/encode.ts";
import { contentHash } from "../wire/compact/content-hash.ts";
import {
  COMPACT_CONTENT_TYPE,
  compactBody,
  gzip,
  UNKNOWN_PART_STATUS,
  UnknownPartAnswer,
} from "../wire/compact/http.ts";
import type { EncodeOptions } from "../wire/compact/encode.ts";
import type { CompactBatch } from "../wire/compact/shape.ts";
import { COMPACT_SINCE_VERSION, WIRE_VERSION } from "../wire/version.ts";

type App = ReturnType<typeof testApp>["app"];

const SHAPE = { pods: 6, flows: 40, interfaces: 3 };
const INVENTORY = inventoryFor(SHAPE.interfaces);
const GZIPPED = { "content-type": COMPACT_CONTENT_TYPE, "content-encoding": "gzip" };

/** Batch `seq` of bench node `node`, at a fixed time (10 s apart). */
function nodeBatch(node: number, seq: number, v = WIRE_VERSION): Batch {
  return { ...batchFor(node, 10, BOOT_A, seq, 10, INVENTORY, SHAPE), v, ts: T0 + seq * 10_000 };
}

/** POSTs `body` as the batch's node, with `headers` (the compact media type and gzip by default). */
async function postBody(app: App, node: string, body: Uint8Array | string, headers: Record<string, string> = GZIPPED) {
  return app.request("/api/v1/ingest", {
    method: "POST",
    headers: { ...bearer(await credentialFor(app, node)), ...headers },
    body: typeof body === "string" ? body : new Uint8Array(body), // a copy typed as BodyInit takes it
  });
}

/** A compact body gzipped, written as `edit` changes it (for bodies no agent writes). */
async function compactEdited(batch: Batch, edit: (c: CompactBatch) => void, held: EncodeOptions = {}) {
  const compact = encodeCompact(batch, held);
  edit(compact);
  return await gzip(JSON.stringify(compact));
}

/** The answer's JSON, once its status is `status`. */
async function refusal(res: Response | Promise<Response>, status: number) {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(status);
  return r.json();
}

/** One node's agent speaking compact: the hashes of its last acknowledged batch are what it sends by hash. */
class CompactAgent {
  held: EncodeOptions = {};
  constructor(readonly app: App, readonly node: string) {}

  async send(batch: Batch): Promise<Response> {
    const { body, headers, hashes } = await compactBody(batch, this.held);
    const res = await postBody(this.app, this.node, body, headers);
    if (res.status === 200) this.held = { previousInventoryHash: hashes.inventory, previousPodsHash: hashes.pods };
    return res;
  }
}

/** Every table but those holding secrets (credentials and join tokens differ between any two databases). */
async function storedContent(db: Parameters<typeof dumpTables>[0]) {
  const dump = await dumpTables(db);
  for (const table of Object.keys(dump)) if (/credential|token/.test(table)) delete dump[table];
  return dump;
}

/** A second control plane on its own database, for side-by-side comparisons; closed by the caller. */
async function twin() {
  const t = await openTestDb();
  return { ...testApp(t.db), db: t.db, close: t.close };
}

const ok = async (res: Response | Promise<Response>) => {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  return r.json();
};

describe("compact batches at ingest", () => {
  const s = useTestApp();

  it("a compact gzipped batch is stored exactly as the same batch sent as plain JSON, with held parts too", async () => {
    const plain = await twin();
    try {
      const node = nodeName(1), agent = new CompactAgent(s.app, node);
      const relabelled = (b: Batch) => ({
        ...b,
        pods: b.pods!.map((p, i) => (i === 2 ? { ...p, labels: { v: "2" } } : p)),
      });
      const batches = [nodeBatch(1, 1), nodeBatch(1, 2), relabelled(nodeBatch(1, 3)), relabelled(nodeBatch(1, 4))];
      const sentWhole: boolean[][] = [];
      for (const b of batches) {
        s.clock.now = plain.clock.now = b.ts + 500;
        const compact = encodeCompact(b, agent.held);
        sentWhole.push([compact.inventory !== undefined, compact.pods!.info !== undefined]);
        expect(await ok(agent.send(b))).toEqual(await ok(postBatch(plain.app, b)));
      }
      // The first went whole; then by hash, but for the changed pods' metadata of the third.
      expect(sentWhole).toEqual([[true, true], [false, false], [false, true], [false, false]]);
      expect(await ok(agent.send(batches[3]!))).toMatchObject({ seq: 4, duplicate: true }); // a resend, by hash
      expect(await ok(postBatch(plain.app, batches[3]!))).toMatchObject({ seq: 4, duplicate: true });
      const stored = await storedContent(s.db);
      expect([stored.pods?.length, stored.interfaces?.length]).toEqual([SHAPE.pods, SHAPE.interfaces]);
      expect(stored).toEqual(await storedContent(plain.db));
      // What the API answers for the node, too.
      for (const path of [`/api/v1/nodes/${node}`, `/api/v1/nodes/${node}/interfaces`, `/api/v1/pods?node=${node}`]) {
        expect((await getJson(s.app, path)).body, path).toEqual((await getJson(plain.app, path)).body);
      }
    } finally {
      plain.close();
    }
  });

  it("a part named by a hash the control plane does not hold: 412 naming it, nothing stored; whole, then by hash", async () => {
    const node = nodeName(2), agent = new CompactAgent(s.app, node), first = nodeBatch(2, 1);
    const whole = await compactBody(first);
    // As an agent would after a control-plane restart: it still has the hashes of its last acknowledged batch.
    agent.held = { previousInventoryHash: whole.hashes.inventory, previousPodsHash: whole.hashes.pods };
    await credentialFor(s.app, node);
    const before = await storedContent(s.db);
    const refused = await agent.send(first);
    expect(refused.status).toBe(UNKNOWN_PART_STATUS);
    expect(UnknownPartAnswer.parse(await refused.json())).toEqual({
      error: "unknown part",
      parts: ["inventory", "pods"],
    });
    expect(await storedContent(s.db)).toEqual(before);

    expect(await ok(postBody(s.app, node, whole.body, whole.headers))).toMatchObject({ seq: 1, duplicate: false });
    const second = nodeBatch(2, 2);
    expect(encodeCompact(second, agent.held)).not.toHaveProperty("inventory");
    expect(encodeCompact(second, agent.held).pods).not.toHaveProperty("info");
    s.clock.now = second.ts;
    expect(await ok(agent.send(second))).toMatchObject({ seq: 2, duplicate: false });
    // Stored with the held inventory and pods' metadata, and this batch's counters.
    const { body: detail } = await getJson(s.app, `/api/v1/nodes/${node}`);
    expect(detail.inventory).toEqual(JSON.parse(JSON.stringify(INVENTORY)));
    const { pods } = (await getJson(s.app, `/api/v1/pods?node=${node}`)).body;
    expect(pods.map((p: { uid: string; rxBytes: number }) => [p.uid, p.rxBytes]).sort()).toEqual(
      second.pods!.map((p) => [p.uid, p.rxBytes]).sort(),
    );
    expect(pods.length).toBe(SHAPE.pods);
  });

  it("a hash other than the one held is unknown (412, that part only); a part whose hash does not match it: 400", async () => {
    const node = nodeName(3), agent = new CompactAgent(s.app, node);
    await ok(agent.send(nodeBatch(3, 1)));
    const wrongHash = await compactEdited(nodeBatch(3, 2), (c) => (c.inventoryHash = "0123456789abcdef"), agent.held);
    const res = await postBody(s.app, node, wrongHash);
    expect(res.status).toBe(412);
    expect(await res.json()).toEqual({ error: "unknown part", parts: ["inventory"] });

    const mismatched = await compactEdited(nodeBatch(3, 2), (c) => (c.pods!.infoHash = "0123456789abcdef"));
    const bad = await postBody(s.app, node, mismatched);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: "invalid batch",
      issues: [{ path: "pods.infoHash", message: "does not match what was sent with it" }],
    });
    // Neither changed what is held: the agent's hashes still stand.
    expect(await ok(agent.send(nodeBatch(3, 2)))).toMatchObject({ seq: 2, duplicate: false });
  });

  it("a batch that fails to store leaves nothing held: the next batch by hash gets 412", async () => {
    const errors: unknown[] = [];
    s.rebuild({ logError: (_, err) => errors.push(err) });
    const node = nodeName(4), agent = new CompactAgent(s.app, node), first = nodeBatch(4, 1);
    await credentialFor(s.app, node);
    await s.db.$client.execute(
      "CREATE TRIGGER refuse_boots BEFORE INSERT ON boots BEGIN SELECT RAISE(ABORT, 'test: store fails'); END",
    );
    const whole = await compactBody(first);
    expect((await postBody(s.app, node, whole.body, whole.headers)).status).toBe(500);
    expect(errors).toHaveLength(1);
    await s.db.$client.execute("DROP TRIGGER refuse_boots");
    agent.held = { previousInventoryHash: whole.hashes.inventory, previousPodsHash: whole.hashes.pods };
    expect((await agent.send(first)).status).toBe(412);
    agent.held = {};
    expect(await ok(agent.send(first))).toMatchObject({ seq: 1, duplicate: false });
  });

  describe("refuses a bad body, naming what is wrong", () => {
    const node = nodeName(5);

    it("a gzip bomb (expanding past MAX_BATCH_BYTES): 413", async () => {
      const bomb = await gzip(" ".repeat(MAX_BATCH_BYTES + 1));
      expect(bomb.byteLength).toBeLessThan(MAX_BATCH_BYTES / 100); // the bytes sent are far within the limit
      expect(await refusal(postBody(s.app, node, bomb), 413)).toEqual({
        error: `batch larger than ${MAX_BATCH_BYTES} bytes once decompressed`,
        maxBytes: MAX_BATCH_BYTES,
      });
      // Exactly at the limit it is read (and then judged as JSON).
      const atLimit = await gzip(" ".repeat(MAX_BATCH_BYTES));
      expect(await refusal(postBody(s.app, node, atLimit), 400)).toEqual({ error: "body is not JSON" });
    });

    it("not gzip: 400; another Content-Encoding: 415; not JSON: 400", async () => {
      const json = JSON.stringify(encodeCompact(nodeBatch(5, 1)));
      expect(await refusal(postBody(s.app, node, json), 400)).toEqual({ error: "body is not valid gzip" });
      const br = { "content-type": COMPACT_CONTENT_TYPE, "content-encoding": "br" };
      expect(await refusal(postBody(s.app, node, await gzip(json), br), 415)).toMatchObject({
        error: expect.stringMatching(/Content-Encoding 'br' is not accepted/),
      });
      expect(await refusal(postBody(s.app, node, await gzip("{not json")), 400)).toEqual({ error: "body is not JSON" });
      // Not encoded at all is accepted.
      const identity = { "content-type": `${COMPACT_CONTENT_TYPE}; charset=utf-8` };
      expect(await ok(postBody(s.app, node, json, identity))).toMatchObject({ seq: 1 });
    });

    it("no v: 400 naming v; an unaccepted version: 409", async () => {
      const noV = await compactEdited(nodeBatch(5, 1), (c) => delete (c as { v?: number }).v);
      expect((await refusal(postBody(s.app, node, noV), 400)).issues).toEqual([{ path: "v", message: "required" }]);
      const newer = await compactEdited(nodeBatch(5, 1), (c) => (c.v = WIRE_VERSION + 1));
      expect(await refusal(postBody(s.app, node, newer), 409)).toMatchObject({ error: "unsupported wire version" });
    });

    it("a bad column or a dictionary index out of range: 400 naming the column and the index", async () => {
      const b = nodeBatch(5, 1);
      const outOfRange = await compactEdited(b, (c) => (c.flows!.src[7] = c.strings.length + 3));
      expect(await refusal(postBody(s.app, node, outOfRange), 400)).toEqual({
        error: "invalid batch",
        issues: [{
          path: "flows.src[7]",
          message: `dictionary index ${encodeCompact(b).strings.length + 3} is out of range (${
            encodeCompact(b).strings.length
          } strings)`,
        }],
      });
      const short = await compactEdited(b, (c) => c.tcp!.port.pop());
      expect((await refusal(postBody(s.app, node, short), 400)).issues[0].path).toMatch(/^tcp\.port\[/);
    });

    it("the checks across entries of a plain batch, on the decoded batch: duplicate interface, pod, module", async () => {
      const b = nodeBatch(5, 1);
      const dupIface = await compactEdited(b, (c) => (c.interfaces.ifname[1] = c.interfaces.ifname[0]!));
      const ifname = b.interfaces[0]!.ifname;
      expect(await refusal(postBody(s.app, node, dupIface), 400)).toEqual({
        error: "invalid batch",
        issues: [{ path: "interfaces.ifname[1]", message: `duplicate interface name '${ifname}'` }],
      });
      const pods = b.pods!.map(podInfo);
      const dupPod = await compactEdited(b, (c) => {
        c.pods!.info = pods.map((p, i) => (i === 3 ? { ...p, uid: pods[0]!.uid } : p));
        c.pods!.infoHash = contentHash(c.pods!.info);
      });
      expect((await refusal(postBody(s.app, node, dupPod), 400)).issues).toEqual([
        { path: "pods.info[3].uid", message: `duplicate pod uid '${pods[0]!.uid}'` },
      ]);
      const modules = [...INVENTORY.modules, INVENTORY.modules[0]!];
      const dupModule = await compactEdited(b, (c) => {
        c.inventory = { ...INVENTORY, modules };
        c.inventoryHash = contentHash(c.inventory);
      });
      expect((await refusal(postBody(s.app, node, dupModule), 400)).issues).toEqual([
        { path: `inventory.modules[${modules.length - 1}].name`, message: `duplicate module '${modules[0]!.name}'` },
      ]);
    });

    it("a batch of another node than the credential's: 403", async () => {
      const other = await gzip(JSON.stringify(encodeCompact(nodeBatch(6, 1))));
      expect(await refusal(postBody(s.app, node, other), 403)).toEqual({
        error: `this credential belongs to node '${node}', not '${nodeName(6)}'`,
      });
    });
  });

  describe("a control plane of the first compact version, which accepts the plain version before it", () => {
    const s = useTestApp({ settings: { wireVersion: COMPACT_SINCE_VERSION } });
    const node = nodeName(5);
    const before = COMPACT_SINCE_VERSION - 1;

    it(`compact version ${before} (which travels as plain JSON): 400 naming v`, async () => {
      expect(await refusal(postBody(s.app, node, await compactBody(nodeBatch(5, 1, before)).then((b) => b.body)), 400))
        .toEqual({
          error: "invalid batch",
          issues: [{
            path: "v",
            message:
              `a batch of wire version ${before} travels as plain JSON; compact is version ${COMPACT_SINCE_VERSION} or later`,
          }],
        });
    });
  });

  it("an agent of the version before (plain JSON) and one of this version (compact) at once: both stored exactly", async () => {
    const reference = await twin();
    try {
      const agent = new CompactAgent(s.app, nodeName(8));
      for (let seq = 1; seq <= 4; seq++) {
        s.clock.now = reference.clock.now = T0 + seq * 10_000 + 500;
        const old = nodeBatch(7, seq, WIRE_VERSION - 1), current = nodeBatch(8, seq);
        // Here the version before as plain JSON beside this version compact; in the reference both as plain JSON.
        expect(await ok(postBatch(s.app, old))).toEqual(await ok(postBatch(reference.app, old)));
        expect(await ok(agent.send(current))).toEqual(await ok(postBatch(reference.app, current)));
      }
      expect(agent.held.previousInventoryHash).toBeDefined();
      expect(await storedContent(s.db)).toEqual(await storedContent(reference.db));
      for (const node of [nodeName(7), nodeName(8)]) {
        const { body } = await getJson(s.app, `/api/v1/nodes/${node}/interfaces`);
        expect(body, node).toHaveLength(SHAPE.interfaces);
      }
    } finally {
      reference.close();
    }
  });

  describe("the held parts' bound", () => {
    const s = useTestApp({ settings: { heldPartsNodes: 3 } });

    it("past it, the node heard from least recently gets one 412 and is held again once sent whole", async () => {
      const agents = [0, 1, 2, 3].map((n) => new CompactAgent(s.app, nodeName(10 + n)));
      for (const [n, agent] of agents.slice(0, 3).entries()) await ok(agent.send(nodeBatch(10 + n, 1)));
      await ok(agents[0]!.send(nodeBatch(10, 2))); // by hash: held, and now the most recent
      await ok(agents[3]!.send(nodeBatch(13, 1))); // the cap+1-th node: node 11 is forgotten
      const res = await agents[1]!.send(nodeBatch(11, 2));
      expect(res.status).toBe(412);
      expect(await res.json()).toEqual({ error: "unknown part", parts: ["inventory", "pods"] });
      for (const [n, agent] of agents.entries()) {
        if (n !== 1) expect(await ok(agent.send(nodeBatch(10 + n, 3))), `node ${10 + n}`).toMatchObject({ seq: 3 });
      }
      agents[1]!.held = {};
      expect(await ok(agents[1]!.send(nodeBatch(11, 2)))).toMatchObject({ seq: 2, duplicate: false });
    });
  });
});
