/**
 * The real control plane for agent tests that need its rules rather than
 * FakeControl's: control/main.ts run as its own process, exactly as
 * `deno task control` runs it, on 127.0.0.1 (a free port) with a database of
 * its own in a temp directory and a known admin token. Started in about half
 * a second. The agent imports nothing of control/ but the wire contract; this
 * only starts a program.
 */
import { controlTaskFlags } from "./run.ts";

const REPO_ROOT = new URL("../..", import.meta.url).pathname;
export const CONTROL_ADMIN_TOKEN = "ek8s_admin_agent-test-admin-token-0123";

export class ControlProcess {
  #output = "";
  readonly #done: Promise<void>;

  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly dir: string,
    public url = "",
  ) {
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        this.#output = (this.#output + chunk).slice(-100_000);
      }
    };
    this.#done = Promise.all([collect(child.stdout), collect(child.stderr)]).then(() => {});
  }

  /** Starts it and waits until it listens; `env` adds to (or overrides) the settings. */
  static async start(env: Record<string, string> = {}): Promise<ControlProcess> {
    const dir = await Deno.makeTempDir({ prefix: "ek8s-agent-control-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...controlTaskFlags(), "control/main.ts"],
      cwd: REPO_ROOT,
      env: {
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: `file:${dir}/control.db`,
        EBPF_K8S_ADMIN_TOKEN: CONTROL_ADMIN_TOKEN,
        EBPF_K8S_KUBE_SYNC: "off",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const control = new ControlProcess(child, dir);
    const end = Date.now() + 30_000;
    for (;;) {
      const url = /listening on (http:\/\/\S+:\d+)/.exec(control.output)?.[1];
      if (url) {
        control.url = url;
        return control;
      }
      if (Date.now() > end) {
        await control.stop();
        throw new Error(`the control plane did not start within 30 s:\n${control.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get output(): string {
    return this.#output;
  }

  /** An admin API call; the status and the JSON answer. */
  async admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(new URL(path, this.url), {
      method,
      headers: { authorization: `Bearer ${CONTROL_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  /** A new join token. */
  async joinToken(): Promise<string> {
    const made = await this.admin("POST", "/api/v1/join-tokens", {});
    if (made.status !== 201) throw new Error(`join token: ${made.status} ${JSON.stringify(made.body)}`);
    return (made.body as { token: string }).token;
  }

  /** SIGTERM, waits for the exit, removes the database. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* exited already */ }
    await this.child.status;
    await this.#done;
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** Runs `fn` with a control plane process, stopped afterwards; a failure shows its output. */
export async function withControlProcess(
  fn: (control: ControlProcess) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const control = await ControlProcess.start(env);
  try {
    await fn(control);
  } catch (e) {
    (e as Error).message += `\n--- control plane output ---\n${control.output}`;
    throw e;
  } finally {
    await control.stop();
  }
}
