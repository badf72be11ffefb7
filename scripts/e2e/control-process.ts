// SPDX-License-Identifier: Apache-2.0
/**
 * A control plane as its own process (`tsx control/main.ts`) on loopback
 * with a database file and an admin token of its own, fed over HTTP as
 * agents feed it: for page tests that need the real process but no kernel
 * or lab (e.g. browser-flows.test.ts). Nodes join with a join token, once
 * each, and post batches with their credential.
 *
 *   const cp = await ControlProcess.start("flows");
 *   await cp.call("POST", "/api/v1/services", svc);      // as admin
 *   await cp.postBatch({ node: "node-a", seq: 2, … });    // joins node-a first if needed
 *   await cp.stop();                                      // kills it by pid, removes its directory
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { batch } from "../../control/test-support.ts";
import type { Batch } from "../../control/wire/batch.ts";
import { controlArgv, listeningUrl, type Proc, start } from "../procs.ts";

export class ControlProcess {
  readonly #credentials = new Map<string, Promise<string>>();
  #joinToken?: Promise<string>;

  private constructor(
    public url: string,
    readonly adminToken: string,
    public proc: Proc,
    readonly dir: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts one on a free port; `name` prefixes its temporary directory; `env` adds or overrides settings. */
  static async start(name: string, env: Record<string, string> = {}): Promise<ControlProcess> {
    const dir = mkdtempSync(`${tmpdir()}/ek8s-${name}-`);
    const adminToken = randomBytes(24).toString("base64url");
    const all = {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: `file:${dir}/db.sqlite`,
      EBPF_K8S_ADMIN_TOKEN: adminToken,
      ...env,
    };
    const proc = start("control", controlArgv(), all);
    try {
      return new ControlProcess(await listeningUrl(proc), adminToken, proc, dir, all);
    } catch (e) {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Stops the process (SIGTERM) and starts it again on the same database (on another free port); the exit code. */
  async restart(): Promise<number | null> {
    const code = await this.proc.stop();
    this.proc = start("control", controlArgv(), this.env);
    this.url = await listeningUrl(this.proc);
    return code;
  }

  /** A JSON request, as admin unless `token` says otherwise ("" for none); throws on an error answer. */
  async call(method: string, path: string, body?: unknown, token = this.adminToken) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** The node's credential: it joins with a join token the first time. */
  credential(node: string): Promise<string> {
    this.#joinToken ??= this.call("POST", "/api/v1/join-tokens", { ttlSeconds: 600 }).then((r) => r.token);
    let c = this.#credentials.get(node);
    if (c === undefined) {
      const joined = this.#joinToken.then((token) => this.call("POST", "/api/v1/join", { token, node }, ""));
      this.#credentials.set(node, c = joined.then((r) => r.credential));
    }
    return c;
  }

  /** A batch (control/test-support.ts's defaults under `b`) posted as its node, node-a by default. */
  async postBatch(b: Partial<Batch>) {
    const full = batch(b);
    return this.call("POST", "/api/v1/ingest", full, await this.credential(full.node));
  }

  async stop() {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
