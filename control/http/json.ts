// SPDX-License-Identifier: Apache-2.0
/**
 * JSON responses shared by every route: indented and newline-terminated, so
 * `curl` output is readable without piping through jq.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export function jsonResponse(data: unknown, status: ContentfulStatusCode = 200): Response {
  return new Response(JSON.stringify(data, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=UTF-8" },
  });
}

/** The one error shape of the API: `{ error, ...details }`. */
export function jsonError(
  status: ContentfulStatusCode,
  error: string,
  details: Record<string, unknown> = {},
): Response {
  return jsonResponse({ error, ...details }, status);
}
