// SPDX-License-Identifier: Apache-2.0
/** The service model: smallest free ids, stable backend ids, one version per change, syncServices in one transaction. */
import { describe, expect, it } from "vitest";
import { dumpTables, T0, useTestDb } from "../test-support.ts";
import { LbState, type ServiceInput } from "../wire/services.ts";
import { ServiceConflict } from "./errors.ts";
import { backends, service } from "./fixtures.test-support.ts";
import { idAllocator } from "./ids.ts";
import { createService, deleteService, replaceService, setBackendState, syncServices } from "./model.ts";
import { lbState } from "./state.ts";
import { readVersion } from "./version.ts";

const t = useTestDb();

/** A service with its backends (port 8080, weight 1, active unless said otherwise). */
function svc(
  name: string,
  vip: string,
  list: Parameters<typeof backends> = [],
  more: Partial<ServiceInput> = {},
): ServiceInput {
  return service(name, vip, { backends: backends(...list), ...more });
}
const ref = (name: string, portName = "") => ({ namespace: "default", name, portName });

/** Ids by service name, and each service's backend ids by "ip:port". */
async function ids() {
  const { services } = await lbState(t.db);
  return Object.fromEntries(
    services.map((
      s,
    ) => [s.name, { id: s.id, backends: Object.fromEntries(s.backends.map((b) => [`${b.ip}:${b.port}`, b.id])) }]),
  );
}

