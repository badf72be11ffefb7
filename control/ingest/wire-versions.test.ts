// SPDX-License-Identifier: Apache-2.0
/**
 * The compatibility rule on the control plane's side (control/wire/version.ts):
 * it accepts its own wire version and the one before, answers any other 409
 * with the versions it accepts, says the same at GET /api/v1/wire, and holds a
 * batch to the version it declares (no field a later version added).
 */
import { describe, expect, it } from "vitest";
import { ack, batch, getJson, inventory, postBatch, T0, useTestApp } from "../test-support.ts";
import { WIRE_VERSION } from "../wire/batch.ts";
import { dnsRecordsFixture } from "../wire/compact/fixtures.test-support.ts";
import { ADDED_IN, desiredForWireVersion, downgradeBatch } from "../wire/version.ts";

const N = WIRE_VERSION;
/** The newest version that added fields (5: drops' service; 4 added none, it may travel compact). */
const LAST_ADDING = Math.max(...Object.entries(ADDED_IN).filter(([, p]) => p.length > 0).map(([v]) => Number(v)));
/**
 * A batch of this version carrying every field it may (3 added gateway.frontends, 5 drops' service, 6 dns and
 * the module "dns" in the inventory).
 */
const full = (seq: number) =>
  batch({
    seq,
    ts: T0 + seq,
    inventory: inventory({
      spool: { pending: 1, dropped: 0, quarantined: 2, merged: 0 },
      modules: [{ name: "ifstats", desired: true, state: "on" }, { name: "dns", desired: true, state: "on" }],
      programs: [{ id: 51, name: "dns_ingress", type: "sched_cls", module: "dns", attach: "tc ingress veth0" }],
      maps: [{ id: 8, name: "dns_servers", type: "lru_hash", module: "dns", maxEntries: 4096, entries: 1 }],
    }),
    dns: dnsRecordsFixture(),
    gateway: { version: 0, services: [], flows: 0, evicted: 0, noBackend: 0, frontends: [] },
    drops: [
      { pod: "uid-web", reason: "NO_SOCKET", packets: 1, bytes: 60 },
      { pod: "uid-web", reason: "NO_SOCKET", packets: 2, bytes: 120, service: "shop/web" },
    ],
  });

/** The answer to a batch of version `v`: its desired state names no module added after `v`. */
const ackOf = (seq: number, v: number) => ({ ...ack(seq), desired: desiredForWireVersion(ack(seq).desired, v) });

describe("a control plane of the current wire version", () => {
  const s = useTestApp();

  it("says what it accepts: its version and the one before", async () => {
    expect(await getJson(s.app, "/api/v1/wire")).toEqual({
      status: 200,
      body: { version: N, accepts: [N - 1, N], started: T0 + 500 },
    });
  });

  it("stores batches of both, the older one without the fields added since", async () => {
    const older = { ...batch({ seq: 1, inventory: inventory() }), v: N - 1 };
    expect(await (await postBatch(s.app, older)).json()).toEqual(ackOf(1, N - 1));
    expect(await (await postBatch(s.app, full(2))).json()).toEqual(ack(2));
  });

  it("refuses a newer version, and any v that is no version, with 409 and the versions it accepts", async () => {
    for (const v of [N + 1, 0, "2", null]) {
      const res = await postBatch(s.app, { ...batch(), v });
      expect(res.status, `v: ${JSON.stringify(v)}`).toBe(409);
      expect(await res.json()).toMatchObject({ error: "unsupported wire version", version: N, accepts: [N - 1, N] });
    }
  });
});

describe(`a control plane of version ${LAST_ADDING}, the last that added fields`, () => {
  const s = useTestApp({ settings: { wireVersion: LAST_ADDING } });

  it("refuses (400, naming it) a field of a later version in a batch that says it is older", async () => {
    const res = await postBatch(s.app, { ...full(1), v: LAST_ADDING - 1 });
    expect(res.status).toBe(400);
    const issues = (await res.json()).issues;
    // each field, and each module's inventory entry, where it is first found
    for (const path of ["dns", "inventory.modules.1", "inventory.programs.0", "inventory.maps.0"]) {
      expect(issues).toContainEqual({ path, message: `not part of wire version ${LAST_ADDING - 1} (added later)` });
    }
  });
});

describe("a control plane one version behind the agents (N−1)", () => {
  const s = useTestApp({ settings: { wireVersion: N - 1 } });

  it("refuses version N with 409, and takes the same batch written as N−1 by the agent's downgrade", async () => {
    const res = await postBatch(s.app, full(1));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ version: N - 1, accepts: N - 1 > 1 ? [N - 2, N - 1] : [N - 1] });
    const written = downgradeBatch(full(1), N - 1)!;
    expect(written.v).toBe(N - 1);
    // and answers with a desired state that agent's schema reads: without the modules added since
    const answer = await (await postBatch(s.app, written)).json();
    expect(answer).toEqual(ackOf(1, N - 1));
    expect(Object.keys(answer.desired.modules)).not.toContain("dns");
  });
});

describe("a control plane one version ahead of the agents (N+1)", () => {
  const s = useTestApp({ settings: { wireVersion: N + 1 } });

  it("accepts N and N+1, and refuses N−1", async () => {
    expect((await getJson(s.app, "/api/v1/wire")).body).toMatchObject({ version: N + 1, accepts: [N, N + 1] });
    expect(await (await postBatch(s.app, full(1))).json()).toEqual(ack(1));
    expect(await (await postBatch(s.app, { ...batch({ seq: 2 }), v: N + 1 })).json()).toEqual(ack(2));
    expect((await postBatch(s.app, { ...batch({ seq: 3 }), v: N - 1 })).status).toBe(409);
  });
});
