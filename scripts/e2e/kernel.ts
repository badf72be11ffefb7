// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel tests run only as root with BTF and built objects. Under CI=true a
 * missing requirement fails the test run instead of skipping it.
 */
import { existsSync } from "node:fs";
import { REPO } from "../procs.ts";

export function kernelMissing(): string | null {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  if (!existsSync("/sys/kernel/btf/vmlinux")) missing.push("kernel BTF (/sys/kernel/btf/vmlinux)");
  if (!existsSync(`${REPO}build/bpf/ifstats.bpf.o`)) missing.push("built eBPF objects (run npm run setup)");
  if (!missing.length) return null;
  const msg = `kernel tests need: ${missing.join(", ")}`;
  if (process.env.CI === "true") throw new Error(`${msg} (CI=true: kernel tests must run)`);
  console.warn(`skipping: ${msg}`);
  return msg;
}
