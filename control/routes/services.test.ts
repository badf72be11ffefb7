// SPDX-License-Identifier: Apache-2.0
/** The services API: exact JSON, the auth matrix, 400/404/409 bodies, the unnamed port in paths. */
import { describe, expect, it } from "vitest";
import { syncServices } from "../services/model.ts";
import {
  AS_ADMIN,
  bearer,
  credentialFor,
  dumpTables,
  getJson,
  READ_TOKEN,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";

const s = useTestApp();

const WEB = {
  namespace: "default",
  name: "web",
  portName: "http",
  vip: "10.96.0.10",
  port: 80,
  protocol: "TCP",
  backends: [
    { ip: "10.244.1.5", port: 8080, weight: 3, pod: { namespace: "default", name: "web-1" } },
    { ip: "10.244.2.7", port: 8080 },
  ],
};

async function create(body: unknown = WEB) {
  const res = await send(s.app, "POST", "/api/v1/services", body, AS_ADMIN);
  return { status: res.status, body: await res.json() };
}

const AT = new Date(T0 + 500).toISOString();
/** The default window (1 h) at the test clock: whole minutes, the current one up to now. */
const HOUR_WINDOW = {
  since: "2023-11-14T21:13:00.000Z",
  until: "2023-11-14T22:14:00.000Z",
  level: "1m",
  seconds: 3620.5,
};

const WEB_VIEW = {
  id: 1,
  namespace: "default",
  name: "web",
  portName: "http",
  vip: "10.96.0.10",
  port: 80,
  protocol: "TCP",
  affinity: "none",
  affinityTimeoutS: 10800,
  tableSize: 251,
  source: "api",
  version: 1,
  createdAt: AT,
  updatedAt: AT,
  connections: 0,
  refused: 0,
  type: "ClusterIP",
  externalIPs: [],
  gateway: {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    events: { flows: 0, evicted: 0, snatBusy: 0, noBackend: 0, toStack: 0, expired: 0 },
    frontends: [],
  },
  accel: { connections: 0, bytes: 0, rules: [] },
  backends: [
    {
      id: 1,
      ip: "10.244.1.5",
      port: 8080,
      weight: 3,
      state: "active",
      pod: { namespace: "default", name: "web-1" },
      connections: 0,
      share: null,
      expectedShare: 0.75,
    },
    {
      id: 2,
      ip: "10.244.2.7",
      port: 8080,
      weight: 1,
      state: "active",
      connections: 0,
      share: null,
      expectedShare: 0.25,
    },
  ],
  health: { active: 2, terminating: 0, unhealthy: 0, nodes: { inSync: 0, total: 0 } },
};

describe("create, read, replace, delete", () => {
  it("POST answers 201 with the service as GET shows it; the list carries the version, window and nodes", async () => {
    expect(await create()).toEqual({ status: 201, body: WEB_VIEW });
    expect(await getJson(s.app, "/api/v1/services")).toEqual({
      status: 200,
      body: { version: 1, window: HOUR_WINDOW, nodes: [], services: [WEB_VIEW] },
    });
    expect(await getJson(s.app, "/api/v1/services/default/web/http")).toEqual({ status: 200, body: WEB_VIEW });
    const byName = await getJson(s.app, "/api/v1/services/default/web?since=5m");
    expect(byName.body.services).toEqual([WEB_VIEW]);
    expect(byName.body.window).toEqual({
      since: "2023-11-14T22:08:00.000Z",
      until: "2023-11-14T22:14:00.000Z",
      level: "1m",
      seconds: 320.5,
    });
  });

  it("GET by name lists all its ports, in port-name order", async () => {
    await create({ ...WEB, portName: "https", port: 443 });
    await create();
    await create({ ...WEB, name: "api", vip: "10.96.0.11" });
    const { body } = await getJson(s.app, "/api/v1/services/default/web");
    expect(body.services.map((v: { portName: string; port: number }) => [v.portName, v.port])).toEqual([["http", 80], [
      "https",
      443,
    ]]);
  });

  it("PUT replaces the whole service; the unnamed port is '-' or no segment; names may be left out of the body", async () => {
    const unnamed = { ...WEB, portName: "" };
    expect((await create(unnamed)).status).toBe(201);
    s.clock.now += 1_000;
    const { namespace: _n, name: _m, portName: _p, ...rest } = unnamed;
    const res = await send(s.app, "PUT", "/api/v1/services/default/web/-", {
      ...rest,
      affinity: "client",
      backends: [{ ip: "10.244.2.7", port: 8080, state: "terminating" }],
    }, AS_ADMIN);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ...WEB_VIEW,
      portName: "",
      affinity: "client",
      version: 2,
      updatedAt: new Date(T0 + 1_500).toISOString(),
      backends: [{
        id: 2,
        ip: "10.244.2.7",
        port: 8080,
        weight: 1,
        state: "terminating",
        connections: 0,
        share: null,
        expectedShare: null,
      }],
      health: { active: 0, terminating: 1, unhealthy: 0, nodes: { inSync: 0, total: 0 } },
    });
    const again = await send(s.app, "PUT", "/api/v1/services/default/web", unnamed, AS_ADMIN);
    expect((await again.json()).backends.map((b: { id: number }) => b.id)).toEqual([1, 2]);
    expect((await getJson(s.app, "/api/v1/services/default/web/-")).body.version).toBe(3);
  });

  it("NodePort and LoadBalancer: nodePort and externalIPs round-trip; a ClusterIP takes none; a NodePort or external frontend is one service's", async () => {
    const lb = { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] };
    const made = await create(lb);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] });
    const got = (await getJson(s.app, "/api/v1/services/default/web/http")).body;
    expect(got.services?.[0] ?? got).toMatchObject({
      type: "LoadBalancer",
      nodePort: 30080,
      externalIPs: ["203.0.113.7"],
    });

    const bad = async (body: object, path: string) => {
      const r = await create({ ...WEB, name: "other", ...body });
      expect(r.status).toBe(400);
      expect(r.body.issues.map((i: { path: string }) => i.path)).toContain(path);
    };
    await bad({ nodePort: 30081 }, "nodePort"); // a ClusterIP has none
    await bad({ type: "NodePort" }, "nodePort"); // a NodePort needs one
    await bad({ type: "NodePort", nodePort: 80 }, "nodePort"); // out of 30000-32767
    await bad({ externalIPs: ["203.0.113.7", "203.0.113.7"] }, "externalIPs");

    const clash = await create({ ...WEB, name: "other", vip: "10.96.0.11", type: "NodePort", nodePort: 30080 });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toBe('*:30080/TCP is already the frontend of default/web port "http"');
    const ext = await create({ ...WEB, name: "other", vip: "10.96.0.11", externalIPs: ["203.0.113.7"] });
    expect(ext.status).toBe(409);
    expect((await create({ ...WEB, name: "other", vip: "10.96.0.11", type: "NodePort", nodePort: 30081 })).status).toBe(
      201,
    );
  });

  it("PATCH sets one backend's state; DELETE answers the service as it was", async () => {
    await create();
    const patched = await send(s.app, "PATCH", "/api/v1/services/default/web/http/backends/10.244.1.5:8080", {
      state: "unhealthy",
    }, AS_ADMIN);
    expect(patched.status).toBe(200);
    const view = await patched.json();
    expect(view.backends.map((b: { state: string; expectedShare: number }) => [b.state, b.expectedShare])).toEqual([[
      "unhealthy",
      0,
    ], ["active", 1]]);
    expect(view).toMatchObject({ version: 2, health: { active: 1, unhealthy: 1 } });

    const deleted = await send(s.app, "DELETE", "/api/v1/services/default/web/http", undefined, AS_ADMIN);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual(view);
    expect((await getJson(s.app, "/api/v1/services")).body).toMatchObject({ version: 3, services: [] });
  });
});