describe("ids", () => {
  it("the allocator hands out the smallest free ids and stops at the maximum", () => {
    const next = idAllocator([1, 2, 4, 4, 7], 8);
    expect([next(), next(), next(), next(), next()]).toEqual([3, 5, 6, 8, undefined]);
    const empty = idAllocator([], 2);
    expect([empty(), empty(), empty()]).toEqual([1, 2, undefined]);
  });

  it("services and backends take the smallest free ids, freed ones included", async () => {
    await createService(t.db, svc("a", "10.96.0.1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }]), T0);
    await createService(t.db, svc("b", "10.96.0.2", [{ ip: "10.0.1.1" }, { ip: "10.0.1.2" }]), T0);
    await createService(t.db, svc("c", "10.96.0.3"), T0);
    expect(await ids()).toEqual({
      a: { id: 1, backends: { "10.0.0.1:8080": 1, "10.0.0.2:8080": 2, "10.0.0.3:8080": 3 } },
      b: { id: 2, backends: { "10.0.1.1:8080": 4, "10.0.1.2:8080": 5 } },
      c: { id: 3, backends: {} },
    });
    await deleteService(t.db, ref("b"), T0);
    await replaceService(t.db, ref("a"), svc("a", "10.96.0.1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.3" }]), T0);
    await createService(t.db, svc("d", "10.96.0.4", [{ ip: "10.0.2.1" }, { ip: "10.0.2.2" }, { ip: "10.0.2.3" }]), T0);
    expect(await ids()).toMatchObject({
      a: { id: 1, backends: { "10.0.0.1:8080": 1, "10.0.0.3:8080": 3 } },
      c: { id: 3 },
      d: { id: 2, backends: { "10.0.2.1:8080": 2, "10.0.2.2:8080": 4, "10.0.2.3:8080": 5 } },
    });
  });

  it("a backend keeps its id while its service lists the same ip and port, whatever else changes", async () => {
    await createService(t.db, svc("a", "10.96.0.1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]), T0);
    const before = await ids();
    await replaceService(
      t.db,
      ref("a"),
      svc("a", "10.96.0.9", [
        { ip: "10.0.0.2", weight: 5, state: "terminating", pod: { namespace: "default", name: "web-2" } },
        { ip: "10.0.0.1" },
        { ip: "10.0.0.3" },
      ], {
        affinity: "client",
      }),
      T0,
    );
    const after = await ids();
    expect(after.a!.backends).toEqual({ ...before.a!.backends, "10.0.0.3:8080": 3 });
    // Another port is another backend: the old ones go, and it takes the smallest id they freed.
    await replaceService(t.db, ref("a"), svc("a", "10.96.0.9", [{ ip: "10.0.0.2", port: 9090 }]), T0);
    expect((await ids()).a!.backends).toEqual({ "10.0.0.2:9090": 1 });
  });
});

describe("versions", () => {
  it("every change raises the version by one; a write that changes nothing does not", async () => {
    expect(await readVersion(t.db)).toBe(0);
    expect(await createService(t.db, svc("a", "10.96.0.1", [{ ip: "10.0.0.1" }]), T0)).toEqual({ version: 1, id: 1 });
    expect(await createService(t.db, svc("b", "10.96.0.2"), T0)).toEqual({ version: 2, id: 2 });
    expect(await replaceService(t.db, ref("a"), svc("a", "10.96.0.1", [{ ip: "10.0.0.1" }]), T0)).toEqual({
      version: 2,
      id: 1,
    });
    expect(await setBackendState(t.db, ref("a"), { ip: "10.0.0.1", port: 8080 }, "active", T0)).toEqual({
      version: 2,
      id: 1,
    });
    expect(await setBackendState(t.db, ref("a"), { ip: "10.0.0.1", port: 8080 }, "unhealthy", T0)).toEqual({
      version: 3,
      id: 1,
    });
    expect(await setBackendState(t.db, ref("a"), { ip: "10.0.0.9", port: 8080 }, "unhealthy", T0)).toEqual({
      missing: "backend",
    });
    expect(await setBackendState(t.db, ref("zz"), { ip: "10.0.0.1", port: 8080 }, "unhealthy", T0)).toEqual({
      missing: "service",
    });
    expect(await deleteService(t.db, ref("b"), T0)).toEqual({ version: 4, id: 2 });
    expect(await deleteService(t.db, ref("b"), T0)).toBeUndefined();
    expect(await readVersion(t.db)).toBe(4);
    // Each service carries the version of its own latest change.
    const rows = await t.db.$client.execute("SELECT name, version, assigned_version FROM services");
    expect(rows.rows.map((r) => ({ ...r }))).toEqual([{ name: "a", version: 3, assigned_version: 1 }]);
  });

  it("lbState: every service with its backends and Maglev table size, in id order", async () => {
    await createService(
      t.db,
      svc("a", "10.96.0.1", [{ ip: "10.0.0.2", weight: 3, pod: { namespace: "default", name: "web-1" } }, {
        ip: "10.0.0.1",
      }], { portName: "http" }),
      T0,
    );
    await createService(
      t.db,
      svc("b", "10.96.0.2", [], { protocol: "UDP", port: 53, affinity: "client", affinityTimeoutS: 60 }),
      T0,
    );
    const state = await lbState(t.db);
    expect(LbState.parse(state)).toEqual(state);
    expect(state).toEqual({
      version: 2,
      services: [
        {
          id: 1,
          namespace: "default",
          name: "a",
          portName: "http",
          vip: "10.96.0.1",
          port: 80,
          protocol: "TCP",
          affinity: "none",
          affinityTimeoutS: 10800,
          tableSize: 251,
          type: "ClusterIP",
          externalIPs: [],
          backends: [
            {
              id: 1,
              ip: "10.0.0.2",
              port: 8080,
              weight: 3,
              state: "active",
              pod: { namespace: "default", name: "web-1" },
            },
            { id: 2, ip: "10.0.0.1", port: 8080, weight: 1, state: "active" },
          ],
        },
        {
          id: 2,
          namespace: "default",
          name: "b",
          portName: "",
          vip: "10.96.0.2",
          port: 53,
          protocol: "UDP",
          affinity: "client",
          affinityTimeoutS: 60,
          tableSize: 251,
          backends: [],
          type: "ClusterIP",
          externalIPs: [],
        },
      ],
    });
  });

  it("the Maglev table grows with the backends and never shrinks", async () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
    await createService(t.db, svc("a", "10.96.0.1", many(3)), T0);
    await replaceService(t.db, ref("a"), svc("a", "10.96.0.1", many(6)), T0);
    expect((await lbState(t.db)).services[0]!.tableSize).toBe(1021);
    await replaceService(t.db, ref("a"), svc("a", "10.96.0.1", many(1)), T0);
    expect((await lbState(t.db)).services[0]!.tableSize).toBe(1021);
  });
});

describe("syncServices", () => {
  const list = [
    svc("web", "10.96.0.10", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }], { portName: "http" }),
    svc("web", "10.96.0.10", [{ ip: "10.0.0.1", port: 8443 }], { portName: "https", port: 443 }),
    svc("dns", "10.96.0.53", [{ ip: "10.0.0.3", port: 53 }], { port: 53, protocol: "UDP" }),
  ];

  it("makes the source's services the list, in one version; the same list again changes nothing", async () => {
    await createService(t.db, svc("manual", "10.96.1.1"), T0);
    expect(await syncServices(t.db, "kubernetes", list, T0)).toEqual({ version: 2, changed: 3 });
    const first = await ids();
    expect(await syncServices(t.db, "kubernetes", list, T0 + 1)).toEqual({ version: 2, changed: 0 });
    // Partial input (defaults left out) is the same services.
    const { affinity: _a, affinityTimeoutS: _t, ...bare } = list[2]!;
    expect(await syncServices(t.db, "kubernetes", [list[0]!, list[1]!, bare as ServiceInput], T0 + 2)).toEqual({
      version: 2,
      changed: 0,
    });

    // One backend's state changes and one service goes: two services changed, one version.
    const next = [{
      ...list[0]!,
      backends: [list[0]!.backends[0]!, { ...list[0]!.backends[1]!, state: "terminating" as const }],
    }, list[1]!];
    expect(await syncServices(t.db, "kubernetes", next, T0 + 3)).toEqual({ version: 3, changed: 2 });
    const after = await ids();
    expect(after).toEqual({ manual: first.manual, web: first.web });
    const rows = await t.db.$client.execute(
      "SELECT name, port_name, source, version, updated_at FROM services ORDER BY id",
    );
    expect(rows.rows.map((r) => ({ ...r }))).toEqual([
      { name: "manual", port_name: "", source: "api", version: 1, updated_at: T0 },
      { name: "web", port_name: "http", source: "kubernetes", version: 3, updated_at: T0 + 3 },
      { name: "web", port_name: "https", source: "kubernetes", version: 2, updated_at: T0 },
    ]);
    // An empty list removes the source's services, never the other source's.
    expect(await syncServices(t.db, "kubernetes", [], T0 + 4)).toEqual({ version: 4, changed: 2 });
    expect(Object.keys(await ids())).toEqual(["manual"]);
  });

  it("two services may swap frontends in one sync", async () => {
    await syncServices(t.db, "kubernetes", [svc("a", "10.96.0.1"), svc("b", "10.96.0.2")], T0);
    expect(await syncServices(t.db, "kubernetes", [svc("a", "10.96.0.2"), svc("b", "10.96.0.1")], T0)).toEqual({
      version: 2,
      changed: 2,
    });
    expect((await lbState(t.db)).services.map((s) => [s.id, s.name, s.vip])).toEqual([
      [1, "a", "10.96.0.2"],
      [2, "b", "10.96.0.1"],
    ]);
  });

  it.each([
    [
      "a frontend of a service from the API",
      [svc("web", "10.96.1.1")],
      "frontend",
      "10.96.1.1:80/TCP is already the frontend of default/manual (unnamed port)",
    ],
    [
      "a name made through the API",
      [svc("manual", "10.96.9.9")],
      "managed",
      "default/manual (unnamed port) was made through the API; Kubernetes cannot define it until it is deleted there",
    ],
    [
      "one name twice",
      [svc("web", "10.96.9.1"), svc("web", "10.96.9.2")],
      "name",
      "default/web (unnamed port) is listed twice",
    ],
    [
      "one frontend twice",
      [svc("web", "10.96.9.1"), svc("api", "10.96.9.1")],
      "frontend",
      "10.96.9.1:80/TCP is already the frontend of default/web (unnamed port)",
    ],
  ])("refuses %s and writes nothing", async (_, bad, conflict, message) => {
    await createService(t.db, svc("manual", "10.96.1.1"), T0);
    await syncServices(t.db, "kubernetes", list, T0);
    const before = await dumpTables(t.db);
    const attempt = syncServices(t.db, "kubernetes", [
      ...list.slice(1),
      svc("new", "10.96.7.7", [{ ip: "10.0.7.7" }]),
      ...bad,
    ], T0 + 1);
    await expect(attempt).rejects.toThrow(ServiceConflict);
    await expect(attempt).rejects.toMatchObject({ conflict, message });
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("an invalid entry throws before anything is written", async () => {
    const before = await dumpTables(t.db);
    await expect(syncServices(t.db, "kubernetes", [list[0]!, { ...list[1]!, vip: "nope" }], T0)).rejects.toThrow(
      /must be an IPv4 address/,
    );
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("a write failing half-way leaves nothing behind", async () => {
    await syncServices(t.db, "kubernetes", list, T0);
    const before = await dumpTables(t.db);
    // A trigger that fails the last statement of the next change (inserting its new backend).
    await t.db.$client.execute(
      "CREATE TEMP TRIGGER fail AFTER INSERT ON service_backends BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const changed = [{
      ...list[0]!,
      backends: [{ ...list[0]!.backends[0]!, weight: 9 }, { ...list[0]!.backends[0]!, ip: "10.0.0.9" }],
    }];
    await expect(syncServices(t.db, "kubernetes", changed, T0 + 1)).rejects.toThrow(
      /Failed query: insert into "service_backends"/,
    );
    await t.db.$client.execute("DROP TRIGGER fail");
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("the API cannot change what Kubernetes manages", async () => {
    await syncServices(t.db, "kubernetes", list, T0);
    const managed = {
      conflict: "managed",
      message: 'default/web port "http" is managed by Kubernetes: change its Service or EndpointSlices instead',
    };
    await expect(replaceService(t.db, ref("web", "http"), list[0]!, T0)).rejects.toMatchObject(managed);
    await expect(deleteService(t.db, ref("web", "http"), T0)).rejects.toMatchObject(managed);
    await expect(setBackendState(t.db, ref("web", "http"), { ip: "10.0.0.1", port: 8080 }, "unhealthy", T0)).rejects
      .toMatchObject(managed);
    await expect(createService(t.db, list[0]!, T0)).rejects.toMatchObject({
      conflict: "name",
      message: 'default/web port "http" already exists',
    });
  });
});
