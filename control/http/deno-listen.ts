// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane's HTTP server under Deno (Deno.serve), as control/main.ts runs it; the ingest bench's server
 * (control/bench/ingest-server.ts) serves the same way when it runs under Deno.
 */
import type { FetchHandler, Listening } from "./node-listen.ts";
import type { TlsFiles } from "./tls.ts";

/** Deno.serve, as far as it is used here (tsc type-checks the control plane with Node types). */
export type DenoServe = (
  options: { port: number; hostname: string; cert?: string; key?: string; onListen?: (addr: { port: number }) => void },
  handler: FetchHandler,
) => { shutdown(): Promise<void> };

export function listenDeno(
  deno: { serve: DenoServe },
  fetch: FetchHandler,
  at: { port: number; hostname: string; tls?: TlsFiles },
) {
  return new Promise<Listening>((resolve) => {
    const server = deno.serve(
      {
        port: at.port,
        hostname: at.hostname,
        ...(at.tls ? { cert: at.tls.cert, key: at.tls.key } : {}),
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
      },
      fetch,
    );
  });
}
