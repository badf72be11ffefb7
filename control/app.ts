/**
 * The control plane as a plain fetch handler: `createApp(db).fetch` serves
 * under Node (control/main.ts), Deno, and in tests through `app.request()`.
 * Everything it needs comes in as parameters; nothing here touches the
 * environment, the file system or the process.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Db } from "./db/client.ts";
import { jsonError, jsonResponse } from "./http/json.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { loadAssets, type Assets } from "../web/assets.ts";
import { webRoutes } from "../web/routes.tsx";

export interface AppOptions {
  /** Clock for "last seen" and stored receive times; tests pin it. */
  now?: () => number;
  /** Static files for the pages; loaded from disk once when omitted. */
  assets?: Assets;
  /** Where unexpected errors are reported; console.error when omitted. */
  logError?: (message: string, err: unknown) => void;
}

export function createApp(db: Db, opts: AppOptions = {}): Hono {
  const now = opts.now ?? Date.now;
  const logError = opts.logError ?? ((message, err) => console.error(message, err));
  const app = new Hono();

  app.get("/healthz", () => jsonResponse({ ok: true }));
  app.route("/api/v1", ingestRoutes(db, now));
  app.route("/api/v1", nodeRoutes(db, now));
  app.route("/", webRoutes(db, { now, assets: opts.assets ?? loadAssets() }));

  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? jsonError(404, `no route for ${c.req.method} ${c.req.path}`)
      : c.text("Not found\n", 404),
  );

  // One failing request (a database error, a bug) gets a 500 and the server keeps serving.
  app.onError((err, c) => {
    if (err instanceof HTTPException) return jsonError(err.status, err.message || "request failed");
    logError(`${c.req.method} ${c.req.path} failed:`, err);
    return jsonError(500, "internal error");
  });

  return app;
}
