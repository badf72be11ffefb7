/**
 * Control-plane settings from environment variables, validated with zod.
 * Pure: the entry point passes in its environment (process.env or Deno's).
 */
import { z } from "zod";
import { DEFAULT_DATABASE_URL } from "./db/client.ts";

/** An unset variable and an empty one (`PORT= npm run control`) both mean "use the default". */
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);
const withDefault = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema);

/** Secrets people choose themselves: long enough that guessing is not an option. */
const Secret = z.string().min(16, "must be at least 16 characters");
const Seconds = z.coerce.number().positive();

export const Config = z
  .object({
    PORT: withDefault(z.coerce.number().int().min(0).max(65535).default(8080)),
    HOST: withDefault(z.string().default("0.0.0.0")),
    DATABASE_URL: withDefault(z.string().default(DEFAULT_DATABASE_URL)),
    /** Only for libsql:// servers that require one (Turso, sqld with auth). */
    DATABASE_AUTH_TOKEN: withDefault(z.string().optional()),
    /** Admin token; when unset one is generated at first start, printed once and stored hashed. */
    EBPF_K8S_ADMIN_TOKEN: withDefault(Secret.optional()),
    /** "open": anyone who reaches the server may read; "token": reads need the admin or the read token. */
    EBPF_K8S_READ_AUTH: withDefault(z.enum(["open", "token"]).default("open")),
    EBPF_K8S_READ_TOKEN: withDefault(Secret.optional()),
    /** A node is Stale after this many seconds without a batch, and Lost after EBPF_K8S_LOST_AFTER. */
    EBPF_K8S_STALE_AFTER: withDefault(Seconds.default(30)),
    EBPF_K8S_LOST_AFTER: withDefault(Seconds.default(120)),
    /** Per node: batches per second (sustained) and how many may come at once (an agent emptying its spool). */
    EBPF_K8S_INGEST_RATE: withDefault(z.coerce.number().positive().default(5)),
    EBPF_K8S_INGEST_BURST: withDefault(z.coerce.number().int().min(1).default(20)),
    EBPF_K8S_REQUEST_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1).default(10_000)),
  })
  .refine((c) => c.EBPF_K8S_LOST_AFTER > c.EBPF_K8S_STALE_AFTER, {
    path: ["EBPF_K8S_LOST_AFTER"],
    message: "must be greater than EBPF_K8S_STALE_AFTER",
  })
  .refine((c) => c.EBPF_K8S_READ_TOKEN === undefined || c.EBPF_K8S_READ_AUTH === "token", {
    path: ["EBPF_K8S_READ_TOKEN"],
    message: "is only used with EBPF_K8S_READ_AUTH=token",
  });
export type Config = z.output<typeof Config>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = Config.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`bad environment: ${problems.join("; ")}`);
}

/** What the app needs from the settings, in the units it works in. Secrets are handled by control/auth. */
export interface AppSettings {
  readAuth: "open" | "token";
  staleAfterMs: number;
  lostAfterMs: number;
  ingestRatePerSec: number;
  ingestBurst: number;
  requestTimeoutMs: number;
  /** Failed joins and logins per client address (token guessing): sustained per second, and burst. */
  authFailureRatePerSec: number;
  authFailureBurst: number;
}

export function appSettings(config: Config): AppSettings {
  return {
    readAuth: config.EBPF_K8S_READ_AUTH,
    staleAfterMs: config.EBPF_K8S_STALE_AFTER * 1000,
    lostAfterMs: config.EBPF_K8S_LOST_AFTER * 1000,
    ingestRatePerSec: config.EBPF_K8S_INGEST_RATE,
    ingestBurst: config.EBPF_K8S_INGEST_BURST,
    requestTimeoutMs: config.EBPF_K8S_REQUEST_TIMEOUT_MS,
    // Ten wrong tokens at once, then one every 5 s: harmless to a person's typo, useless for guessing 256 bits.
    authFailureRatePerSec: 0.2,
    authFailureBurst: 10,
  };
}

export const DEFAULT_APP_SETTINGS: AppSettings = appSettings(parseConfig({}));
