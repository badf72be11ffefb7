// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane's HTTP server under Node, tuned for a fleet of agents.
 *
 * Every agent holds one connection and posts a batch on it every interval
 * (10 s by default), or later when told to Retry-After (up to
 * EBPF_K8S_INGEST_MAX_RETRY_AFTER). Node closes a connection idle for 5 s,
 * so with its defaults every batch of every agent opened a new TCP
 * connection: 300 a second at 3,000 nodes, each to be accepted by a busy
 * event loop. Measured with the ingest bench at 3,000 simulated nodes
 * (control/bench/ingest.ts): 8,254 requests timed out on a connection while
 * the server itself answered every request within 0.7 s; the queue of SYNs
 * waiting for accept() overflowed (backlog 511) and clients waited for
 * their retransmits. Idle connections are cheap; new ones under load are
 * not. So: idle connections stay open longer than any wait an agent is
 * asked for, and the accept queue is as long as the kernel allows
 * (net.core.somaxconn caps it). Each agent holds a file descriptor: the
 * systemd unit raises LimitNOFILE.
 *
 * @hono/node-server is imported when called: under Deno (control/main.ts's
 * other path) it is never loaded.
 */
import { RETRY_JITTER } from "../wire/retry.ts";
import type { TlsFiles } from "./tls.ts";

/**
 * How long an idle connection stays open: longer than an agent's longest wait between two batches, the longest
 * Retry-After with the agent's jitter (control/wire/retry.ts), and a margin for its interval.
 */
export function keepAliveMs(maxRetryAfterSeconds: number): number {
  return Math.ceil(maxRetryAfterSeconds * (1 + RETRY_JITTER) * 1000) + 15_000;
}
/** Asked of listen(); the kernel caps it at net.core.somaxconn. */
export const ACCEPT_BACKLOG = 4096;

export interface Listening {
  port: number;
  close(): Promise<void>;
}

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export async function listenNode(
  fetch: FetchHandler,
  at: { port: number; hostname: string; keepAliveMs: number; tls?: TlsFiles },
): Promise<Listening> {
  const { createAdaptorServer } = await import("@hono/node-server");
  // headersTimeout bounds the wait for the next request's headers on a kept connection too: above keep-alive.
  const timeouts = { keepAliveTimeout: at.keepAliveMs, headersTimeout: at.keepAliveMs + 5_000 };
  const server = at.tls
    ? createAdaptorServer({
      fetch,
      createServer: (await import("node:https")).createServer,
      serverOptions: { ...timeouts, cert: at.tls.cert, key: at.tls.key },
    })
    : createAdaptorServer({ fetch, serverOptions: timeouts });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: at.port, host: at.hostname, backlog: ACCEPT_BACKLOG }, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address !== null ? address.port : at.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive connections would otherwise hold close() open.
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }),
      });
    });
  });
}
