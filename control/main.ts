// SPDX-License-Identifier: Apache-2.0
/**
 * Entry point: `npm run control` (Node, via tsx) or `deno run -A control/main.ts`.
 *
 * Environment: PORT (default 8080; 0 picks a free port), HOST (default
 * 0.0.0.0), EBPF_K8S_TLS_CERT and EBPF_K8S_TLS_KEY (HTTPS), DATABASE_URL (default file:./data/ebpf-k8s.db),
 * DATABASE_AUTH_TOKEN for libsql:// servers, and the EBPF_K8S_* settings of
 * control/config.ts. SIGINT/SIGTERM stop accepting connections, let requests
 * in flight finish, then close the database.
 *
 * In a cluster (or with EBPF_K8S_KUBE_API) it syncs services from Kubernetes
 * Services and EndpointSlices (control/kube/).
 *
 * Replicas on one database all serve; the work that must run once (that
 * sync, rollups and retention, alert evaluation and notifications) runs only
 * on the replica holding the lease (control/lease/, EBPF_K8S_LEASE and _RENEW).
 *
 * The first start on a database creates the default thresholds (agent silent,
 * drops surge; control/alerts/defaults.ts) unless EBPF_K8S_DEFAULT_THRESHOLDS=off.
 *
 * Without EBPF_K8S_ADMIN_TOKEN, the first start on an empty database
 * generates an admin token and prints it to stdout, once; later starts only
 * say that one exists.
 *
 * The only module that knows which runtime it is in; everything else is a
 * plain fetch handler.
 */
import { createApp } from "./app.ts";
import { seedDefaultThresholds } from "./alerts/defaults.ts";
import { type AdminToken, resolveAdminToken } from "./auth/admin-token.ts";
import { sha256Hex } from "./auth/secrets.ts";
import { appSettings, parseConfig } from "./config.ts";
import { openDb } from "./db/client.ts";
import { type DenoServe, listenDeno } from "./http/deno-listen.ts";
import { keepAliveMs, listenNode } from "./http/node-listen.ts";
import { readTls } from "./http/tls.ts";
import { kubeServiceSync } from "./kube/connect.ts";
import { onceOnlyJobs, onceOnlyKeeper } from "./once-only.ts";
import { endWaits } from "./services/watch.ts";
import { endFollowers } from "./flows-stream/hub.ts";

/** The parts of the Deno namespace used here (tsc type-checks this file with Node types). */
interface DenoRuntime {
  env: { toObject(): Record<string, string> };
  serve: DenoServe;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  createHttpClient(options: { caCerts: string[] }): { close(): void };
  exit(code: number): never;
}
/** Deno reports unhandled rejections as a cancelable global event (Node as a process event). */
interface UnhandledRejectionEvent extends Event {
  reason: unknown;
}
const deno = (globalThis as unknown as { Deno?: DenoRuntime }).Deno;

