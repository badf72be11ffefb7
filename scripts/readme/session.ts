// SPDX-License-Identifier: Apache-2.0
/**
 * What the README's commands run against in scripts/readme/readme-commands.test.ts:
 * the values its placeholders stand for (CONTROL, NAME, TOKEN, ID, the
 * `{…the whole …}` bodies), a port, database and lab of this test's own, and
 * the processes the commands start, each stopped by its process group.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { cgroupPath } from "../lab/cgroup.ts";
import { labDown } from "../lab/lab.ts";
import { podInfo, podsDir } from "../lab/pods-file.ts";
import { alive, readRecord, recordPath } from "../lab/records.ts";
import { inNetns, listNetns } from "../lab/shell.ts";
import { NETNS_PREFIX, type Topology, topology } from "../lab/topology.ts";
import { type Proc, REPO, start, waitFor } from "../procs.ts";

const exec = promisify(execFile);

/**
 * The README's lab commands use the default lab (name "lab", index 0), which
 * `npm run lab` and the demo on this machine may be using: the test adds
 * `--name rdme --index 15`, a name and subnet no other test takes.
 */
export const LAB = { name: "rdme", index: 15 };

export interface Shell {
  code: number;
  stdout: string;
  stderr: string;
}

export class Session {
  readonly dir = mkdtempSync(`${tmpdir()}/ek8s-readme-`);
  /** Own port (other tests take 18_000..22_000 the same way). */
  readonly port = 23_000 + (process.pid % 400);
  readonly pinDir = `/sys/fs/bpf/ek8s-readme-${process.pid}`;
  /** The node the README's agent command runs as (its NAME), the node its curl examples ask about. */
  readonly node = "n1";
  /** Set by the README's `export ADMIN=…`, handed to every later command as $ADMIN. */
  admin = "";
  /** The lab's own processes (traffic) while it was up: `down` must leave none running. */
  labPids: number[] = [];
  readonly procs: Proc[] = [];
  /** Literal text of the README commands -> what it stands for here; steps add to it as values become known. */
  readonly #values = new Map<string, string>([
    ["localhost:8080", `localhost:${this.port}`],
    ["--node NAME", `--node ${this.node}`],
  ]);

  /** `commands`: all the README's; `bodies`: the JSON each `'{…the whole …}'` placeholder stands for. */
  constructor(readonly commands: string[], bodies: Record<string, unknown>) {
    for (const [k, v] of Object.entries(bodies)) this.set(k, `'${JSON.stringify(v)}'`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The lab once `npm run lab -- up` made it. */
  lab(): Topology {
    const rec = readRecord(LAB.name);
    if (!rec) throw new Error(`lab '${LAB.name}' is not up`);
    return topology(rec.options);
  }

  set(placeholder: string, value: string): void {
    this.#values.set(placeholder, value);
  }

  /** The command with every known placeholder replaced; one left over is an error, not a silent literal. */
  substitute(command: string): string {
    let out = command;
    for (const [from, to] of this.#values) out = out.replaceAll(from, to);
    const left = /\b(CONTROL|NAME|TOKEN|ID)\b|…/.exec(out);
    if (left) throw new Error(`no value for '${left[0]}' in: ${out}`);
    return out;
  }

  #env(extra: Record<string, string>): Record<string, string> {
    return { ADMIN: this.admin, ...extra };
  }

  /** Runs a command to completion with bash, in this repository, with $ADMIN set. */
  async sh(command: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Shell> {
    return exec("bash", ["-c", command], {
      cwd: REPO,
      env: { ...process.env, ...this.#env(env) },
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code?: number; stdout?: string; stderr?: string; message: string }) => ({
        code: typeof e.code === "number" ? e.code : -1,
        stdout: e.stdout ?? "",
        stderr: e.stderr ?? e.message,
      }),
    );
  }

  /** A curl command with the status appended to its output: the status and the answer, parsed. */
  async curl(command: string): Promise<{ status: number; text: string; json: Json }> {
    const r = await this.sh(`${command} -w '\\n%{http_code}'`);
    if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.stderr}`);
    const nl = r.stdout.lastIndexOf("\n");
    const text = r.stdout.slice(0, nl);
    return { status: Number(r.stdout.slice(nl + 1)), text, json: text.trim() ? JSON.parse(text) : null };
  }

  /** Starts a long-running command (bash, optionally inside a netns) in its own process group. */
  background(name: string, command: string, env: Record<string, string> = {}, netns?: string): Proc {
    const argv = ["bash", "-c", command];
    const proc = start(name, netns ? inNetns(netns, argv) : argv, this.#env(env));
    this.procs.push(proc);
    return proc;
  }

  async waitHealthy(proc: Proc): Promise<void> {
    await waitFor("the control plane's /healthz", async () => (await fetch(`${this.url}/healthz`)).ok, 60_000)
      .catch((e) => {
        throw new Error(`${e.message}\n${proc.output()}`);
      });
  }

  /**
   * The pods file the README's agent follows (through EBPF_K8S_PODS_FILE: the
   * command itself names none): the lab's node n1 pods as default/web, api, db,
   * so the README's pod queries (default/web) find one.
   */
  writePodsFile(): string {
    const node = this.lab().nodes[0];
    const pods = node.pods.map((p, i) => {
      const info = podInfo(node, p, i);
      return { ...info, namespace: "default", name: info.labels.app };
    });
    const path = `${this.dir}/pods-${node.name}.json`;
    writeFileSync(path, JSON.stringify(pods));
    return path;
  }

  /** Settings that keep the README's agent off this machine's own paths (the command uses the defaults). */
  agentEnv(podsFile: string): Record<string, string> {
    return {
      EBPF_K8S_STATE_DIR: `${this.dir}/agent-state`,
      EBPF_K8S_BPF_PIN_DIR: this.pinDir,
      EBPF_K8S_PODS_FILE: podsFile,
    };
  }

  /** Stops every process (agents before the control plane: started later, stopped first), the lab, temp files. */
  async close(): Promise<void> {
    for (const p of [...this.procs].reverse()) await p.stop(5_000);
    labDown(LAB.name);
    rmSync(this.pinDir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// deno-lint-ignore no-explicit-any -- the answers of many endpoints, checked with expect()
export type Json = any;

/** What of a lab exists, found by its names: netns, root-netns links, cgroup, records; and which of `pids` run. */
export function labObjects(name: string, pids: number[]): string[] {
  const prefix = `${NETNS_PREFIX}${name}`;
  const ours = (n: string) => n === prefix || n.startsWith(`${prefix}-`);
  const links = JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })) as { ifname: string }[];
  return [
    ...listNetns().filter(ours).map((n) => `netns ${n}`),
    ...links.map((l) => l.ifname).filter(ours).map((n) => `link ${n}`),
    ...[cgroupPath(prefix), recordPath(name), podsDir(name)].filter((p) => existsSync(p)),
    ...pids.filter(alive).map((pid) => `process ${pid}`),
  ];
}
