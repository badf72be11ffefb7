// SPDX-License-Identifier: Apache-2.0
/**
 * A compact batch at the ingest route (control/wire/compact/http.ts, README.md of control/wire): the body read as
 * bytes and gunzipped within MAX_BATCH_BYTES, the parts it names by hash checked against those held for the
 * credential's node (412 when not held, before any record is decoded), then decoded and validated without an
 * object per record (decodeCompact), and given the same checks across entries as a plain JSON batch.
 */
import type { Context } from "hono";
import { gunzipSync } from "node:zlib";
import { NOT_GZIP, parseJson } from "../http/body.ts";
import { jsonError } from "../http/json.ts";
import type { FieldIssue, Parsed } from "../http/validation.ts";
import { type Batch, MAX_BATCH_BYTES } from "../wire/batch.ts";
import { CONTENT_HASH, contentHash } from "../wire/compact/content-hash.ts";
import { CompactBatchError, decodeCompact } from "../wire/compact/decode.ts";
import { podInfo } from "../wire/compact/encode.ts";
import {
  COMPACT_CONTENT_TYPE,
  COMPACT_SINCE_VERSION,
  type HeldPart,
  UNKNOWN_PART,
  UNKNOWN_PART_STATUS,
} from "../wire/compact/http.ts";
import type { HeldParts, NodeParts } from "./held-parts.ts";
import { type EntryIssue, entryIssues } from "./ingest-batch.ts";

/** Whether a request's Content-Type is the compact batch's (parameters such as a charset aside). */
export function isCompact(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === COMPACT_CONTENT_TYPE;
}

/** The JSON of a compact body: gzipped or not (415 for another encoding, 413 when it expands too far, 400). */
export async function readCompactJson(c: Context): Promise<Parsed<unknown>> {
  const encoding = c.req.header("content-encoding")?.trim().toLowerCase() || "identity";
  if (encoding !== "gzip" && encoding !== "identity") {
    return refused(415, `Content-Encoding '${encoding}' is not accepted: a compact batch is gzip or not encoded`);
  }
  // The size limit (413) has counted these bytes as sent; what they expand to is capped alike (as gunzipCapped of
  // compact/http.ts does). node:zlib (Node and Deno alike) stops at the cap by itself, and takes about a sixth of
  // the CPU time of the web streams' DecompressionStream for the bench's batch (0.05 ms against 0.32 ms, side by
  // side). Synchronous, as JSON.parse of the text is: at most MAX_BATCH_BYTES of output.
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (encoding === "identity") return parseJson(new TextDecoder().decode(bytes));
  let text: string;
  try {
    text = gunzipSync(bytes, { maxOutputLength: MAX_BATCH_BYTES }).toString("utf8");
  } catch (err) {
    return (err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE"
      ? refused(413, `batch larger than ${MAX_BATCH_BYTES} bytes once decompressed`, { maxBytes: MAX_BATCH_BYTES })
      : refused(400, NOT_GZIP);
  }
  return parseJson(text);
}

/**
 * The Batch a compact body of an accepted version encodes, and the parts to hold for `node` once it is stored;
 * or the answer: 400 naming the field, or UNKNOWN_PART_STATUS naming the parts to send whole.
 */
export function decodeCompactBatch(
  json: unknown,
  node: string,
  held: HeldParts,
): Parsed<{ batch: Batch; parts: NodeParts }> {
  const body = (typeof json === "object" && json !== null ? json : {}) as CompactJson;
  if (body.v === undefined || (typeof body.v === "number" && body.v < COMPACT_SINCE_VERSION)) {
    const message = body.v === undefined
      ? "required"
      : `a batch of wire version ${body.v} travels as plain JSON; compact is version ${COMPACT_SINCE_VERSION} or later`;
    return invalid([{ path: "v", message }]);
  }
  const unknown = held.unknown(node, hashesAlone(body));
  if (unknown.length > 0) return refused(UNKNOWN_PART_STATUS, UNKNOWN_PART, { parts: unknown });

  const known = held.of(node);
  let batch: Batch;
  try {
    batch = decodeCompact(json, { knownInventory: known.inventory, knownPods: known.pods });
  } catch (err) {
    if (!(err instanceof CompactBatchError)) throw err;
    return invalid([{ path: err.path, message: err.problem }]);
  }
  const issues = entryIssues(batch);
  if (issues.length > 0) return invalid(issues.map(({ path, message }) => ({ path: compactPath(path), message })));

  // What the agent takes as held once this batch is acknowledged: the parts it carried, whole or by hash.
  // (Decoding has checked the hashes: strings, and a part sent whole matches its hash.)
  const parts: NodeParts = {};
  if (batch.inventory) {
    parts.inventory = body.inventory === undefined
      ? known.inventory!
      : { hash: (body.inventoryHash as string | undefined) ?? contentHash(batch.inventory), value: batch.inventory };
  }
  if (batch.pods && body.pods) {
    parts.pods = body.pods.info === undefined
      ? known.pods!
      : { hash: body.pods.infoHash as string, value: batch.pods.map(podInfo) };
  }
  return { ok: true, data: { batch, parts } };
}

/** The fields of a compact body read before it is validated (anything may be there). */
interface CompactJson {
  v?: unknown;
  inventory?: unknown;
  inventoryHash?: unknown;
  pods?: { info?: unknown; infoHash?: unknown };
}

/**
 * The parts `body` names by their hash alone. A hash that is no hash is left to the decoder's 400: asking for
 * the part whole would not make it one.
 */
function hashesAlone(body: CompactJson): Partial<Record<HeldPart, string>> {
  const isHash = (h: unknown): h is string => typeof h === "string" && CONTENT_HASH.test(h);
  const sent: Partial<Record<HeldPart, string>> = {};
  if (body.inventory === undefined && isHash(body.inventoryHash)) sent.inventory = body.inventoryHash;
  const pods = typeof body.pods === "object" && body.pods !== null ? body.pods : undefined;
  if (pods && pods.info === undefined && isHash(pods.infoHash)) sent.pods = pods.infoHash;
  return sent;
}

/**
 * A path into the decoded batch as the compact batch has it (as CompactBatchError names fields): a record's field
 * is a column (`interfaces.ifname[3]`), a pod's metadata is in `pods.info`, an index is in brackets.
 */
function compactPath(path: EntryIssue["path"]): string {
  const [head, index, field, ...rest] = path;
  if (head === "interfaces" && typeof index === "number") return dotted(["interfaces", String(field), index, ...rest]);
  return dotted(head === "pods" ? ["pods", "info", ...path.slice(1)] : path);
}

const dotted = (path: EntryIssue["path"]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${p}`)).join("");

function invalid(issues: FieldIssue[]): { ok: false; response: Response } {
  return refused(400, "invalid batch", { issues });
}

function refused(
  status: 400 | 413 | 415 | typeof UNKNOWN_PART_STATUS,
  error: string,
  details?: Record<string, unknown>,
): { ok: false; response: Response } {
  return { ok: false, response: jsonError(status, error, details) };
}