/** If a request hangs, stop waiting for it after this long and exit anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main() {
  const config = parseConfig(deno ? deno.env.toObject() : process.env);
  const tls = readTls(config); // before anything is opened: a bad file stops the start, naming its variable
  keepServingOnUnhandledRejections();
  const db = await openDb(config.DATABASE_URL, { authToken: config.DATABASE_AUTH_TOKEN });
  const admin = await resolveAdminToken(db, config.EBPF_K8S_ADMIN_TOKEN, Date.now());
  const readTokenHash = config.EBPF_K8S_READ_TOKEN === undefined
    ? undefined
    : await sha256Hex(config.EBPF_K8S_READ_TOKEN);
  const settings = appSettings(config);
  if (config.EBPF_K8S_DEFAULT_THRESHOLDS === "on" && await seedDefaultThresholds(db, Date.now())) {
    console.log("default thresholds created (agent silent, drops surge): edit or delete them on /thresholds");
  }
  const kubeServices = kubeServiceSync(db, config, deno); // says now whether it will sync, and fails now if it cannot
  const onceOnly = onceOnlyJobs(db, settings);
  if (kubeServices) onceOnly.push({ name: "Kubernetes service sync", start: ({ fence }) => kubeServices.start(fence) });
  const lease = onceOnlyKeeper(db, config, onceOnly);
  const app = createApp(db, {
    tokens: { adminTokenHash: admin.hash, readTokenHash },
    settings,
    lease: () => lease.status(),
  });
  const at = { port: config.PORT, hostname: config.HOST, tls };
  const server = await (deno ? listenDeno(deno, app.fetch, at) : listenNode(app.fetch, {
    ...at,
    keepAliveMs: keepAliveMs(
      settings.ingestAdmission.maxRetryAfterSeconds ?? settings.ingestAdmission.retryAfterSeconds,
    ),
  }));

  const shown = config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST;
  const url = `${at.tls ? "https" : "http"}://${shown}:${server.port}`;
  console.log(`ebpf-k8s control plane listening on ${url} (bound to ${config.HOST})`);
  // The notifications' links lead here unless the operator says where people reach it (read once the port is known).
  settings.notify.externalUrl ??= url;
  // Drop any query string: a libsql:// URL may carry a token there.
  console.log(`database: ${config.DATABASE_URL.split("?")[0]}`);
  console.log(adminTokenNotice(admin, url));
  console.log(
    `reads (API and pages): ${
      config.EBPF_K8S_READ_AUTH === "open"
        ? "open to anyone who can reach this server"
        : "need the admin or the read token"
    }`,
  );
  console.log(`replica: ${lease.status().replica} (once-only work while it holds the lease)`);
  lease.start();

  let stopping = false, stoppingAt = 0;
  onSignals(async (signal) => {
    if (stopping) {
      // A second Ctrl-C means "now". The same stop can also arrive twice at once: a signal sent to a
      // process group reaches both `deno task` (or npm) and this process, and the runner forwards its own.
      if (Date.now() - stoppingAt > REPEATED_SIGNAL_MS) exit(1);
      return;
    }
    stopping = true;
    stoppingAt = Date.now();
    console.log(`${signal}: shutting down`);
    setTimeout(() => exit(1), SHUTDOWN_GRACE_MS).unref?.();
    const closed = server.close();
    endWaits(db); // agents' long polls for lb state answer now instead of holding the shutdown
    endFollowers(db); // live flows' followers get a last line and their streams end
    await closed;
    await lease.stop(); // stops the once-only work, then hands the lease on

    db.$client.close();
    exit(0);
  });
}

/** What to say about the admin token at start; the token itself only when it was generated just now. */
function adminTokenNotice(admin: AdminToken, url: string): string {
  if (admin.source !== "generated") {
    return admin.source === "env"
      ? "admin token: from EBPF_K8S_ADMIN_TOKEN"
      : "admin token: generated at the first start and printed then (only its hash is stored); set EBPF_K8S_ADMIN_TOKEN to use another";
  }
  return [
    "",
    "admin token (generated now; shown this once, only its SHA-256 is stored, keep it somewhere safe):",
    "",
    `    ${admin.token}`,
    "",
    `  curl:    -H "Authorization: Bearer ${admin.token}"`,
    `  browser: ${url}/login`,
    "  Lost it? Set EBPF_K8S_ADMIN_TOKEN (it takes precedence over the stored one).",
    "",
  ].join("\n");
}

/**
 * A promise rejected with nobody listening is a bug, but it must not take
 * down the control plane (Node's default is to exit): log it and keep serving.
 */
function keepServingOnUnhandledRejections() {
  const log = (reason: unknown) => console.error("unhandled rejection (still serving):", reason);
  if (deno) {
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      log((event as UnhandledRejectionEvent).reason);
    });
  } else {
    process.on("unhandledRejection", log);
  }
}

/** A signal this soon after the first is the same stop delivered twice, not an impatient second one. */
const REPEATED_SIGNAL_MS = 1000;

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
