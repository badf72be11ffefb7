// SPDX-License-Identifier: Apache-2.0
/**
 * Probes, open to anyone (kubelet sends no token):
 *
 * - GET /healthz: liveness. 200 while the process serves requests; it reads
 *   nothing, so a database outage does not get every replica restarted.
 * - GET /readyz: readiness. 200 when the database answers a cheap query
 *   (the lease row) within READY_TIMEOUT_MS, with who holds the lease of
 *   the once-only work; else 503 and why, so a replica that cannot reach the
 *   database gets no traffic. Every replica is ready, lease or not: reads,
 *   ingest and the agents' long polls work on all of them.
 */
import { Hono } from "hono";
import type { Db } from "../db/client.ts";
import { jsonResponse } from "../http/json.ts";
import type { LeaseStatus } from "../lease/keeper.ts";
import { leaseView } from "../lease/status.ts";

/** Below the probes' timeout (k8s/: 5 s), so a slow database is a clear 503 rather than a probe timeout. */
export const READY_TIMEOUT_MS = 2_000;

export function healthRoutes(db: Db, o: { now: () => number; lease?: () => LeaseStatus }): Hono {
  const routes = new Hono();
  routes.get("/healthz", () => jsonResponse({ ok: true }));
  routes.get("/readyz", async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      const query = leaseView(db, o.now(), o.lease);
      query.catch(() => undefined); // a late failure, after the timeout answered, is no unhandled rejection
      const lease = await Promise.race([query, late]);
      return jsonResponse({ ok: true, lease });
    } catch (err) {
      return jsonResponse({ ok: false, error: `database: ${(err as Error).message}` }, 503);
    } finally {
      clearTimeout(timer);
    }
  });
  return routes;
}
