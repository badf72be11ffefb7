// SPDX-License-Identifier: Apache-2.0
/**
 * The app's JSON routes as Hono registered them, and the documented
 * operations, both as `METHOD /openapi/{path}` lines to compare
 * (routes.test.ts).
 */
import { METRICS_PATH } from "../metrics/control-metrics.ts";
import type { Operation } from "./operation.ts";

/** The routes the document covers: the whole JSON API, the probes and /metrics (not the pages). */
export const isApiPath = (path: string) => path.startsWith("/api/v1/") || TOP_LEVEL.has(path);
const TOP_LEVEL = new Set(["/healthz", "/readyz", METRICS_PATH]);

/** `routes` (Hono's app.routes) under the API, deduplicated and sorted; middleware (method ALL) left out. */
export function registeredRoutes(routes: readonly { method: string; path: string }[]): string[] {
  const out = new Set<string>();
  for (const { method, path } of routes) {
    if (method === "ALL" || !isApiPath(path)) continue;
    for (const p of expandOptional(path)) out.add(`${method} ${p.replace(/:(\w+)/g, "{$1}")}`);
  }
  return [...out].sort();
}

/** A Hono path with an optional last parameter (`/:portName?`) matches without it and with it. */
function expandOptional(path: string): string[] {
  const m = /^(.*)\/(:\w+)\?$/.exec(path);
  return m ? [m[1]!, `${m[1]}/${m[2]}`] : [path];
}

export function documentedRoutes(operations: readonly Pick<Operation, "method" | "path">[]): string[] {
  return operations.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
}
