// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane as a plain fetch handler: `createApp(db).fetch` serves
 * under Node (control/main.ts), Deno, and in tests through `app.request()`.
 * Everything it needs comes in as parameters; nothing here touches the
 * environment, the file system or the process.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { timeout } from "hono/timeout";
import type { AccessSettings } from "./auth/access.ts";
import { type AppSettings, DEFAULT_APP_SETTINGS } from "./config.ts";
import type { Db } from "./db/client.ts";
import { jsonError } from "./http/json.ts";
import { IngestAdmission } from "./ingest/admission.ts";
import type { LeaseStatus } from "./lease/keeper.ts";
import { metricsRoutes } from "./metrics/control-metrics.ts";
import { FlowStreamHub } from "./flows-stream/hub.ts";
import { healthRoutes } from "./routes/health.ts";
import { flowStreamRoutes } from "./routes/flows-stream.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { receiverRoutes } from "./routes/receivers.ts";
import { credentialRoutes } from "./routes/credentials.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { joinRoutes } from "./routes/join.ts";
import { joinTokenRoutes } from "./routes/join-tokens.ts";
import { LB_STATE_PATH, lbStateRoutes } from "./routes/lb-state.ts";
import { moduleRoutes } from "./routes/modules.ts";
import { monitoringRoutes } from "./routes/monitoring.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { serviceRoutes } from "./routes/services.ts";
import { accelRoutes } from "./routes/accel.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { type Assets, loadAssets } from "../web/assets.ts";
import { webRoutes } from "../web/routes.tsx";

export interface AppOptions {
  /** Clock for "last seen", statuses, token expiry and rate limits; tests pin it. */
  now?: () => number;
  /** Static files for the pages; loaded from disk once when omitted. */
  assets?: Assets;
  /** Where unexpected errors are reported; console.error when omitted. */
  logError?: (message: string, err: unknown) => void;
  /** SHA-256 of the admin and read tokens (control/auth). Without an admin hash nobody is admin. */
  tokens?: Omit<AccessSettings, "readAuth">;
  /** Defaults are those of an empty environment (control/config.ts). */
  settings?: Partial<AppSettings>;
  /** This replica's side of the lease of the once-only work (control/lease/keeper.ts); absent where none runs. */
  lease?: () => LeaseStatus;
}

export function createApp(db: Db, opts: AppOptions = {}): Hono {
  const now = opts.now ?? Date.now;
  const logError = opts.logError ?? ((message, err) => console.error(message, err));
  const settings = { ...DEFAULT_APP_SETTINGS, ...opts.settings };
  const access: AccessSettings = { ...opts.tokens, readAuth: settings.readAuth };
  const thresholds = { staleAfterMs: settings.staleAfterMs, lostAfterMs: settings.lostAfterMs };
  const app = new Hono();
  // This process's bound on ingest work: the route sheds by it, /metrics and the overview show it.
  const admission = new IngestAdmission(settings.ingestAdmission, now);
  // This replica's live flows: the ingest publishes to it, the stream routes follow it.
  const flowStream = new FlowStreamHub(settings.flowStream, now, db);

  // A request that takes too long (a locked or slow database) is answered 503
  // instead of holding the client. Its work may still finish afterwards; for
  // ingest that is harmless, as the agent's resend is then a duplicate.
  // The agents' long poll for lb state is held on purpose and bounds itself.
  const requestTimeout = timeout(settings.requestTimeoutMs, () => {
    const res = jsonError(503, `request took longer than ${settings.requestTimeoutMs} ms; retry later`);
    res.headers.set("Retry-After", "1");
    return new HTTPException(503, { res });
  });
  app.use("*", (c, next) => (c.req.path === LB_STATE_PATH ? next() : requestTimeout(c, next)));

  app.route("/", healthRoutes(db, { now, lease: opts.lease }));
  app.route(
    "/api/v1",
    ingestRoutes(db, {
      now,
      ratePerSec: settings.ingestRatePerSec,
      burst: settings.ingestBurst,
      monitoring: settings.monitoring,
      wireVersion: settings.wireVersion,
      heldPartsNodes: settings.heldPartsNodes,
      admission,
      flowStream,
    }),
  );
  app.route(
    "/api/v1",
    joinRoutes(db, {
      now,
      failureRatePerSec: settings.authFailureRatePerSec,
      failureBurst: settings.authFailureBurst,
      lostAfterMs: settings.lostAfterMs,
    }),
  );
  app.route("/api/v1", joinTokenRoutes(db, { now, access }));
  app.route("/api/v1", nodeRoutes(db, { now, access, thresholds }));
  app.route("/api/v1", flowStreamRoutes(flowStream, { access }));
  app.route("/api/v1", monitoringRoutes(db, { now, access, monitoring: settings.monitoring }));
  app.route("/api/v1", moduleRoutes(db, { now, access }));
  app.route("/api/v1", credentialRoutes(db, { now, access }));
  app.route("/api/v1", alertRoutes(db, { now, access }));
  app.route("/api/v1", receiverRoutes(db, { now, access }));
  app.route("/api/v1", serviceRoutes(db, { now, access, lostAfterMs: settings.lostAfterMs }));
  app.route("/api/v1", lbStateRoutes(db, { now }));
  app.route("/api/v1", accelRoutes(db, { now, access }));
  app.route("/api/v1", openApiRoutes());
  app.route("/", metricsRoutes(db, { now, access, thresholds, admission, lease: opts.lease, flowStream }));
  const loginFailures = { ratePerSec: settings.authFailureRatePerSec, burst: settings.authFailureBurst };
  app.route(
    "/",
    webRoutes(db, {
      now,
      access,
      thresholds,
      loginFailures,
      monitoring: settings.monitoring,
      assets: opts.assets ?? loadAssets(),
      admission,
      lease: opts.lease,
      flowStream,
    }),
  );

  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? jsonError(404, `no route for ${c.req.method} ${c.req.path}`)
      : c.text("Not found\n", 404)
  );

  // One failing request (a database error, a bug) gets a 500 and the server keeps serving.
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.res ?? jsonError(err.status, err.message || "request failed");
    logError(`${c.req.method} ${c.req.path} failed:`, err);
    return jsonError(500, "internal error");
  });

  return app;
}
