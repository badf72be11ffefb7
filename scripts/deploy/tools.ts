// SPDX-License-Identifier: Apache-2.0
/** A Debian tool a test needs: null when installed; else skipped with a message, or a failure under CI=true. */
import { existsSync } from "node:fs";

export function toolMissing(path: string, pkg: string): string | null {
  if (existsSync(path)) return null;
  const msg = `${path} missing (Debian package ${pkg}; scripts/setup.sh installs it)`;
  if (process.env.CI === "true") throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return msg;
}
