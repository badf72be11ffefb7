// SPDX-License-Identifier: Apache-2.0
/**
 * Pods from a JSON file of PodInfo records (what the lab writes for each of
 * its nodes, standing in for the Kubernetes API). Re-read whenever its
 * modification time changes; a file that does not parse keeps the last good
 * list and is reported, never half-applied.
 */
import { z } from "zod";
import { PodInfo } from "../../control/wire/pods.ts";
import type { PodSource } from "./source.ts";

const PodList = z.array(PodInfo).max(1000);

export class FilePodSource implements PodSource {
  private current: PodInfo[] = [];
  private mtime = -1;
  private timer?: ReturnType<typeof setInterval>;
  readonly description: string;

  constructor(
    private readonly path: string,
    private readonly pollMs = 500,
    private readonly log = (m: string) => console.error(`agent: pods: ${m}`),
  ) {
    this.description = `pods file ${path}`;
  }

  pods(): PodInfo[] {
    return this.current;
  }

  /** Reads the file if it changed; true when the pod list changed. */
  refresh(): boolean {
    let stat: Deno.FileInfo;
    try {
      stat = Deno.statSync(this.path);
    } catch {
      if (this.mtime === -2) return false;
      this.mtime = -2; // gone: no pods
      const had = this.current.length > 0;
      this.current = [];
      return had;
    }
    const m = stat.mtime?.getTime() ?? 0;
    if (m === this.mtime) return false;
    this.mtime = m;
    const parsed = PodList.safeParse(JSON.parse(Deno.readTextFileSync(this.path)));
    if (!parsed.success) {
      this.log(
        `${this.path} is not a valid pod list (keeping the last one): ${parsed.error.issues[0]?.path.join(".")}: ${
          parsed.error.issues[0]?.message
        }`,
      );
      return false;
    }
    const before = JSON.stringify(this.current);
    this.current = parsed.data;
    return JSON.stringify(this.current) !== before;
  }

  start(onChange: () => void): void {
    const tick = () => {
      try {
        if (this.refresh()) onChange();
      } catch (e) {
        this.log(`cannot read ${this.path}: ${(e as Error).message}`);
      }
    };
    tick();
    this.timer = setInterval(tick, this.pollMs);
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }
}
