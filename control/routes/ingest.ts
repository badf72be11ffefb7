/**
 * POST /api/v1/ingest: agents push batches here (see control/wire/batch.ts).
 *
 * Answers 200 BatchAck when stored or already stored, 400 naming the fields
 * for a bad batch, 413 when the body exceeds MAX_BATCH_BYTES. Nothing is
 * written unless the answer is 200.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Db } from "../db/client.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { IngestBatch, versionMismatch } from "../ingest/ingest-batch.ts";
import { storeBatch } from "../ingest/store.ts";
import { MAX_BATCH_BYTES } from "../wire/batch.ts";

export function ingestRoutes(db: Db, now: () => number): Hono {
  const routes = new Hono();
  routes.post(
    "/ingest",
    // Checks Content-Length up front and also counts a streamed body, so an
    // oversized batch is refused before it is buffered.
    bodyLimit({
      maxSize: MAX_BATCH_BYTES,
      onError: () => jsonError(413, `batch larger than ${MAX_BATCH_BYTES} bytes`, { maxBytes: MAX_BATCH_BYTES }),
    }),
    async (c) => {
      // Parsed by hand rather than c.req.json() so a missing or wrong
      // Content-Type still works from curl, and bad JSON gets our error shape.
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return jsonError(400, "body is not JSON");
      }
      const mismatch = versionMismatch(body);
      if (mismatch) return jsonError(400, "unsupported wire version", { issues: [mismatch] });
      const batch = parseOr400(IngestBatch, body, "invalid batch");
      if (!batch.ok) return batch.response;
      return jsonResponse(await storeBatch(db, batch.data, now()));
    },
  );
  return routes;
}
