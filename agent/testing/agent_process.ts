// SPDX-License-Identifier: Apache-2.0
/**
 * The agent as its own process, exactly as `deno task agent` runs it (its
 * permissions and V8 flags, no --allow-all): for tests of what only a real
 * process shows (signals, a restart adopting what the previous one left,
 * the uninstall command). Output is kept (the last 100,000 characters) and
 * shown by tests when they fail; every process is ended by its own pid.
 */
import { REPO_ROOT } from "./kernel.ts";
import { agentTaskFlags } from "./run.ts";

export class AgentProcess {
  readonly child: Deno.ChildProcess;
  #output = "";
  readonly #done: Promise<void>;

  /** `deno run <the task's flags> agent/main.ts ...args` */
  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...agentTaskFlags(), "agent/main.ts", ...args],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        this.#output = (this.#output + chunk).slice(-100_000);
      }
    };
    this.#done = Promise.all([collect(this.child.stdout), collect(this.child.stderr)]).then(() => {});
  }

  get output(): string {
    return this.#output;
  }

  /** Sends `signal` (if it still runs) and waits for the exit. */
  async kill(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* exited already */ }
    const status = await this.child.status;
    await this.#done;
    return status;
  }

  /** Waits for the exit. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#done;
    return status;
  }

  /** `agent/main.ts uninstall ...args` (the agent's own flags do): its exit code and output. */
  static async uninstall(args: string[]): Promise<{ code: number; output: string }> {
    const p = new AgentProcess(["uninstall", ...args]);
    const { code } = await p.exited();
    return { code, output: p.output };
  }
}
