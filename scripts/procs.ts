// SPDX-License-Identifier: Apache-2.0
/**
 * Starting and stopping the project's own processes (control plane, agents)
 * for the demo and end-to-end tests: each is killed by its pid, never by name.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inCgroup } from "./lab/cgroup.ts";
import { inNetns } from "./lab/shell.ts";

export const REPO = fileURLToPath(new URL("..", import.meta.url));
export const BIN = `${REPO}node_modules/.bin`;

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  /** Signals the whole process group: wrappers such as tsx or nsenter pass nothing on to a child by themselves. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Children run in their own process group: a Ctrl-C in the terminal reaches only
 * the parent, which stops them in order (agents first, so their last batch lands). */
export function start(name: string, argv: string[], env: Record<string, string> = {}, echo = false): Proc {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
    if (echo) process.stderr.write(`[${name}] ${d}`);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal); // the group: it was started detached, so its pid is the group id
    } catch {
      child.kill(signal);
    }
  };
  return {
    name,
    child,
    output: () => out,
    kill,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        kill("SIGKILL"); // whatever the wrapper left behind
        return child.exitCode;
      }
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls fn until it returns a truthy value or the time runs out. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

export const controlArgv = () => [`${BIN}/tsx`, "control/main.ts"];

/** Where a control plane started with PORT=0 (a free port) listens: the URL its start-up line names. */
export function listeningUrl(proc: Proc, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    `${proc.name} to listen`,
    async () => /listening on (http:\/\/\S+:\d+)/.exec(proc.output())?.[1],
    timeoutMs,
  ).catch((e) => {
    throw new Error(`${e.message}\n${proc.output()}`);
  });
}

export interface AgentOptions {
  /** Lab node netns to run in (nsenter keeps /sys/fs/bpf and the cgroup mount visible). */
  netns?: string;
  /** Absolute cgroup v2 directory to run in. */
  cgroup?: string;
  control: string;
  node: string;
  interfaces: string[];
  interval: number;
  joinToken?: string;
  stateDir?: string;
  pinDir?: string;
  /** The lab's pod records for this node (the agent's stand-in for the Kubernetes API). */
  podsFile?: string;
  /** Absolute cgroup v2 directory the node's pods run under: where the lb module attaches when switched on. */
  lbCgroup?: string;
  /** "uninstall": the agent's removal of everything it left attached and pinned (SIGTERM leaves the datapath). */
  command?: "uninstall";
}

/** argv of an agent process, optionally inside a lab node's netns and cgroup. */
export function agentArgv(opts: AgentOptions): string[] {
  let argv = [
    // The same V8 flag as the deno.json task: a small young generation keeps the agent's RSS low.
    `${BIN}/deno`,
    "run",
    "--v8-flags=--max-semi-space-size=2",
    "--allow-ffi",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    "agent/main.ts",
    ...(opts.command ? [opts.command] : []),
    "--control",
    opts.control,
    "--node",
    opts.node,
    "--interfaces",
    opts.interfaces.join(","),
    "--interval",
    String(opts.interval),
    ...(opts.joinToken ? ["--join-token", opts.joinToken] : []),
    ...(opts.stateDir ? ["--state-dir", opts.stateDir] : []),
    ...(opts.pinDir ? ["--bpf-pin-dir", opts.pinDir] : []),
    ...(opts.podsFile ? ["--pods-file", opts.podsFile] : []),
    ...(opts.lbCgroup ? ["--lb-cgroup", opts.lbCgroup] : []),
  ];
  if (opts.cgroup) argv = inCgroup(opts.cgroup, argv);
  if (opts.netns) argv = inNetns(opts.netns, argv);
  return argv;
}
