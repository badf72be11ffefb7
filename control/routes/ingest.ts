// SPDX-License-Identifier: Apache-2.0
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
 * already stored. Nothing is written unless the answer is 200: a node deleted
 * (or its credentials revoked) while its batch waited for the write queue is
 * 401 too (checked again in the batch's transaction: control/ingest/store.ts).
 *
 * A compact batch (Content-Type COMPACT_CONTENT_TYPE, wire version 4 on:
 * control/ingest/compact-body.ts) may be gzipped and may name the node's
 * inventory and pods' metadata by hash: the parts this process holds for the
 * node since its last stored batch (HeldParts), or 412 asking for them whole.
 *
 * GET /api/v1/wire: the wire versions accepted (WireVersions), unauthenticated:
 * an agent holding batches of a refused version asks it to learn when to resend.
 */
import { Hono } from "hono";
import { denyJson } from "../auth/access.ts";
import { type NodeAuthEnv, requireNodeCredential } from "../auth/node-auth.ts";
import type { Db } from "../db/client.ts";
import type { FlowStreamHub } from "../flows-stream/hub.ts";
import { limitBody, readJson } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { TokenBuckets, tooManyRequests } from "../http/rate-limit.ts";
import { mapParsed, parseOr400 } from "../http/validation.ts";
import type { IngestAdmission } from "../ingest/admission.ts";
import { decodeCompactBatch, isCompact, readCompactJson } from "../ingest/compact-body.ts";
import { HeldParts } from "../ingest/held-parts.ts";
import { IngestBatch, versionMismatch } from "../ingest/ingest-batch.ts";
import { NodeCredentialGone, storeBatch } from "../ingest/store.ts";
import type { MonitoringSettings } from "../monitoring-store/settings.ts";
import { type BatchAck, MAX_BATCH_BYTES } from "../wire/batch.ts";
import {
  acceptedWireVersions,
  UNSUPPORTED_WIRE_VERSION,
  UNSUPPORTED_WIRE_VERSION_STATUS,
  type WireVersions,
} from "../wire/version.ts";

/** The admission slot's hand-off travels to the handler that knows when the batch is read and valid. */
type IngestEnv = { Variables: NodeAuthEnv["Variables"] & { handOff: () => void } };

export interface IngestOptions {
  now: () => number;
  /** Per node: sustained batches per second and burst. */
  ratePerSec: number;
  burst: number;
  monitoring: MonitoringSettings;
  /** The bound on batches worked on at once (one per app: it is the process's load). */
  admission: IngestAdmission;
  /** The wire version spoken; it and the one before are accepted. */
  wireVersion: number;
  /** Nodes whose inventory and pods' metadata are held for compact batches (held-parts.ts; its default). */
  heldPartsNodes?: number;
  /** This replica's live flows: told each stored batch's flow rows once committed. */
  flowStream?: FlowStreamHub;
}

export function ingestRoutes(
  db: Db,
  { now, ratePerSec, burst, monitoring, admission, wireVersion, heldPartsNodes, flowStream }: IngestOptions,
): Hono<IngestEnv> {
  const routes = new Hono<IngestEnv>();
  const perNode = new TokenBuckets({ ratePerSec, burst, now });
  const versions: WireVersions = { version: wireVersion, accepts: acceptedWireVersions(wireVersion), started: now() };
  const held = new HeldParts(heldPartsNodes);

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
      return admission.run(async (handOff) => {
        c.set("handOff", handOff);
        await next();
        return c.res;
      });
    },
    sizeLimit,
    async (c) => {
      const node = c.get("node");
      const compact = isCompact(c.req.header("content-type"));
      const body = compact ? await readCompactJson(c) : await readJson(c);
      if (!body.ok) return body.response;
      const mismatch = versionMismatch(body.data, versions.accepts);
      if (mismatch) {
        return jsonError(UNSUPPORTED_WIRE_VERSION_STATUS, UNSUPPORTED_WIRE_VERSION, {
          ...versions,
          issues: [mismatch],
        });
      }
      const decoded = compact
        ? decodeCompactBatch(body.data, node, held)
        : mapParsed(parseOr400(IngestBatch, body.data, "invalid batch"), (batch) => ({ batch, parts: undefined }));
      if (!decoded.ok) return decoded.response;
      const { batch, parts } = decoded.data;
      if (batch.node !== node) return jsonError(403, `this credential belongs to node '${node}', not '${batch.node}'`);
      c.get("handOff")(); // read and valid: the next batch may be read while this one waits to share a commit
      let ack: BatchAck;
      try {
        ack = await storeBatch(
          db,
          batch,
          now(),
          monitoring,
          flowStream && ((flows) => flowStream.publish(batch.node, batch.ts, flows)),
          true,
        );
      } catch (err) {
        // deleted or revoked while the batch waited for its turn: refused as the credential would be now
        if (err instanceof NodeCredentialGone) return denyJson(c, 401, err.message);
        throw err;
      }
      // Only once stored: a batch that failed to store leaves the parts held as they were.
      if (parts) held.remember(node, parts);
      return jsonResponse(ack);
    },
  );
  return routes;
}
