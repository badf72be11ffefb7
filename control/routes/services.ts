// SPDX-License-Identifier: Apache-2.0
/**
 * Load-balanced services (reads open or token-protected like the node routes; writes admin only):
 *   GET    /api/v1/services?since=                     → ServicesView: every service
 *   GET    /api/v1/services/:ns/:name?since=           → ServicesView: that name's services (all its ports); 404 if none
 *   GET    /api/v1/services/:ns/:name/:port?since=     → ServiceView; 404
 *   POST   /api/v1/services                            ServiceInput → 201 ServiceView
 *   PUT    /api/v1/services/:ns/:name[/:port]          ServiceInput (the whole service; namespace, name and
 *                                                      portName may be left out, else must match the path) → ServiceView
 *   DELETE /api/v1/services/:ns/:name[/:port]          → ServiceView (as it was)
 *   PATCH  /api/v1/services/:ns/:name/:port/backends/IP:PORT      { state } → ServiceView
 *                                                      (one backend's state: "active" | "terminating" | "unhealthy")
 *
 * `:port` is the port name; "-" (or, where the segment may be left out, no
 * segment) is the unnamed port "". `since` (ISO 8601 time or a duration back
 * from now, default 1h) starts the window of the counters. ServiceInput,
 * ServiceView and ServicesView: control/wire/services.ts and
 * control/services/views.ts.
 *
 * 400 names the bad field or parameter, 404 an unknown service or backend,
 * 409 a conflict: `{ error, conflict: "name" | "frontend" | "managed" | "full", service? }`
 * (the same namespace, name and port name exists; another service has the
 * VIP:port/protocol; the service is managed by Kubernetes; no id is free).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { invalidParameters, type Parsed, parseOr400 } from "../http/validation.ts";
import { optionalParam, TimeParam, type TimeSpec } from "../queries/monitoring/window.ts";
import type { ServiceFilter } from "../services/apply.ts";
import { ServiceConflict } from "../services/errors.ts";
import { describeRef, type ServiceRef } from "../services/keys.ts";
import { createService, deleteService, replaceService, setBackendState, type Written } from "../services/model.ts";
import { byId, byName, byRef, type ServicesView, type ServiceView, serviceViews } from "../services/views.ts";
import { Rfc1123Name } from "../wire/scalars.ts";
import { BackendState, MAX_BACKENDS_PER_SERVICE, PortName, ServiceInput } from "../wire/services.ts";

/** Bodies of services: up to MAX_BACKENDS_PER_SERVICE backends with their pods. */
export const SERVICE_BODY_BYTES = 64 + MAX_BACKENDS_PER_SERVICE * 160;

/** A port name in a path: "-" for the unnamed one. */
export const PortNameParam = z
  .string()
  .refine(
    (v) => v === "-" || (v !== "" && PortName.safeParse(v).success),
    'must be a lowercase port name, or "-" for the unnamed port',
  )
  .transform((v) => (v === "-" ? "" : v));

export const NameParams = z.object({ namespace: Rfc1123Name, name: Rfc1123Name });
export const RefParams = NameParams.extend({ portName: optionalParam(PortNameParam).transform((v) => v ?? "") });
const Endpoint = z.string().transform((v, ctx) => {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (m !== null && z.ipv4().safeParse(m[1]).success && port >= 1 && port <= 65535) return { ip: m[1]!, port };
  ctx.addIssue({ code: "custom", message: 'must be a backend as "ip:port", e.g. "10.244.1.5:8080"' });
  return z.NEVER;
});
export const BackendParams = RefParams.extend({ endpoint: Endpoint });
export const StateBody = z.strictObject({ state: BackendState });
export const ViewQuery = z.strictObject({ since: optionalParam(TimeParam) });

export interface ServiceRouteOptions {
  now: () => number;
  access: AccessSettings;
  /** A node counts for "nodes in sync" while it polled for lb state this recently (EBPF_K8S_LOST_AFTER). */
  lostAfterMs: number;
}