describe("refusals", () => {
  const notFound = (what: string) => ({ status: 404, body: { error: what } });

  it("404 naming the service or backend", async () => {
    await create();
    expect(await getJson(s.app, "/api/v1/services/default/nope")).toEqual(notFound("no service default/nope"));
    expect(await getJson(s.app, "/api/v1/services/default/web/-")).toEqual(
      notFound("no service default/web (unnamed port)"),
    );
    const put = await send(s.app, "PUT", "/api/v1/services/default/web/https", { ...WEB, portName: "https" }, AS_ADMIN);
    expect({ status: put.status, body: await put.json() }).toEqual(notFound('no service default/web port "https"'));
    expect((await send(s.app, "DELETE", "/api/v1/services/default/web", undefined, AS_ADMIN)).status).toBe(404);
    const patch = await send(s.app, "PATCH", "/api/v1/services/default/web/http/backends/10.244.9.9:80", {
      state: "active",
    }, AS_ADMIN);
    expect({ status: patch.status, body: await patch.json() }).toEqual(
      notFound('default/web port "http" has no backend 10.244.9.9:80'),
    );
  });

  it("409 naming the conflict: the same name and port, the same VIP:port/protocol, a service Kubernetes manages", async () => {
    await create();
    expect(await create({ ...WEB, vip: "10.96.0.99" })).toEqual({
      status: 409,
      body: {
        error: 'default/web port "http" already exists',
        conflict: "name",
        service: { namespace: "default", name: "web", portName: "http" },
      },
    });
    expect(await create({ ...WEB, name: "other" })).toEqual({
      status: 409,
      body: {
        error: '10.96.0.10:80/TCP is already the frontend of default/web port "http"',
        conflict: "frontend",
        service: { namespace: "default", name: "web", portName: "http" },
      },
    });
    // The same VIP and port over UDP is another frontend.
    expect((await create({ ...WEB, name: "other", protocol: "UDP" })).status).toBe(201);

    await syncServices(s.db, "kubernetes", [{
      ...WEB,
      namespace: "kube-system",
      name: "dns",
      portName: "",
      vip: "10.96.0.53",
      port: 53,
      protocol: "UDP",
      affinity: "none",
      affinityTimeoutS: 10800,
      backends: [],
      type: "ClusterIP",
      externalIPs: [],
    }], T0);
    const managed = {
      error: "kube-system/dns (unnamed port) is managed by Kubernetes: change its Service or EndpointSlices instead",
      conflict: "managed",
      service: { namespace: "kube-system", name: "dns", portName: "" },
    };
    const before = await dumpTables(s.db);
    for (
      const [method, path, body] of [
        ["PUT", "/api/v1/services/kube-system/dns", { vip: "10.96.0.53", port: 53, protocol: "UDP" }],
        ["DELETE", "/api/v1/services/kube-system/dns/-", undefined],
        ["PATCH", "/api/v1/services/kube-system/dns/-/backends/10.244.1.1:53", { state: "active" }],
      ] as const
    ) {
      const res = await send(s.app, method, path, body, AS_ADMIN);
      expect({ status: res.status, body: await res.json() }, `${method} ${path}`).toEqual({
        status: 409,
        body: managed,
      });
    }
    expect(await dumpTables(s.db)).toEqual(before);
  });

  it.each([
    [{ ...WEB, vip: undefined }, "vip", "must be an IPv4 address"],
    [{ ...WEB, vip: "10.96.0" }, "vip", "must be an IPv4 address"],
    [{ ...WEB, port: 0 }, "port", "must be a port from 1 to 65535"],
    [{ ...WEB, protocol: "SCTP" }, "protocol", 'Invalid option: expected one of "TCP"|"UDP"'],
    [{ ...WEB, portName: "HTTP" }, "portName", "must be a lowercase port name or empty"],
    [
      { ...WEB, backends: [{ ip: "10.244.1.5", port: 8080, weight: 0 }] },
      "backends.0.weight",
      "Too small: expected number to be >=1",
    ],
    [
      { ...WEB, backends: [{ ip: "10.244.1.5", port: 8080, state: "draining" }] },
      "backends.0.state",
      'Invalid option: expected one of "active"|"terminating"|"unhealthy"',
    ],
    [
      { ...WEB, backends: [{ ip: "10.244.1.5", port: 8080 }, { ip: "10.244.1.5", port: 8080 }] },
      "backends",
      "must not list the same ip:port twice",
    ],
    [{ ...WEB, color: "blue" }, "color", "unknown field"],
  ])("400 naming the field: %o → %s", async (body, path, message) => {
    const res = await create(body);
    expect(res).toEqual({ status: 400, body: { error: "invalid service", issues: [{ path, message }] } });
  });

  it("400 for a PUT whose body names another service, bad path and query parameters, and a body that is not JSON", async () => {
    await create();
    const other = await send(
      s.app,
      "PUT",
      "/api/v1/services/default/web/http",
      { ...WEB, name: "api", portName: "" },
      AS_ADMIN,
    );
    expect(await other.json()).toEqual({
      error: "invalid service",
      issues: [
        { path: "name", message: 'must be "web" as in the path' },
        { path: "portName", message: 'must be "http" as in the path' },
      ],
    });
    expect(await getJson(s.app, "/api/v1/services/default/web/HTTP")).toEqual({
      status: 400,
      body: {
        error: "invalid path parameter 'portName': must be a lowercase port name, or \"-\" for the unnamed port",
        issues: [{ path: "portName", message: 'must be a lowercase port name, or "-" for the unnamed port' }],
      },
    });
    expect((await getJson(s.app, "/api/v1/services?since=yesterday")).body.issues[0].path).toBe("since");
    expect((await getJson(s.app, "/api/v1/services?sort=name")).body.issues).toEqual([{
      path: "sort",
      message: "unknown field",
    }]);
    const patch = await send(
      s.app,
      "PATCH",
      "/api/v1/services/default/web/http/backends/10.244.1.5",
      { state: "gone" },
      AS_ADMIN,
    );
    expect((await patch.json()).issues).toEqual([{
      path: "endpoint",
      message: 'must be a backend as "ip:port", e.g. "10.244.1.5:8080"',
    }]);
    const state = await send(s.app, "PATCH", "/api/v1/services/default/web/http/backends/10.244.1.5:8080", {
      state: "gone",
    }, AS_ADMIN);
    expect((await state.json()).issues).toEqual([{
      path: "state",
      message: 'Invalid option: expected one of "active"|"terminating"|"unhealthy"',
    }]);
    expect(await (await send(s.app, "POST", "/api/v1/services", "{", AS_ADMIN)).json()).toEqual({
      error: "body is not JSON",
    });
  });
});

