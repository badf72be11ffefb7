/**
 * Entry point: `npm run control` (Node, via tsx) or `deno run -A control/main.ts`.
 *
 * Environment: PORT (default 8080; 0 picks a free port), HOST (default
 * 0.0.0.0), DATABASE_URL (default file:./data/ebpf-k8s.db), and
 * DATABASE_AUTH_TOKEN for libsql:// servers. SIGINT/SIGTERM stop accepting
 * connections, let requests in flight finish, then close the database.
 *
 * The only module that knows which runtime it is in; everything else is a
 * plain fetch handler.
 */
import { createApp } from "./app.ts";
import { parseConfig, type Config } from "./config.ts";
import { openDb } from "./db/client.ts";

type FetchHandler = (request: Request) => Response | Promise<Response>;

interface Listening {
  port: number;
  close(): Promise<void>;
}

/** The parts of the Deno namespace used here (tsc type-checks this file with Node types). */
interface DenoRuntime {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  exit(code: number): never;
}
const deno = (globalThis as unknown as { Deno?: DenoRuntime }).Deno;

/** If a request hangs, stop waiting for it after this long and exit anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main() {
  const config = parseConfig(deno ? deno.env.toObject() : process.env);
  const db = await openDb(config.DATABASE_URL, { authToken: config.DATABASE_AUTH_TOKEN });
  const app = createApp(db);
  const server = await (deno ? listenDeno(deno, app.fetch, config) : listenNode(app.fetch, config));

  const shown = config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST;
  console.log(`ebpf-k8s control plane listening on http://${shown}:${server.port} (bound to ${config.HOST})`);
  // Drop any query string: a libsql:// URL may carry a token there.
  console.log(`database: ${config.DATABASE_URL.split("?")[0]}`);

  let stopping = false;
  onSignals(async (signal) => {
    if (stopping) exit(1); // a second Ctrl-C means "now"
    stopping = true;
    console.log(`${signal}: shutting down`);
    setTimeout(() => exit(1), SHUTDOWN_GRACE_MS).unref?.();
    await server.close();
    db.$client.close();
    exit(0);
  });
}

function listenNode(fetch: FetchHandler, config: Config): Promise<Listening> {
  return import("@hono/node-server").then(
    ({ serve }) =>
      new Promise((resolve, reject) => {
        const server = serve({ fetch, port: config.PORT, hostname: config.HOST }, (info) =>
          resolve({
            port: info.port,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
                // Idle keep-alive connections would otherwise hold close() open.
                if ("closeIdleConnections" in server) server.closeIdleConnections();
              }),
          }),
        );
        server.once("error", reject);
      }),
  );
}

function listenDeno(deno: DenoRuntime, fetch: FetchHandler, config: Config): Promise<Listening> {
  return new Promise((resolve) => {
    const server = deno.serve(
      { port: config.PORT, hostname: config.HOST, onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }) },
      fetch,
    );
  });
}

function onSignals(handler: (signal: string) => void) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    if (deno) deno.addSignalListener(signal, () => handler(signal));
    else process.on(signal, () => handler(signal));
  }
}

function exit(code: number): never {
  return deno ? deno.exit(code) : process.exit(code);
}

main().catch((err) => {
  console.error("control plane failed to start:", err instanceof Error ? err.message : err);
  exit(1);
});
