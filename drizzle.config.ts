// SPDX-License-Identifier: Apache-2.0
/**
 * drizzle-kit settings: `npm run db:generate` diffs control/db/schema.ts
 * against the last snapshot and writes a new SQL migration. The control plane
 * applies migrations itself at start (control/db/client.ts), so no
 * drizzle-kit command needs a database; the URL is only for tools such as
 * `npx drizzle-kit studio`.
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./control/db/schema.ts",
  out: "./control/db/migrations",
  dbCredentials: { url: process.env.DATABASE_URL ?? "file:./data/ebpf-k8s.db" },
  strict: true,
  verbose: true,
});
