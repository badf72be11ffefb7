// SPDX-License-Identifier: Apache-2.0
/** Running commands in tests (ip, tc, bpftool, clang...), with useful errors. */

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd`; throws unless it exits 0 (or `allowFail`), with the command and its stderr in the message. */
export async function run(cmd: string[], options: { allowFail?: boolean; stdin?: string } = {}): Promise<RunResult> {
  const command = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let out: Deno.CommandOutput;
  if (options.stdin !== undefined) {
    const child = command.spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
    out = await child.output();
  } else {
    out = await command.output();
  }
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (res.code !== 0 && !options.allowFail) {
    throw new Error(`command failed (exit ${res.code}): ${cmd.join(" ")}\n${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res;
}

/** Runs `cmd` and returns its stdout. */
export async function output(cmd: string[]): Promise<string> {
  return (await run(cmd)).stdout;
}

/** `ip netns exec NS ...cmd` when `ns` is given, else `cmd` as is. */
export function inNs(ns: string | null | undefined, cmd: string[]): string[] {
  return ns ? ["ip", "netns", "exec", ns, ...cmd] : cmd;
}

/**
 * The `deno run` flags of `deno task agent` (deno.json), so that tests and
 * benchmarks run the agent with exactly its permissions and V8 settings.
 */
export function agentTaskFlags(): string[] {
  return taskFlags("agent", "agent/main.ts");
}

/** The `deno run` flags of `deno task control` (deno.json): the control plane as it runs under Deno. */
export function controlTaskFlags(): string[] {
  return taskFlags("control", "control/main.ts");
}

function taskFlags(name: string, entry: string): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).tasks[name];
  const argv = task.split(/\s+/);
  return argv.slice(argv.indexOf("run") + 1, argv.indexOf(entry));
}
