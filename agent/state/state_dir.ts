// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's state directory (--state-dir, default /var/lib/ebpf-k8s/<node>):
 *
 *   agent.lock        held (flock) while an agent runs: a second agent on the
 *                     same directory stops at once instead of fighting over it
 *   credential.json   0600; this node's credential for one control plane URL
 *   desired.json      the last desired state received, applied at the next start
 *                     until the control plane says otherwise
 *   epoch.json        bootId, next seq and what the modules attached; present
 *                     only while an agent runs or after one died: its presence
 *                     (with the pins) is how a restart knows to adopt
 *   spool/            batches not yet acknowledged (spool.ts)
 *
 * The directory is 0700: the credential must not leak through it.
 */
import { z } from "zod";
import { type DesiredState, DesiredStateAnswer, NodeName } from "../../control/wire/batch.ts";
import { readJsonFile, removeIfExists, writeFileAtomic } from "./files.ts";

export const Credential = z.strictObject({
  node: NodeName,
  /** The control plane it was issued by (normalized URL). */
  control: z.string(),
  credential: z.string().min(1),
});
export type Credential = z.infer<typeof Credential>;

export const Epoch = z.strictObject({
  node: NodeName,
  /** Counters in batches are cumulative per (node, bootId). */
  bootId: z.uuid(),
  /** Sequence number of the next batch of this boot. */
  nextSeq: z.number().int().nonnegative(),
  /** Per module, what a successor needs to adopt or remove its attachments (the module's own shape). */
  modules: z.record(z.string(), z.unknown()),
});
export type Epoch = z.infer<typeof Epoch>;

// read as the control plane's answer is: a module added since it was stored is at its default
const StoredDesired = z.strictObject({ node: NodeName, control: z.string(), desired: DesiredStateAnswer });

export class StateDirBusyError extends Error {}

export class StateDir {
  private constructor(
    readonly path: string,
    private readonly lock: Deno.FsFile,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Creates the directory (0700) and takes its lock; throws StateDirBusyError when another agent holds it. */
  static open(path: string, warn: (msg: string) => void): StateDir {
    Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
    Deno.chmodSync(path, 0o700);
    const lock = Deno.openSync(`${path}/agent.lock`, { read: true, write: true, create: true });
    if (!lock.tryLockSync(true)) {
      lock.close();
      throw new StateDirBusyError(
        `another agent is running with state directory ${path} (it holds ${path}/agent.lock)`,
      );
    }
    return new StateDir(path, lock, warn);
  }

  get spoolDir(): string {
    return `${this.path}/spool`;
  }

  /** The stored credential if it is for this node and control plane. */
  loadCredential(node: string, control: string): string | null {
    const c = readJsonFile(this.file("credential.json"), Credential, this.warn);
    if (!c) return null;
    if (c.node !== node || c.control !== normalizeUrl(control)) {
      this.warn(
        `${this.file("credential.json")} is for node ${c.node} at ${c.control}, not ${node} at ${
          normalizeUrl(control)
        }: not used`,
      );
      return null;
    }
    return c.credential;
  }

  saveCredential(node: string, control: string, credential: string): void {
    writeFileAtomic(
      this.file("credential.json"),
      JSON.stringify({ node, control: normalizeUrl(control), credential } satisfies Credential) + "\n",
      0o600,
    );
  }

  loadDesired(node: string, control: string): DesiredState | null {
    const d = readJsonFile(this.file("desired.json"), StoredDesired, this.warn);
    return d && d.node === node && d.control === normalizeUrl(control) ? d.desired : null;
  }

  saveDesired(node: string, control: string, desired: DesiredState): void {
    writeFileAtomic(
      this.file("desired.json"),
      JSON.stringify({ node, control: normalizeUrl(control), desired }) + "\n",
    );
  }

  loadEpoch(node: string): Epoch | null {
    const e = readJsonFile(this.file("epoch.json"), Epoch, this.warn);
    if (e && e.node !== node) {
      this.warn(`${this.file("epoch.json")} is of node ${e.node}, not ${node}: not adopted`);
      return null;
    }
    return e;
  }

  saveEpoch(epoch: Epoch): void {
    writeFileAtomic(this.file("epoch.json"), JSON.stringify(epoch) + "\n");
  }

  removeEpoch(): void {
    removeIfExists(this.file("epoch.json"));
  }

  /** Releases the lock. */
  close(): void {
    try {
      this.lock.close(); // closing the fd drops the flock
    } catch {
      // already closed
    }
  }

  private file(name: string): string {
    return `${this.path}/${name}`;
  }
}

export function normalizeUrl(url: string): string {
  return new URL(url).href;
}
