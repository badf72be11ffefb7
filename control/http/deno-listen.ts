/**
 * The control plane's HTTP server under Deno (Deno.serve), as control/main.ts runs it; the ingest bench's server
 * (control/bench/ingest-server.ts) serves the same way when it runs under Deno.
 */
import type { FetchHandler, Listening } from "./node-listen.ts";

/** Deno.serve, as far as it is used here (tsc type-checks the control plane with Node types). */
export type DenoServe = (
  options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
  handler: FetchHandler,
) => { shutdown(): Promise<void> };

export function listenDeno(deno: { serve: DenoServe }, fetch: FetchHandler, at: { port: number; hostname: string }) {
  return new Promise<Listening>((resolve) => {
    const server = deno.serve(
      {
        port: at.port,
        hostname: at.hostname,
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
      },
      fetch,
    );
  });
}
