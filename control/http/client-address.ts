// SPDX-License-Identifier: Apache-2.0
/**
 * The peer address of a request, whichever server runs the app: Hono's Node
 * server passes the Node request as `env.incoming`, Deno.serve passes its
 * connection info (`remoteAddr`) as the second argument of the fetch handler.
 * X-Forwarded-For is deliberately ignored: anyone can send it, so trusting it
 * would let a brute-forcer pick a fresh "address" per attempt.
 */
import type { Context } from "hono";

interface ServerEnv {
  incoming?: { socket?: { remoteAddress?: string } };
  remoteAddr?: { hostname?: string };
}

/** "unknown" when the server gave nothing (tests through `app.request()`). */
export function clientAddress(c: Context): string {
  const env = c.env as ServerEnv | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? "unknown";
}
