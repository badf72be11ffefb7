/**
 * POST /api/v1/ingest: agents push batches here (see control/wire/batch.ts).
 *
 * Checks, cheapest first: body size (413), node credential (401), the node's
 * rate (429 with Retry-After), the control plane's load (503 with
 * Retry-After, before the body is read, and when every slot and queue place
 * is taken before the credential too: control/ingest/admission.ts), JSON
 * (400), the wire version (409 with the versions accepted:
 * control/wire/version.ts), the schema (400 naming the fields), the batch's
 * node against the credential's (403). Answers 200 BatchAck when stored or
 * already stored. Nothing is written unless the answer is 200.
 *
 * GET /api/v1/wire: the wire versions accepted (WireVersions), unauthenticated:
 * an agent holding batches of a refused version asks it to learn when to resend.
 */
import { Hono } from "hono";
import { type NodeAuthEnv, requireNodeCredential } from "../auth/node-auth.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { TokenBuckets, tooManyRequests } from "../http/rate-limit.ts";
import { parseOr400 } from "../http/validation.ts";
import type { IngestAdmission } from "../ingest/admission.ts";
import { IngestBatch, versionMismatch } from "../ingest/ingest-batch.ts";
import { storeBatch } from "../ingest/store.ts";
import type { MonitoringSettings } from "../monitoring-store/settings.ts";
import { MAX_BATCH_BYTES } from "../wire/batch.ts";
import {
  acceptedWireVersions,
  UNSUPPORTED_WIRE_VERSION,
  UNSUPPORTED_WIRE_VERSION_STATUS,
  type WireVersions,
} from "../wire/version.ts";

export interface IngestOptions {
  now: () => number;
  /** Per node: sustained batches per second and burst. */
  ratePerSec: number;
  burst: number;
  monitoring: MonitoringSettings;
  /** The bound on batches in progress at once (one per app: it is the process's load). */
  admission: IngestAdmission;
  /** The wire version spoken; it and the one before are accepted. */
  wireVersion: number;
}

export function ingestRoutes(
  db: Db,
  { now, ratePerSec, burst, monitoring, admission, wireVersion }: IngestOptions,
): Hono<NodeAuthEnv> {
  const routes = new Hono<NodeAuthEnv>();
  const perNode = new TokenBuckets({ ratePerSec, burst, now });
  const versions: WireVersions = { version: wireVersion, accepts: acceptedWireVersions(wireVersion), started: now() };

  routes.get("/wire", () => jsonResponse(versions));

  // A declared size is checked first, whoever sends it. A streamed body (no Content-Length) is counted as it
  // is read, and hono's limit reads it whole before going on: that is work, so it happens in an admission slot.
  const sizeLimit = limitBody(MAX_BATCH_BYTES, "batch");
  routes.post(
    "/ingest",
    (c, next) => (c.req.header("content-length") === undefined ? next() : sizeLimit(c, next)),
    // At capacity the answer is 503 before anything else: the credential's lookup takes turns of a busy event loop.
    (_, next) => admission.refuseIfFull() ?? next(),
    requireNodeCredential(db),
    (c, next) => {
      const node = c.get("node");
      const wait = perNode.take(node);
      if (wait > 0) return tooManyRequests(`batches from node '${node}'`, wait);
      // Reading the body is part of the work bounded: a refusal comes before it.
      return admission.run(async () => {
        await next();
        return c.res;
      });
    },
    sizeLimit,
    async (c) => {
      const node = c.get("node");
      const body = await readJson(c);
      if (!body.ok) return body.response;
      const mismatch = versionMismatch(body.data, versions.accepts);
      if (mismatch) {
        return jsonError(UNSUPPORTED_WIRE_VERSION_STATUS, UNSUPPORTED_WIRE_VERSION, {
          ...versions,
          issues: [mismatch],
        });
      }
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
