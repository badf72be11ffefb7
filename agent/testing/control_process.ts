// SPDX-License-Identifier: Apache-2.0
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
  #child!: Deno.ChildProcess;
  #done!: Promise<void>;
  url = "";

  private constructor(private readonly dir: string, private readonly client?: Deno.HttpClient) {}

  /**
   * Starts it and waits until it listens; `env` adds to (or overrides) the settings. `caCert`: the PEM of the CA
   * its certificate is signed by, when `env` makes it serve HTTPS (for this class's own calls).
   */
  static async start(env: Record<string, string> = {}, caCert?: string): Promise<ControlProcess> {
    const client = caCert === undefined ? undefined : Deno.createHttpClient({ caCerts: [caCert] });
    const control = new ControlProcess(await Deno.makeTempDir({ prefix: "ek8s-agent-control-" }), client);
    try {
      await control.#spawn({ PORT: "0", ...env });
    } catch (e) {
      await control.stop();
      throw e;
    }
    return control;
  }

  /**
   * Stops it (SIGTERM) and starts a new process on the same database and port, with `env` instead of the
   * first one's additions: a restart, an upgrade or a rollback, as an agent meets it.
   */
  async restart(env: Record<string, string> = {}): Promise<void> {
    await this.#exit();
    await this.#spawn({ PORT: new URL(this.url).port, ...env });
  }

  async #spawn(env: Record<string, string>): Promise<void> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...controlTaskFlags(), "control/main.ts"],
      cwd: REPO_ROOT,
      env: {
        HOST: "127.0.0.1",
        DATABASE_URL: `file:${this.dir}/control.db`,
        EBPF_K8S_ADMIN_TOKEN: CONTROL_ADMIN_TOKEN,
        EBPF_K8S_KUBE_SYNC: "off",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        this.#output = (this.#output + chunk).slice(-100_000);
      }
    };
    this.#done = Promise.all([collect(child.stdout), collect(child.stderr)]).then(() => {});
    const from = this.#output.length;
    const end = Date.now() + 30_000;
    let exited = false;
    child.status.then(() => exited = true);
    for (;;) {
      const url = /listening on (https?:\/\/\S+:\d+)/.exec(this.#output.slice(from))?.[1];
      if (url) {
        this.url = url;
        return;
      }
      if (exited) {
        await this.#done;
        throw new Error(`the control plane exited before it listened:\n${this.output}`);
      }
      if (Date.now() > end) throw new Error(`the control plane did not start within 30 s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get output(): string {
    return this.#output;
  }

  /** An admin API call; the status and the JSON answer. */
  async admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(new URL(path, this.url), {
      ...(this.client ? { client: this.client } : {}),
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
    await this.#exit();
    this.client?.close();
    await Deno.remove(this.dir, { recursive: true });
  }

  async #exit(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* exited already */ }
    await this.#child.status;
    await this.#done;
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
