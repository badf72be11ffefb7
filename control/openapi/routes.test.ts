// SPDX-License-Identifier: Apache-2.0
/**
 * The document and the app agree: every JSON route the app registers (the
 * probes and everything under /api/v1) has its operation, and every
 * operation has its route. Hono lists its routes in `app.routes`, one entry
 * per handler and middleware; a path with an optional last segment
 * (`/:portName?`) answers both paths, so it stands for both.
 */
import { describe, expect, it } from "vitest";
import { openTestDb, testApp } from "../test-support.ts";
import { documentedRoutes, registeredRoutes } from "./route-walk.ts";
import { OPERATIONS } from "./operations.ts";

describe("the API's routes and the OpenAPI operations", () => {
  it("match both ways", async () => {
    const t = await openTestDb();
    try {
      const { app } = testApp(t.db);
      const registered = registeredRoutes(app.routes);
      const documented = documentedRoutes(OPERATIONS);
      expect(registered.length).toBeGreaterThan(40);
      expect({ undocumented: registered.filter((r) => !documented.includes(r)) }).toEqual({ undocumented: [] });
      expect({ withoutRoute: documented.filter((d) => !registered.includes(d)) }).toEqual({ withoutRoute: [] });
    } finally {
      t.close();
    }
  });

  it("turns Hono's paths into OpenAPI's, an optional last segment into both paths", () => {
    const routes = [
      { method: "ALL", path: "/*" },
      { method: "GET", path: "/api/v1/nodes/:node" },
      { method: "GET", path: "/api/v1/nodes/:node" },
      { method: "DELETE", path: "/api/v1/services/:namespace/:name/:portName?" },
      { method: "GET", path: "/flows" },
      { method: "GET", path: "/healthz" },
    ];
    expect(registeredRoutes(routes)).toEqual([
      "DELETE /api/v1/services/{namespace}/{name}",
      "DELETE /api/v1/services/{namespace}/{name}/{portName}",
      "GET /api/v1/nodes/{node}",
      "GET /healthz",
    ]);
  });

  it("names every path parameter of each operation in its params schema, and no other", () => {
    for (const op of OPERATIONS) {
      const inPath = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect({ op: `${op.method} ${op.path}`, params: Object.keys(op.params?.shape ?? {}).sort() })
        .toEqual({ op: `${op.method} ${op.path}`, params: inPath });
    }
  });
});
