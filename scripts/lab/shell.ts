// SPDX-License-Identifier: Apache-2.0
/** Running iproute2 and friends for the lab (a test fixture, not product code). */
import { execFileSync } from "node:child_process";

export function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input: opts.input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    if (opts.allowFail) return "";
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** `ip` in the root netns (ns null) or in the named one. */
export const ip = (ns: string | null, ...args: string[]) => run("ip", ns ? ["-n", ns, ...args] : args);

/** Runs a whole `ip -batch` (or `bridge -batch`) script in one process: much faster than one exec per line. */
export function ipBatch(ns: string | null, lines: string[], tool: "ip" | "bridge" = "ip"): void {
  if (lines.length === 0) return;
  run(tool, [...(ns ? ["-n", ns] : []), "-batch", "-"], { input: lines.join("\n") + "\n" });
}

export function sysctl(ns: string | null, key: string, value: string | number): void {
  const args = ["-q", "-w", `${key}=${value}`];
  if (ns) run("ip", ["netns", "exec", ns, "sysctl", ...args]);
  else run("sysctl", args);
}

/** argv that runs a command in a pod or node netns without remounting /sys
 * (unlike `ip netns exec`), so bpffs, tracefs and cgroupfs stay visible. */
export const inNetns = (ns: string, argv: string[]) => ["nsenter", `--net=/run/netns/${ns}`, "--", ...argv];

export const listNetns = (): string[] =>
  run("ip", ["netns", "list"], { allowFail: true })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
