// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/flows/stream?node=&namespace=&pod=&service=&port=&protocol=&failures=
 * follows the flow rows of the batches this replica stores, as they commit
 * (control/flows-stream/): NDJSON (`application/x-ndjson`, one object a line)
 * by default, server-sent events with `Accept: text/event-stream` (`event:
 * flow`, `id: <seq>`, `data: <json>`). A line is
 * `{ type: "flow", seq, node, ts, storedAt, ...Flow }` (Flow as GET /api/v1/flows
 * without bytesPerSec), `{ type: "keepalive", seq }` when idle (SSE: a comment),
 * or, last, `{ type: "dropped", reason, seq, message }` (SSE `event: dropped`)
 * when the follower read too slowly. Filters: control/flows-stream/filters.ts;
 * 400 names a bad parameter; 503 with Retry-After beyond the followers' cap.
 */
import { Hono } from "hono";
import { type AccessSettings, requireReader } from "../auth/access.ts";
import { flowMatcher, FlowStreamQuery } from "../flows-stream/filters.ts";
import type { FlowStreamHub } from "../flows-stream/hub.ts";
import { NDJSON, SSE } from "../flows-stream/record.ts";
import { followerResponse } from "../flows-stream/response.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";

export const FLOW_STREAM_PATH = "/flows/stream";

/** Whether the client asked for server-sent events (EventSource sends exactly this type). */
export const wantsSse = (accept: string | undefined): boolean => accept?.includes("text/event-stream") ?? false;

export function flowStreamRoutes(hub: FlowStreamHub, { access }: { access: AccessSettings }): Hono {
  const routes = new Hono();
  routes.get(FLOW_STREAM_PATH, requireReader(access), (c) => {
    const q = parseOr400(FlowStreamQuery, c.req.query(), invalidParameters("query"));
    if (!q.ok) return q.response;
    return followerResponse(c, hub, flowMatcher(q.data), wantsSse(c.req.header("accept")) ? SSE : NDJSON);
  });
  return routes;
}
