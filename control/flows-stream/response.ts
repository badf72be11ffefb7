// SPDX-License-Identifier: Apache-2.0
/** A follower of the hub as an HTTP response: the stream's headers, or 503 when the replica has enough followers. */
import type { Context } from "hono";
import { jsonError } from "../http/json.ts";
import type { FlowStreamHub } from "./hub.ts";
import type { FollowerOptions } from "./follower.ts";
import type { StreamFormat } from "./record.ts";

/** Seconds a follower refused for the cap is asked to wait. */
export const FOLLOWERS_RETRY_AFTER_S = 10;

/** Under Node (@hono/node-server) the response's socket, which a dropped follower that reads nothing leaves open. */
type NodeBindings = { outgoing?: { destroy(): void } } | undefined;

export function followerResponse(
  c: Context,
  hub: FlowStreamHub,
  match: FollowerOptions["match"],
  format: StreamFormat,
): Response {
  const outgoing = (c.env as NodeBindings)?.outgoing;
  const follower = hub.follow(match, format, outgoing && (() => outgoing.destroy()));
  if (follower === undefined) {
    const res = jsonError(
      503,
      `this replica streams to ${hub.settings.maxFollowers} followers already (EBPF_K8S_STREAM_MAX_FOLLOWERS); retry later`,
    );
    res.headers.set("Retry-After", String(FOLLOWERS_RETRY_AFTER_S));
    return res;
  }
  return new Response(follower.stream, {
    headers: {
      "content-type": `${format.contentType}; charset=utf-8`,
      "cache-control": "no-cache, no-store",
      // nginx (ingress) would otherwise buffer the stream.
      "x-accel-buffering": "no",
    },
  });
}
