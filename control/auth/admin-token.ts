// SPDX-License-Identifier: Apache-2.0
/**
 * The admin token: EBPF_K8S_ADMIN_TOKEN when set; otherwise generated at the
 * first start, stored as SHA-256 in `settings` (shared by every replica on the
 * same database) and handed back once so the entry point can print it.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { settings } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { newSecret, sha256Hex } from "./secrets.ts";

export const ADMIN_TOKEN_PREFIX = "ek8s_admin_";
const ADMIN_TOKEN_SETTING = "admin_token_sha256";

export type AdminToken =
  | { source: "env" | "stored"; hash: string }
  /** Made just now: `token` exists nowhere else and must be shown to the operator this once. */
  | { source: "generated"; hash: string; token: string };

export async function resolveAdminToken(db: Db, envToken: string | undefined, now: number): Promise<AdminToken> {
  if (envToken !== undefined) return { source: "env", hash: await sha256Hex(envToken) };

  const stored = await storedHash(db);
  if (stored !== undefined) return { source: "stored", hash: stored };

  const token = newSecret(ADMIN_TOKEN_PREFIX);
  const hash = await sha256Hex(token);
  // Two replicas starting at once on a fresh database: only the insert that
  // wins prints its token; the other adopts the winner's hash.
  const inserted = await writeTransaction(
    db,
    (tx) =>
      tx.insert(settings).values({ key: ADMIN_TOKEN_SETTING, value: hash, updatedAt: now }).onConflictDoNothing()
        .returning(),
  );
  if (inserted.length === 1) return { source: "generated", hash, token };
  return { source: "stored", hash: (await storedHash(db))! };
}

async function storedHash(db: Db): Promise<string | undefined> {
  const row = await db.select().from(settings).where(eq(settings.key, ADMIN_TOKEN_SETTING)).get();
  return row?.value;
}
