/**
 * POST /api/v1/ingest: agents push batches here (see control/wire/batch.ts).
 *
 * Checks, cheapest first: body size (413), node credential (401), the node's
 * rate (429 with Retry-After), JSON and schema (400 naming the fields), the
 * batch's node against the credential's (403). Answers 200 BatchAck when
 * stored or already stored. Nothing is written unless the answer is 200.
 */
import { Hono } from "hono";
import { type NodeAuthEnv, requireNodeCredential } from "../auth/node-auth.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { TokenBuckets, tooManyRequests } from "../http/rate-limit.ts";
import { parseOr400 } from "../http/validation.ts";
import { IngestBatch, versionMismatch } from "../ingest/ingest-batch.ts";
import { storeBatch } from "../ingest/store.ts";
import type { MonitoringSettings } from "../monitoring-store/settings.ts";
import { MAX_BATCH_BYTES } from "../wire/batch.ts";

export interface IngestOptions {
  now: () => number;
  /** Per node: sustained batches per second and burst. */
  ratePerSec: number;
  burst: number;
  monitoring: MonitoringSettings;
}

export function ingestRoutes(db: Db, { now, ratePerSec, burst, monitoring }: IngestOptions): Hono<NodeAuthEnv> {
  const routes = new Hono<NodeAuthEnv>();
  const perNode = new TokenBuckets({ ratePerSec, burst, now });

  routes.post(
    "/ingest",
    limitBody(MAX_BATCH_BYTES, "batch"),
    requireNodeCredential(db),
    async (c) => {
      const node = c.get("node");
      const wait = perNode.take(node);
      if (wait > 0) return tooManyRequests(`batches from node '${node}'`, wait);

      const body = await readJson(c);
      if (!body.ok) return body.response;
      const mismatch = versionMismatch(body.data);
      if (mismatch) return jsonError(400, "unsupported wire version", { issues: [mismatch] });
      const batch = parseOr400(IngestBatch, body.data, "invalid batch");
      if (!batch.ok) return batch.response;
      if (batch.data.node !== node) {
        return jsonError(403, `this credential belongs to node '${node}', not '${batch.data.node}'`);
      }
      return jsonResponse(await storeBatch(db, batch.data, now(), monitoring));
    },
  );
  return routes;
}
