// SPDX-License-Identifier: Apache-2.0
/** Desired state: switching modules, versions, and the state reaching agents through acks and joins. */
import { describe, expect, it } from "vitest";
import {
  AS_ADMIN,
  batch,
  bearer,
  DEFAULT_DESIRED,
  getJson,
  inventory,
  newJoinToken,
  postBatch,
  postJoin,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";
import { BatchAck, DEFAULT_MODULES, DesiredState, JoinResponse, MODULES } from "../wire/batch.ts";

const s = useTestApp();

async function setModule(node: string, module: string, enabled: unknown) {
  const res = await send(s.app, "PUT", `/api/v1/nodes/${node}/modules/${module}`, { enabled }, AS_ADMIN);
  return { status: res.status, body: await res.json() };
}

describe("PUT /api/v1/nodes/:node/modules/:module", () => {
  it("answers the new desired state; the version rises by one per change and not for a no-op", async () => {
    expect(await setModule("node-a", "lb", true)).toEqual({
      status: 200,
      body: { version: 1, modules: { ...DEFAULT_MODULES, lb: true } },
    });
    expect((await setModule("node-a", "flows", false)).body).toEqual({
      version: 2,
      modules: { ...DEFAULT_MODULES, lb: true, flows: false },
    });
    // Already off: nothing changes, the version stays.
    expect((await setModule("node-a", "flows", false)).body.version).toBe(2);
    expect((await setModule("node-a", "lb", false)).body).toEqual({
      version: 3,
      modules: { ...DEFAULT_MODULES, flows: false },
    });
    DesiredState.parse((await setModule("node-a", "lb", false)).body);
  });

  it("keeps nodes apart", async () => {
    await setModule("node-a", "accel", true);
    expect(
      (await getJson(s.app, "/api/v1/nodes/node-b/modules")).body.find((m: { name: string }) => m.name === "accel")
        .desired,
    )
      .toBe(false);
  });

  it.each([
    ["Bad_Name", "lb", { enabled: true }, "node"],
    ["node-a", "nope", { enabled: true }, "module"],
    ["node-a", "lb", { enabled: "yes" }, "enabled"],
    ["node-a", "lb", {}, "enabled"],
    ["node-a", "lb", { enabled: true, force: true }, "force"],
  ])("400 naming the field: /nodes/%s/modules/%s %o", async (node, module, body, path) => {
    const res = await send(s.app, "PUT", `/api/v1/nodes/${node}/modules/${module}`, body, AS_ADMIN);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toContainEqual(expect.objectContaining({ path }));
  });
});

describe("GET /api/v1/nodes/:node/modules", () => {
  it("lists every module with the defaults for a node nobody switched, even one never seen", async () => {
    const { status, body } = await getJson(s.app, "/api/v1/nodes/never-seen/modules");
    expect(status).toBe(200);
    expect(body).toEqual(
      MODULES.map((name) => ({
        name,
        desired: DEFAULT_MODULES[name],
        inherited: true,
        state: null,
        error: null,
        pending: false,
      })),
    );
  });

  it("shows the switch as pending until the agent reports it applied", async () => {
    await postBatch(s.app, batch({ seq: 1, inventory: inventory() }));
    await setModule("node-a", "lb", true);
    const lb = async () =>
      (await getJson(s.app, "/api/v1/nodes/node-a/modules")).body.find((m: { name: string }) => m.name === "lb");
    expect(await lb()).toEqual({
      name: "lb",
      desired: true,
      inherited: false,
      state: "off",
      error: null,
      pending: true,
    });

    const applied = inventory({ modules: [{ name: "lb", desired: true, state: "on" }] });
    await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000, inventory: applied }));
    expect(await lb()).toEqual({
      name: "lb",
      desired: true,
      inherited: false,
      state: "on",
      error: null,
      pending: false,
    });
  });
});

describe("desired state reaches the agent", () => {
  it("in every ack, duplicates included, with the current version", async () => {
    const first = BatchAck.parse(await (await postBatch(s.app, batch({ seq: 1 }))).json());
    expect(first.desired).toEqual(DEFAULT_DESIRED);

    await setModule("node-a", "tcp", false);
    const second = BatchAck.parse(await (await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }))).json());
    expect(second.desired).toEqual({ version: 1, modules: { ...DEFAULT_MODULES, tcp: false } });

    await setModule("node-a", "tcp", true);
    const dup = BatchAck.parse(await (await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }))).json());
    expect(dup).toMatchObject({ duplicate: true, desired: { version: 2, modules: DEFAULT_MODULES } });
  });

  it("pre-provisioning: switches made before a node joins arrive in its JoinResponse and first ack", async () => {
    await setModule("new-node", "accel", true);
    const { token } = await newJoinToken(s.app);
    const joined = JoinResponse.parse(await (await postJoin(s.app, "new-node", token)).json());
    expect(joined.desired).toEqual({ version: 1, modules: { ...DEFAULT_MODULES, accel: true } });
    const ack = await (await postBatch(s.app, batch({ node: "new-node" }), bearer(joined.credential))).json();
    expect(ack.desired).toEqual(joined.desired);
  });

  it("a join answer without a wire version (an agent before the header) leaves out the modules newer than 5", async () => {
    const { token } = await newJoinToken(s.app);
    const plain = await (await postJoin(s.app, "join-a", token)).json();
    expect(Object.keys(plain.desired.modules)).toEqual(MODULES.filter((m) => m !== "dns")); // what a v5 agent knows
    expect(JoinResponse.parse(plain).desired.modules).toEqual(DEFAULT_MODULES); // what a v6 agent reads
    await setModule("join-b", "dns", false);
    const off = await (await postJoin(s.app, "join-b", token)).json();
    // switched off, still left out: a v5 agent knows no dns (and runs none); every v6 agent names its version
    expect(off.desired.modules).toEqual(
      Object.fromEntries(MODULES.filter((m) => m !== "dns").map((m) => [m, DEFAULT_MODULES[m]])),
    );
  });

  it("is shown in the node detail", async () => {
    await postBatch(s.app, batch());
    await setModule("node-a", "drops", false);
    s.clock.now += 1_000;
    const { body } = await getJson(s.app, "/api/v1/nodes/node-a");
    expect(body.desired).toEqual({ version: 1, modules: { ...DEFAULT_MODULES, drops: false } });
  });
});
