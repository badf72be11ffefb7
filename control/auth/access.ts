// SPDX-License-Identifier: Apache-2.0
/**
 * Who is calling, for the admin API, the read API and the pages.
 *
 * A caller presents a token as `Authorization: Bearer <token>` (curl,
 * scripts) or in the session cookie set by /login (browsers). The admin token
 * may do everything; the read token (EBPF_K8S_READ_TOKEN) may only read, and
 * only matters when reads are protected (EBPF_K8S_READ_AUTH=token). Agents
 * authenticate differently, with node credentials (control/auth/node-auth.ts).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { jsonError } from "../http/json.ts";
import { sameDigest, sha256Hex } from "./secrets.ts";

export interface AccessSettings {
  /** SHA-256 of the admin token; without one nobody is admin. */
  adminTokenHash?: string;
  /** SHA-256 of the read token, if any. */
  readTokenHash?: string;
  readAuth: "open" | "token";
}

export type Role = "admin" | "read";

export interface Caller {
  role: Role | null;
  /** Where the token came from; null when none was presented. */
  via: "header" | "cookie" | null;
}

export const SESSION_COOKIE = "ek8s_session";

/** Answers a refused request; the API answers JSON, the pages answer HTML. */
export type Deny = (c: Context, status: 401 | 403, reason: string) => Response | Promise<Response>;

export const denyJson: Deny = (_c, status, reason) => {
  const res = jsonError(status, reason);
  if (status === 401) res.headers.set("WWW-Authenticate", 'Bearer realm="ebpf-k8s"');
  return res;
};

/** The bearer token of `Authorization`, "" when that header is there but is not `Bearer <token>`, undefined when absent. */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header("authorization");
  if (header === undefined) return undefined;
  return /^Bearer +(\S+) *$/i.exec(header)?.[1] ?? "";
}

const callers = new WeakMap<Context, Promise<Caller>>();

/** Identifies the caller once per request, however many checks ask. */
export function callerOf(c: Context, access: AccessSettings): Promise<Caller> {
  let caller = callers.get(c);
  if (caller === undefined) {
    caller = identify(c, access);
    callers.set(c, caller);
  }
  return caller;
}

async function identify(c: Context, access: AccessSettings): Promise<Caller> {
  const header = bearerToken(c);
  const [token, via] = header !== undefined
    ? [header, "header" as const]
    : [getCookie(c, SESSION_COOKIE), "cookie" as const];
  if (token === undefined) return { role: null, via: null };
  return { role: await roleOfToken(token, access), via };
}

export async function roleOfToken(token: string, access: AccessSettings): Promise<Role | null> {
  if (token === "") return null;
  const hash = await sha256Hex(token);
  if (access.adminTokenHash !== undefined && sameDigest(hash, access.adminTokenHash)) return "admin";
  if (access.readTokenHash !== undefined && sameDigest(hash, access.readTokenHash)) return "read";
  return null;
}

/** Admin only: 401 without a valid token, 403 for the read token or a cross-site cookie write. */
export function requireAdmin(access: AccessSettings, deny: Deny = denyJson): MiddlewareHandler {
  return async (c, next) => {
    const caller = await callerOf(c, access);
    if (caller.role === null) return deny(c, 401, caller.via === null ? "admin token required" : "invalid token");
    if (caller.role !== "admin") return deny(c, 403, "this needs the admin token, not the read token");
    if (caller.via === "cookie" && !isSafeMethod(c) && !sameOriginWrite(c)) {
      return deny(c, 403, "cross-site request refused: send HX-Request: true or an Origin of this server");
    }
    await next();
  };
}

/** Open unless EBPF_K8S_READ_AUTH=token; then the admin or the read token. */
export function requireReader(access: AccessSettings, deny: Deny = denyJson): MiddlewareHandler {
  return async (c, next) => {
    if (access.readAuth === "open") return next();
    const caller = await callerOf(c, access);
    if (caller.role === null) return deny(c, 401, caller.via === null ? "token required to read" : "invalid token");
    await next();
  };
}

function isSafeMethod(c: Context): boolean {
  return c.req.method === "GET" || c.req.method === "HEAD";
}

/**
 * CSRF protection for writes authenticated by the session cookie (a browser
 * attaches cookies on its own, so the cookie alone proves nothing about who
 * built the request). The cookie is SameSite=Strict, which keeps it off
 * cross-site requests in current browsers; on top of that the request must
 * carry either
 * - `HX-Request: true`, which htmx sets and which a page of another origin
 *   cannot set: a custom header needs a CORS preflight this server never
 *   approves, and plain HTML forms cannot send headers at all; or
 * - an `Origin` equal to this server's, which browsers add to every
 *   cross-origin write and scripts cannot change.
 * Requests with a bearer header need none of this: browsers never add one by themselves.
 */
function sameOriginWrite(c: Context): boolean {
  if (c.req.header("hx-request") === "true") return true;
  const origin = c.req.header("origin");
  return origin !== undefined && origin === new URL(c.req.url).origin;
}
