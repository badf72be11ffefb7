// SPDX-License-Identifier: Apache-2.0
/**
 * Nodes that come and go (docs/nodes.md): join tokens that never expire, cluster module defaults with per-node
 * overrides, deleting a node, and removing nodes Lost too long.
 */
import { describe, expect, it } from "vitest";
import { writeTransaction } from "../db/write-queue.ts";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { ThresholdInput } from "../alerts/model.ts";
import { createThreshold } from "../alerts/thresholds.ts";
import { alerts } from "../db/schema.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { UNKNOWN_CREDENTIAL } from "../auth/node-auth.ts";
import {
  deleteNode as removeNode,
  nodesRemoved,
  removeLostNodes,
  startLostNodeRemoval,
} from "../registry/node-removal.ts";
import { onceOnlyJobs } from "../once-only.ts";
import { report, WEB } from "../monitoring/scenario.test-support.ts";
import {
  AS_ADMIN,
  batch,
  bearer,
  dumpTables,
  getJson,
  inventory,
  newJoinToken,
  postJoin,
  READ_TOKEN,
  send,
  useTestApp,
} from "../test-support.ts";
import { DEFAULT_APP_SETTINGS } from "../config.ts";
import { DEFAULT_MODULES, type DesiredState } from "../wire/batch.ts";
import { JOIN_WIRE_VERSION_HEADER, WIRE_VERSION } from "../wire/version.ts";

const s = useTestApp();
const DAY = 86_400_000;
const AS_READER = bearer(READ_TOKEN);

