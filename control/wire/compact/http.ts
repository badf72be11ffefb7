// SPDX-License-Identifier: Apache-2.0
/**
 * How a compact batch travels (wire version 4): the contract between the agent's sender and the control plane's
 * ingest route, in one place.
 *
 * - `POST /api/v1/ingest` with `Content-Type: COMPACT_CONTENT_TYPE` carries a compact batch (shape.ts) of wire
 *   version COMPACT_SINCE_VERSION or later; `Content-Encoding: gzip` when compressed (the agent always
 *   compresses: 54 B → 16 B per flow record). Plain JSON (`application/json`, today's Batch) stays accepted for
 *   every accepted version: curl, old agents, debugging.
 * - The compressed body counts against MAX_BATCH_BYTES as sent; its decompressed text is capped at
 *   MAX_BATCH_BYTES too (gunzipCapped), so a small body cannot expand without bound.
 * - A batch that sends a part by its hash alone while the control plane does not hold that part for the node
 *   (it restarted, another replica took the batch, the hash is of something it never saw) is answered
 *   UNKNOWN_PART_STATUS with `{ error: UNKNOWN_PART, parts }`: the agent sends the same batch again at once, with
 *   those parts whole. Nothing is stored from the refused request.
 */
import { z } from "zod";
import type { Batch } from "../batch.ts";
import { MAX_BATCH_BYTES } from "../batch.ts";
import { encodeCompact, type EncodeOptions } from "./encode.ts";

/** The media type of a compact batch (JSON, readable in a debugger once gunzipped). */
export const COMPACT_CONTENT_TYPE = "application/vnd.ebpf-k8s.batch-compact+json";

export { COMPACT_SINCE_VERSION } from "../version.ts";

/** The answer to a batch naming a part by a hash the control plane does not hold: send it again with the part whole. */
export const UNKNOWN_PART_STATUS = 412;
export const UNKNOWN_PART = "unknown part";

/** The parts a compact batch may send by hash: the inventory and the pods' metadata. */
export const HeldPart = z.enum(["inventory", "pods"]);
export type HeldPart = z.infer<typeof HeldPart>;

/** The body of the UNKNOWN_PART_STATUS answer (read leniently: a newer control plane may add fields). */
export const UnknownPartAnswer = z.object({
  error: z.literal(UNKNOWN_PART),
  parts: z.array(HeldPart).min(1).max(2),
});
export type UnknownPartAnswer = z.infer<typeof UnknownPartAnswer>;

/** The hashes a compact body was written with, to remember once it is acknowledged. */
export interface SentHashes {
  inventory?: string;
  pods?: string;
}

/**
 * `batch` as the body of a compact POST (gzipped), and the hashes of its parts: once acknowledged, the control
 * plane holds them and the next batch may send them as hashes (`held`).
 */
export async function compactBody(
  batch: Batch,
  held: EncodeOptions = {},
): Promise<{ body: Uint8Array; headers: Record<string, string>; hashes: SentHashes }> {
  const compact = encodeCompact(batch, held);
  return {
    body: await gzip(JSON.stringify(compact)),
    headers: { "content-type": COMPACT_CONTENT_TYPE, "content-encoding": "gzip" },
    hashes: { inventory: compact.inventoryHash, pods: compact.pods?.infoHash },
  };
}

/** gzip of `text` (CompressionStream: the same in Deno and Node). */
export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Thrown when a gzipped body is not gzip, or would expand beyond its cap. */
export class GunzipError extends Error {
  constructor(message: string, readonly tooLarge: boolean) {
    super(message);
    this.name = "GunzipError";
  }
}

/** The text `bytes` (gzip) expands to, refused (GunzipError) as soon as it passes `maxBytes` or is not gzip. */
export async function gunzipCapped(bytes: Uint8Array, maxBytes = MAX_BATCH_BYTES): Promise<string> {
  const reader = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new GunzipError(`body expands to more than ${maxBytes} bytes`, true);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof GunzipError) throw err;
    throw new GunzipError(`body is not valid gzip (${err instanceof Error ? err.message : String(err)})`, false);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(out);
}