describe("auth", () => {
  const writes: Array<[method: string, path: string, body?: unknown]> = [
    ["POST", "/api/v1/services", { ...WEB, name: "new", vip: "10.96.0.20" }],
    ["PUT", "/api/v1/services/default/web/http", WEB],
    ["PATCH", "/api/v1/services/default/web/http/backends/10.244.1.5:8080", { state: "terminating" }],
    ["DELETE", "/api/v1/services/default/web/http"],
  ];

  it.each(writes)(
    "%s %s: 401 without a token, 401 with a node credential, 403 with the read token, then the admin's",
    async (method, path, body) => {
      await create();
      const before = await dumpTables(s.db);
      const node = await credentialFor(s.app, "node-a");
      const tables = await dumpTables(s.db);
      for (
        const [headers, status, error] of [
          [{}, 401, "admin token required"],
          [bearer(node), 401, "invalid token"],
          [bearer(READ_TOKEN), 403, "this needs the admin token, not the read token"],
        ] as const
      ) {
        const res = await send(s.app, method, path, body, headers);
        expect({ status: res.status, body: await res.json() }).toEqual({ status, body: { error } });
      }
      expect(await dumpTables(s.db)).toEqual(tables);
      expect(before).not.toEqual(tables); // joining wrote, the refusals did not
      expect((await send(s.app, method, path, body, AS_ADMIN)).status).toBeLessThan(300);
    },
  );

  it("reads are open by default; with EBPF_K8S_READ_AUTH=token they need the read or the admin token", async () => {
    await create();
    expect((await getJson(s.app, "/api/v1/services")).status).toBe(200);
    s.rebuild({ settings: { readAuth: "token" } });
    for (const path of ["/api/v1/services", "/api/v1/services/default/web", "/api/v1/services/default/web/http"]) {
      expect(await getJson(s.app, path)).toEqual({ status: 401, body: { error: "token required to read" } });
      expect((await getJson(s.app, path, bearer(READ_TOKEN))).status).toBe(200);
      expect((await getJson(s.app, path, AS_ADMIN)).status).toBe(200);
    }
  });
});
