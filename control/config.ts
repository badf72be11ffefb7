/**
 * Control-plane settings from environment variables, validated with zod.
 * Pure: the entry point passes in its environment (process.env or Deno's).
 */
import { z } from "zod";
import { DEFAULT_DATABASE_URL } from "./db/client.ts";

/** An unset variable and an empty one (`PORT= npm run control`) both mean "use the default". */
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);

export const Config = z.object({
  PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(8080)),
  HOST: z.preprocess(unsetIfEmpty, z.string().default("0.0.0.0")),
  DATABASE_URL: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_DATABASE_URL)),
  /** Only for libsql:// servers that require one (Turso, sqld with auth). */
  DATABASE_AUTH_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
});
export type Config = z.output<typeof Config>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = Config.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`bad environment: ${problems.join("; ")}`);
}