/** A join by an agent of this wire version (it names it: its desired state is not cut). */
async function join(node: string, token: string): Promise<{ credential: string; desired: DesiredState }> {
  const res = await send(s.app, "POST", "/api/v1/join", { token, node }, {
    [JOIN_WIRE_VERSION_HEADER]: String(WIRE_VERSION),
  });
  if (res.status !== 200) throw new Error(`join ${node}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A batch with the node's own credential; answers the status and body. */
async function ingest(credential: string, body: unknown) {
  const res = await send(s.app, "POST", "/api/v1/ingest", body, bearer(credential));
  return { status: res.status, body: await res.json() };
}

const putDefaults = (modules: Record<string, boolean>, headers = AS_ADMIN) =>
  send(s.app, "PUT", "/api/v1/module-defaults", { modules }, headers);
const override = (node: string, module: string, enabled: boolean) =>
  send(s.app, "PUT", `/api/v1/nodes/${node}/modules/${module}`, { enabled }, AS_ADMIN);
const resetOverride = (node: string, module: string) =>
  send(s.app, "DELETE", `/api/v1/nodes/${node}/modules/${module}`, undefined, AS_ADMIN);
const modulesOf = async (node: string) => (await getJson(s.app, `/api/v1/nodes/${node}/modules`)).body;
const deleteNode = (node: string, headers = AS_ADMIN) =>
  send(s.app, "DELETE", `/api/v1/nodes/${node}`, undefined, headers);

describe("a join token that never expires", () => {
  it("joins after the clock passes 30 days, is listed as never expiring, and stops joins once revoked", async () => {
    const made = await newJoinToken(s.app, { expires: "never", description: "kubernetes agents (install.sh)" });
    expect(made.expiresAt).toBeNull();
    const dated = await newJoinToken(s.app, { ttlSeconds: 30 * 86_400 });

    s.clock.now += 30 * DAY + 1;
    expect((await postJoin(s.app, "node-dated", dated.token)).status).toBe(401);
    expect((await join("node-late", made.token)).credential).toMatch(/^ek8s_node_/);
    s.clock.now += 365 * DAY;
    await join("node-later", made.token);

    const listed = (await getJson(s.app, "/api/v1/join-tokens", AS_ADMIN)).body;
    expect(listed.find((t: { id: string }) => t.id === made.id)).toMatchObject({
      expiresAt: null,
      expired: false,
      revoked: false,
      uses: 2,
    });

    expect((await send(s.app, "DELETE", `/api/v1/join-tokens/${made.id}`, undefined, AS_ADMIN)).status).toBe(200);
    const refused = await postJoin(s.app, "node-after-revoke", made.token);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error).toMatch(/revoked/);
  });

  it("is asked for by name: a ttl of 0, both at once or another word are refused, naming the field", async () => {
    for (
      const [body, field] of [
        [{ ttlSeconds: 0 }, "ttlSeconds"],
        [{ ttlSeconds: 60, expires: "never" }, "expires"],
        [{ expires: "later" }, "expires"],
      ] as const
    ) {
      const res = await send(s.app, "POST", "/api/v1/join-tokens", body, AS_ADMIN);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const answer = await res.json();
      expect(answer.issues.map((i: { path: string }) => i.path), JSON.stringify(body)).toContain(field);
    }
  });
});

describe("cluster module defaults", () => {
  it("are the built-in ones until set; readers see them, only the admin changes them", async () => {
    expect((await getJson(s.app, "/api/v1/module-defaults", AS_READER)).body).toEqual({
      version: 0,
      modules: DEFAULT_MODULES,
      set: [],
    });
    expect((await putDefaults({ lb: true }, AS_READER)).status).toBe(403);
    const bad = await putDefaults({ lb: true, nope: true } as Record<string, boolean>);
    expect(bad.status).toBe(400);
    expect((await bad.json()).issues[0].path).toBe("modules.nope");
    const res = await putDefaults({ lb: true, accel: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      version: 1,
      modules: { ...DEFAULT_MODULES, lb: true },
      set: ["lb", "accel"],
    });
    // the same again changes nothing, not even the version
    expect((await (await putDefaults({ lb: true })).json()).version).toBe(1);
  });

  it("are inherited by a node that joins after they changed: in its join answer and its acks", async () => {
    await putDefaults({ lb: true, gateway: true });
    const { token } = await newJoinToken(s.app);
    const joined = await join("node-new", token);
    const expected = { ...DEFAULT_MODULES, lb: true, gateway: true };
    expect(joined.desired).toEqual({ version: 1, modules: expected });
    const ack = await ingest(joined.credential, batch({ node: "node-new" }));
    expect(ack.body.desired).toEqual({ version: 1, modules: expected });
    const lb = (await modulesOf("node-new")).find((m: { name: string }) => m.name === "lb");
    expect(lb).toMatchObject({ desired: true, inherited: true });
  });

  it("give every node a version it has not had, and leave a node's override alone", async () => {
    const { token } = await newJoinToken(s.app);
    const a = await join("node-a", token);
    const b = await join("node-b", token);
    // node-b overrides lb (on) and its version runs ahead of the defaults'
    await override("node-b", "lb", true);
    await override("node-b", "flows", false);
    await override("node-b", "flows", true);
    const bBefore = (await ingest(b.credential, batch({ node: "node-b" }))).body.desired as DesiredState;
    expect(bBefore.version).toBe(3);

    await putDefaults({ lb: false, accel: true });
    await putDefaults({ lb: true }); // the default now equals node-b's override
    await putDefaults({ lb: false });
    const aAck = (await ingest(a.credential, batch({ node: "node-a" }))).body.desired as DesiredState;
    const bAck = (await ingest(b.credential, batch({ node: "node-b", seq: 2 }))).body.desired as DesiredState;
    expect(aAck.modules).toEqual({ ...DEFAULT_MODULES, accel: true });
    expect(bAck.modules).toEqual({ ...DEFAULT_MODULES, accel: true, lb: true, flows: true });
    expect(bAck.version).toBeGreaterThan(bBefore.version);
    expect(aAck.version).toBe(bAck.version);
    const views = await modulesOf("node-b");
    expect(views.find((m: { name: string }) => m.name === "lb")).toMatchObject({ desired: true, inherited: false });
    expect(views.find((m: { name: string }) => m.name === "accel")).toMatchObject({ desired: true, inherited: true });
  });

  it("take over again when the override is reset, at a new version", async () => {
    await putDefaults({ lb: true });
    const { token } = await newJoinToken(s.app);
    const n = await join("node-a", token);
    const off = await (await override("node-a", "lb", false)).json();
    expect(off).toEqual({ version: 2, modules: DEFAULT_MODULES });
    const reset = await resetOverride("node-a", "lb");
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ version: 3, modules: { ...DEFAULT_MODULES, lb: true } });
    expect((await modulesOf("node-a")).find((m: { name: string }) => m.name === "lb")).toMatchObject({
      desired: true,
      inherited: true,
    });
    // now following the default: a change of it reaches the node
    await putDefaults({ lb: false });
    const ack = (await ingest(n.credential, batch())).body.desired as DesiredState;
    expect(ack).toEqual({ version: 4, modules: DEFAULT_MODULES });
    // resetting what is not overridden changes nothing
    expect(await (await resetOverride("node-a", "lb")).json()).toEqual(ack);
    // an override equal to the default is kept (the node stays put when the default moves) but moves no version
    expect(await (await override("node-a", "accel", false)).json()).toEqual(ack);
    await putDefaults({ accel: true });
    expect((await ingest(n.credential, batch({ seq: 2 }))).body.desired.modules.accel).toBe(false);
  });

  it("are cut for agents of older wire versions, as the rest of the desired state", async () => {
    await putDefaults({ dns: false, lb: true });
    const { token } = await newJoinToken(s.app);
    const old = await postJoin(s.app, "node-old", token); // no version header: an agent before dns
    const joined = await old.json();
    expect(joined.desired.modules).not.toHaveProperty("dns");
    expect(joined.desired.modules.lb).toBe(true);
    const res = await send(s.app, "POST", "/api/v1/join", { token, node: "node-new" }, {
      [JOIN_WIRE_VERSION_HEADER]: String(WIRE_VERSION),
    });
    expect((await res.json()).desired.modules).toMatchObject({ dns: false, lb: true });
    const ack = await ingest(joined.credential, batch({ node: "node-old", v: WIRE_VERSION - 1 }));
    expect(ack.status).toBe(200);
    expect(ack.body.desired.modules).not.toHaveProperty("dns");
    expect(ack.body.desired.modules.lb).toBe(true);
  });
});

describe("DELETE /api/v1/nodes/:node", () => {
  it("refuses an unknown node with 404, a bad name with 400, and a reader with 403", async () => {
    const unknown = await deleteNode("node-z");
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toBe(
      "node 'node-z' not found: it never joined, reported nor was switched (or is deleted already)",
    );
    expect((await deleteNode("Node_Z")).status).toBe(400);
    const { token } = await newJoinToken(s.app);
    await join("node-a", token);
    expect((await deleteNode("node-a", AS_READER)).status).toBe(403);
    expect((await getJson(s.app, "/api/v1/nodes/node-a/modules")).status).toBe(200);
  });

  it("refuses the agent's credential, lists the node no more, and lets it join again fresh", async () => {
    await putDefaults({ gateway: true });
    const { token } = await newJoinToken(s.app);
    const first = await join("node-a", token);
    expect((await ingest(first.credential, batch({ inventory: inventory(), pods: [report(WEB, 1)] }))).status)
      .toBe(200);
    await override("node-a", "lb", true);
    const before = (await ingest(first.credential, batch({ seq: 2 }))).body.desired as DesiredState;

    const res = await deleteNode("node-a");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ node: "node-a", deleted: true });
    expect((await getJson(s.app, "/api/v1/nodes")).body).toEqual([]);
    expect((await getJson(s.app, "/api/v1/nodes/node-a")).status).toBe(404);
    expect((await getJson(s.app, "/api/v1/pods")).body).toMatchObject({ pods: [] });

    const refused = await ingest(first.credential, batch({ seq: 3 }));
    expect(refused).toEqual({ status: 401, body: { error: UNKNOWN_CREDENTIAL } });
    const poll = await s.app.request("/api/v1/lb/state", { headers: bearer(first.credential) });
    expect(poll.status).toBe(401);

    // a join token is what it takes to come back, and the node starts over: the defaults, no override
    const again = await join("node-a", token);
    expect(again.desired.modules).toEqual({ ...DEFAULT_MODULES, gateway: true });
    expect(again.desired.version).not.toBe(before.version);
    expect((await modulesOf("node-a")).every((m: { inherited: boolean }) => m.inherited)).toBe(true);
    const ack = await ingest(again.credential, batch({ seq: 1 }));
    expect(ack.body).toMatchObject({ ok: true, seq: 1, duplicate: false });
  });

  it("gives an agent that ran overrides a version its state never had, even when its version was the defaults'", async () => {
    const { token } = await newJoinToken(s.app);
    const first = await join("node-a", token);
    await override("node-a", "lb", true); // node-a at version 1
    await putDefaults({ accel: true }); // defaults at 2: node-a runs lb on, accel on at version 2
    const ran = (await ingest(first.credential, batch())).body.desired as DesiredState;
    expect(ran).toEqual({ version: 2, modules: { ...DEFAULT_MODULES, lb: true, accel: true } });
    await deleteNode("node-a");
    const again = await join("node-a", token);
    expect(again.desired.modules).toEqual({ ...DEFAULT_MODULES, accel: true });
    expect(again.desired.version).not.toBe(ran.version);
  });

  /**
   * Sends `request` while the node's deletion waits in the write queue behind a held transaction: the request
   * passes the route's credential check, then its write waits behind the deletion (100 ms is ample for it to get
   * there in process; the route cannot be seen waiting). Answers the request's answer.
   */
  async function deletedWhileQueued<T>(node: string, request: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    const held = writeTransaction(s.db, () => gate);
    const deleting = removeNode(s.db, node, s.clock.now); // queued now, before the request's write
    const answer = request();
    await new Promise((ok) => setTimeout(ok, 100));
    release();
    await held;
    expect(await deleting).toBe(true);
    return answer;
  }

  /** node-a joined and reported once; its credential. */
  async function reportingNodeA(): Promise<string> {
    const { credential } = await join("node-a", (await newJoinToken(s.app)).token);
    expect((await ingest(credential, batch({ node: "node-a" }))).status).toBe(200);
    return credential;
  }

  it("stores nothing of a batch that waited in the write queue while its node was deleted: 401, the node stays gone", async () => {
    const credential = await reportingNodeA();
    const answer = await deletedWhileQueued(
      "node-a",
      () => ingest(credential, batch({ node: "node-a", seq: 2, pods: [report(WEB, 1)] })),
    );
    expect(answer).toEqual({
      status: 401,
      body: { error: "node 'node-a' holds no live credential any more (deleted or revoked); join again" },
    });
    const dump = await dumpTables(s.db);
    for (const table of ["nodes", "boots", "interfaces", "pods"]) expect(dump[table], table).toEqual([]);
  });

  it("records no lb poll that waited in the write queue while its node was deleted", async () => {
    const credential = await reportingNodeA();
    const poll = await deletedWhileQueued(
      "node-a",
      async () => await s.app.request("/api/v1/lb/state?wait=0", { headers: bearer(credential) }),
    );
    expect(poll.status).toBeLessThan(300);
    expect((await dumpTables(s.db)).lb_nodes).toEqual([]);
  });

  it("resolves the alerts firing for the node at the next evaluation (no value is left to keep them firing)", async () => {
    const { token } = await newJoinToken(s.app);
    const a = await join("node-a", token);
    const b = await join("node-b", token);
    const ts = s.clock.now - 500;
    expect((await ingest(a.credential, batch({ node: "node-a", ts }))).status).toBe(200);
    expect((await ingest(b.credential, batch({ node: "node-b", ts }))).status).toBe(200);
    const silent = ThresholdInput.parse({
      metric: "heartbeatAgeSeconds",
      scope: { kind: "all" },
      upper: 60,
      holdSeconds: 0,
    });
    await createThreshold(s.db, silent, s.clock.now);
    const settings = { staleAfterMs: DEFAULT_APP_SETTINGS.staleAfterMs, retention: DEFAULT_RETENTION };
    const at = s.clock.now + 120_000; // both silent for 2 min
    expect(await evaluateAlerts(s.db, at, settings)).toMatchObject({ fired: 2 });
    expect((await deleteNode("node-a")).status).toBe(200);

    expect(await evaluateAlerts(s.db, at + 1_000, settings)).toMatchObject({ fired: 0, resolved: 1 });
    const rows = await s.db.select().from(alerts).orderBy(alerts.target);
    expect(rows.map((r) => [r.target, r.resolvedReason])).toEqual([["node-a", "no-data"], ["node-b", null]]);
    // and it does not fire again
    expect(await evaluateAlerts(s.db, at + 60_000, settings)).toMatchObject({ fired: 0, resolved: 0 });
  });

  it("the thousandth node joined, reported, switched and deleted leaves no registry row behind", async () => {
    const { token } = await newJoinToken(s.app, { expires: "never" });
    const NODE_TABLES = [
      "nodes",
      "boots",
      "interfaces",
      "node_inventories",
      "node_monitoring",
      "node_credentials",
      "desired_states",
      "lb_nodes",
      "pods",
      "dns_node_totals",
    ];
    for (let i = 1; i <= 1000; i++) {
      const node = `node-${i}`;
      const { credential } = await join(node, token);
      const pods = i % 100 === 0 ? [report(WEB, 1)] : undefined;
      const inv = i % 100 === 0 ? inventory() : undefined;
      expect((await ingest(credential, batch({ node, inventory: inv, pods }))).status).toBe(200);
      if (i % 10 === 0) await override(node, "lb", true);
      if (i % 100 === 0) await s.app.request("/api/v1/lb/state", { headers: bearer(credential) });
      expect((await deleteNode(node)).status, node).toBe(200);
    }
    const dump = await dumpTables(s.db);
    for (const table of NODE_TABLES) expect(dump[table], table).toEqual([]);
    expect(await nodesRemoved(s.db)).toEqual({ admin: 1000, lost: 0 });
  }, 120_000);
});

describe("removal of nodes Lost too long", () => {
  const rules = { lostAfterMs: DEFAULT_APP_SETTINGS.lostAfterMs, removeAfterMs: 7 * DAY };

  it("deletes a node only once it was Lost for longer than the setting, and counts it", async () => {
    const { token } = await newJoinToken(s.app);
    const gone = await join("node-gone", token);
    const polling = await join("node-polling", token);
    const alive = await join("node-alive", token);
    for (const [node, c] of [["node-gone", gone], ["node-polling", polling], ["node-alive", alive]] as const) {
      expect((await ingest(c.credential, batch({ node }))).status).toBe(200);
    }
    const start = s.clock.now;
    const lostFor = rules.lostAfterMs + rules.removeAfterMs;

    s.clock.now = start + lostFor - 1;
    expect(await ingest(alive.credential, batch({ node: "node-alive", seq: 2 }))).toMatchObject({ status: 200 });
    await s.app.request("/api/v1/lb/state", { headers: bearer(polling.credential) });
    expect(await removeLostNodes(s.db, s.clock.now, rules)).toEqual([]);

    s.clock.now = start + lostFor;
    expect(await removeLostNodes(s.db, s.clock.now, rules)).toEqual(["node-gone"]);
    expect((await getJson(s.app, "/api/v1/nodes")).body.map((n: { name: string }) => n.name)).toEqual([
      "node-alive",
      "node-polling",
    ]);
    expect((await ingest(gone.credential, batch({ node: "node-gone", seq: 2 }))).status).toBe(401);
    expect(await nodesRemoved(s.db)).toEqual({ admin: 0, lost: 1 });
    const metrics = await (await s.app.request("/metrics")).text();
    expect(metrics).toContain('ebpf_k8s_nodes_removed_total{reason="lost"} 1');
    expect(metrics).toContain('ebpf_k8s_nodes_removed_total{reason="admin"} 0');
  });

  it("is once-only work only when EBPF_K8S_REMOVE_LOST_NODES_AFTER is set", () => {
    const names = (removeLostNodesAfterMs: number | null) =>
      onceOnlyJobs(s.db, { ...DEFAULT_APP_SETTINGS, removeLostNodesAfterMs }).map((j) => j.name);
    expect(names(null)).not.toContain("lost node removal");
    expect(names(7 * DAY)).toContain("lost node removal");
  });

  it("runs on a timer with the once-only work and logs each node it removes", async () => {
    const { token } = await newJoinToken(s.app);
    for (const node of ["node-x", "node-y"]) {
      const { credential } = await join(node, token);
      expect((await ingest(credential, batch({ node }))).status).toBe(200);
    }
    const lines: string[] = [];
    const job = startLostNodeRemoval(
      s.db,
      { intervalMs: 10, ...rules },
      (line) => lines.push(line),
      () => s.clock.now + rules.lostAfterMs + rules.removeAfterMs,
    );
    try {
      await expect.poll(() => lines.length).toBe(2);
    } finally {
      await job.stop();
    }
    expect(lines).toEqual([
      "node node-x removed: Lost for longer than EBPF_K8S_REMOVE_LOST_NODES_AFTER (604800 s)",
      "node node-y removed: Lost for longer than EBPF_K8S_REMOVE_LOST_NODES_AFTER (604800 s)",
    ]);
    expect((await getJson(s.app, "/api/v1/nodes")).body).toEqual([]);
  });
});
