// SPDX-License-Identifier: Apache-2.0
/**
 * Reading the systemd units of scripts/systemd/ for tests: settings by key
 * (continuation lines joined) and the argv of ExecStart.
 */
import { readFileSync } from "node:fs";
import { REPO } from "../procs.ts";

export const UNIT_DIR = `${REPO}scripts/systemd`;
export const UNITS = [
  "ebpf-k8s-agent.service",
  "ebpf-k8s-control.service",
  "ebpf-k8s-agent-uninstall.service",
] as const;

/** Every `Key=value` of a unit, in order, with `\`-continued lines joined. */
export function unitSettings(name: string): { key: string; value: string }[] {
  const text = readFileSync(`${UNIT_DIR}/${name}`, "utf8").replace(/\\\n/g, " ");
  return text
    .split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => ({ key: l.slice(0, l.indexOf("=")), value: l.slice(l.indexOf("=") + 1).trim() }));
}

export function unitValues(name: string, key: string): string[] {
  return unitSettings(name).filter((s) => s.key === key).map((s) => s.value);
}

/** ExecStart split into words (the units quote nothing). */
export function execStart(name: string): string[] {
  const [exec] = unitValues(name, "ExecStart");
  if (exec === undefined) throw new Error(`${name} has no ExecStart`);
  return exec.split(/\s+/).filter(Boolean);
}

/** `Environment=A=1 B=2` lines as a map. */
export function unitEnvironment(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitValues(name, "Environment")) {
    for (const pair of line.split(/\s+/).filter(Boolean)) {
      env[pair.slice(0, pair.indexOf("="))] = pair.slice(pair.indexOf("=") + 1);
    }
  }
  return env;
}

/** The Deno permission flags of the agent unit (or its uninstall unit): the words between `run` and `agent/main.ts`. */
export function agentUnitDenoFlags(unit = "ebpf-k8s-agent.service"): string[] {
  const argv = execStart(unit);
  return argv.slice(argv.indexOf("run") + 1, argv.indexOf("agent/main.ts"));
}

/** Keys of the settings that confine a service (sandboxing, capabilities, system calls, address families). */
export const CONFINEMENT_KEY =
  /^(Protect|Private|Restrict|SystemCall|Capability|Ambient|NoNewPrivileges|LockPersonality|ReadWritePaths|ReadOnlyPaths|InaccessiblePaths|UMask|MemoryDenyWriteExecute|DynamicUser|User$)/;

/** A unit's confinement: every confining setting, in order. */
export const confinement = (name: string) => unitSettings(name).filter((s) => CONFINEMENT_KEY.test(s.key));
