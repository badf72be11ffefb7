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
 */
export function limitBody(maxBytes: number, what = "body"): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => jsonError(413, `${what} larger than ${maxBytes} bytes`, { maxBytes }),
  });
}

/**
 * Parsed by hand rather than c.req.json() so a missing or wrong Content-Type
 * still works from curl, and bad JSON gets the API's error shape. `empty` is
 * what an empty body stands for (undefined: an empty body is not JSON).
 */
export async function readJson(c: Context, empty?: unknown): Promise<Parsed<unknown>> {
  const text = await c.req.text();
  if (text.trim() === "" && empty !== undefined) return { ok: true, data: empty };
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch {
    return { ok: false, response: jsonError(400, "body is not JSON") };
  }
}