export function serviceRoutes(db: Db, { now, access, lostAfterMs }: ServiceRouteOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access);
  const admin = requireAdmin(access);
  const body = limitBody(SERVICE_BODY_BYTES);

  const views = (where: ServiceFilter | undefined, since?: TimeSpec) =>
    serviceViews(db, { now: now(), since, nodesPolledWithinMs: lostAfterMs, where });
  const oneView = async (where: Parameters<typeof views>[0], since?: TimeSpec): Promise<ServiceView | undefined> =>
    (await views(where, since)).services[0];
  const notFound = (ref: ServiceRef) => jsonError(404, `no service ${describeRef(ref)}`);

  /** Runs a write and answers the service written; 404 when `write` finds no service, 409 for a conflict. */
  async function written(
    ref: ServiceRef,
    write: () => Promise<Written | undefined>,
    status: 200 | 201 = 200,
  ): Promise<Response> {
    const done = await conflictsAs409(write);
    if (done instanceof Response) return done;
    return done === undefined ? notFound(ref) : jsonResponse(await oneView(byId(done.id)), status);
  }

  routes.get("/services", reader, async (c) => {
    const query = parseOr400(ViewQuery, c.req.query(), invalidParameters("query"));
    if (!query.ok) return query.response;
    return jsonResponse(await views(undefined, query.data.since));
  });

  routes.get("/services/:namespace/:name", reader, async (c) => {
    const [params, query] = [
      parseOr400(NameParams, c.req.param(), invalidParameters("path")),
      parseOr400(ViewQuery, c.req.query(), invalidParameters("query")),
    ];
    if (!params.ok) return params.response;
    if (!query.ok) return query.response;
    const { namespace, name } = params.data;
    const found: ServicesView = await views(byName(namespace, name), query.data.since);
    return found.services.length === 0 ? jsonError(404, `no service ${namespace}/${name}`) : jsonResponse(found);
  });

  routes.get("/services/:namespace/:name/:portName", reader, async (c) => {
    const [params, query] = [
      parseOr400(RefParams, c.req.param(), invalidParameters("path")),
      parseOr400(ViewQuery, c.req.query(), invalidParameters("query")),
    ];
    if (!params.ok) return params.response;
    if (!query.ok) return query.response;
    const view = await oneView(byRef(params.data), query.data.since);
    return view === undefined ? notFound(params.data) : jsonResponse(view);
  });

  routes.post("/services", body, admin, async (c) => {
    const input = await serviceBody(c);
    if (!input.ok) return input.response;
    return written(input.data, () => createService(db, input.data, now()), 201);
  });

  routes.put("/services/:namespace/:name/:portName?", body, admin, async (c) => {
    const params = parseOr400(RefParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const input = await serviceBody(c, params.data);
    if (!input.ok) return input.response;
    return written(params.data, () => replaceService(db, params.data, input.data, now()));
  });

  routes.delete("/services/:namespace/:name/:portName?", admin, async (c) => {
    const params = parseOr400(RefParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const before = await oneView(byRef(params.data));
    const done = await conflictsAs409(() => deleteService(db, params.data, now()));
    if (done instanceof Response) return done;
    return done === undefined || before === undefined ? notFound(params.data) : jsonResponse(before);
  });

  routes.patch(
    "/services/:namespace/:name/:portName/backends/:endpoint",
    limitBody(SMALL_BODY_BYTES),
    admin,
    async (c) => {
      const params = parseOr400(BackendParams, c.req.param(), invalidParameters("path"));
      if (!params.ok) return params.response;
      const json = await readJson(c);
      if (!json.ok) return json.response;
      const change = parseOr400(StateBody, json.data, "invalid backend state");
      if (!change.ok) return change.response;
      const { endpoint, ...ref } = params.data;
      const done = await conflictsAs409(() => setBackendState(db, ref, endpoint, change.data.state, now()));
      if (done instanceof Response) return done;
      if (!("missing" in done)) return jsonResponse(await oneView(byId(done.id)));
      return done.missing === "service"
        ? notFound(ref)
        : jsonError(404, `${describeRef(ref)} has no backend ${endpoint.ip}:${endpoint.port}`);
    },
  );

  return routes;
}

/** What `write` returns, or the 409 answer to the ServiceConflict it throws. */
export async function conflictsAs409<T>(write: () => Promise<T>): Promise<T | Response> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof ServiceConflict)) throw err;
    return jsonError(409, err.message, { conflict: err.conflict, ...(err.service ? { service: err.service } : {}) });
  }
}

/**
 * The body of a POST (a whole ServiceInput) or a PUT to `ref` (namespace,
 * name and port name from the path when left out; named otherwise, they must
 * be the path's).
 */
async function serviceBody(c: Context, ref?: ServiceRef): Promise<Parsed<ServiceInput>> {
  const json = await readJson(c);
  if (!json.ok) return json;
  const isObject = typeof json.data === "object" && json.data !== null && !Array.isArray(json.data);
  const data = ref !== undefined && isObject ? { ...ref, ...(json.data as object) } : json.data;
  const schema = ref === undefined ? ServiceInput : ServiceInput.superRefine((s, ctx) => {
    for (const key of ["namespace", "name", "portName"] as const) {
      if (s[key] !== ref[key]) {
        ctx.addIssue({ code: "custom", path: [key], message: `must be ${JSON.stringify(ref[key])} as in the path` });
      }
    }
  });
  return parseOr400(schema, data, "invalid service");
}
