// SPDX-License-Identifier: Apache-2.0
/**
 * Request bodies: a size limit checked before anything is buffered, and JSON
 * parsing that answers in the API's error shape.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { jsonError } from "./json.ts";
import type { Parsed } from "./validation.ts";

/** Bodies of the small admin and join requests. */
export const SMALL_BODY_BYTES = 16 * 1024;

/**
 * Refuses bodies over `maxBytes` with 413: by Content-Length up front, and by
 * counting when the body is streamed without one.
 *
 * A Content-Length over the limit is answered without touching the body, so
 * that the server reads the rest and drops it (@hono/node-server does) and
 * the connection serves the client's next request. Hono's bodyLimit opens
 * the body first, which stops that reading: the connection was dropped after
 * an answer that said keep-alive, and the client's next request on it failed.
 * A streamed body refused part-way is not read to its end either: that
 * answer says `Connection: close`.
 */
export function limitBody(maxBytes: number, what = "body"): MiddlewareHandler {
  const tooLarge = () => jsonError(413, `${what} larger than ${maxBytes} bytes`, { maxBytes });
  const counting = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      const res = tooLarge();
      res.headers.set("connection", "close");
      return res;
    },
  });
  return async (c, next) => {
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined && Number(length) > maxBytes) {
      return tooLarge();
    }
    return counting(c, next);
  };
}

/**
 * Parsed by hand rather than c.req.json() so a missing or wrong Content-Type
 * still works from curl, and bad JSON gets the API's error shape. `empty` is
 * what an empty body stands for (undefined: an empty body is not JSON).
 */
export async function readJson(c: Context, empty?: unknown): Promise<Parsed<unknown>> {
  return parseJson(await c.req.text(), empty);
}

/** The `error` of a 400 for a body that cannot be read at all (documented as such: control/openapi/operation.ts). */
export const NOT_JSON = "body is not JSON";
export const NOT_GZIP = "body is not valid gzip";

/** `text` as JSON, or the API's 400 answer (for bodies read otherwise: a compact batch, gunzipped). */
export function parseJson(text: string, empty?: unknown): Parsed<unknown> {
  if (text.trim() === "" && empty !== undefined) return { ok: true, data: empty };
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch {
    return { ok: false, response: jsonError(400, NOT_JSON) };
  }
}
