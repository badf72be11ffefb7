// SPDX-License-Identifier: Apache-2.0
/**
 * The pods of this node as the modules see them: the PodSource's records,
 * indexed by what the kernel programs report (network namespace inode, host
 * veth ifindex, IP), plus what was learned from traffic where the source does
 * not say it.
 *
 * The lab's pods file names each pod's host veth, ifindex and netns inode.
 * The Kubernetes API names none of them (they belong to the CNI and the
 * container runtime), so there every veth of the node's namespace is taken
 * for a pod's, and the modules learn: a veth on whose ingress (what the pod
 * sends) a pod's IP appears as source is that pod's; a network namespace
 * whose TCP sockets have a pod's IP as local address is that pod's.
 */
import type { PodInfo } from "../../control/wire/pods.ts";
import type { PodSource } from "./source.ts";

export interface PodDirectory {
  /** The pods now, with what was learned about them filled in. */
  list(): PodInfo[];
  byNetns(ino: number): string | undefined;
  byVeth(ifindex: number): string | undefined;
  byIp(ip: string): string | undefined;
  /** True when the records name each pod's host veth; false: every veth of the node is a pod's (Kubernetes). */
  readonly namesVeths: boolean;
  learnVeth(uid: string, ifname: string, ifindex: number): void;
  learnNetns(uid: string, ino: number): void;
}

interface Indexes {
  pods: PodInfo[];
  netns: Map<number, string>;
  veth: Map<number, string>;
  ip: Map<string, string>;
}

export class PodTable implements PodDirectory {
  #index: Indexes | null = null;
  #learned = new Map<string, { hostVeth?: string; ifindex?: number; netnsIno?: number }>();
  readonly #listeners: (() => void)[] = [];

  /** `source` null: no pods (neither a pods file nor Kubernetes). */
  constructor(private readonly source: PodSource | null, readonly namesVeths: boolean) {}

  get description(): string {
    return this.source?.description ?? "no pod source";
  }

  /** Starts following the source; `listener`s run after each change. */
  start(): void {
    this.source?.start(() => {
      this.#index = null;
      for (const l of this.#listeners) l();
    });
  }

  stop(): Promise<void> {
    return this.source?.stop() ?? Promise.resolve();
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  list(): PodInfo[] {
    return this.#indexes().pods;
  }

  byNetns(ino: number): string | undefined {
    return this.#indexes().netns.get(ino);
  }

  byVeth(ifindex: number): string | undefined {
    return this.#indexes().veth.get(ifindex);
  }

  byIp(ip: string): string | undefined {
    return this.#indexes().ip.get(ip);
  }

  learnVeth(uid: string, hostVeth: string, ifindex: number): void {
    this.#learn(uid, { hostVeth, ifindex });
  }

  learnNetns(uid: string, netnsIno: number): void {
    this.#learn(uid, { netnsIno });
  }

  #learn(uid: string, facts: { hostVeth?: string; ifindex?: number; netnsIno?: number }): void {
    this.#learned.set(uid, { ...this.#learned.get(uid), ...facts });
    this.#index = null;
  }

  #indexes(): Indexes {
    if (this.#index) return this.#index;
    const raw = this.source?.pods() ?? [];
    // forget what was learned about pods that are gone: bounded by the pods there are
    const uids = new Set(raw.map((p) => p.uid));
    for (const uid of this.#learned.keys()) if (!uids.has(uid)) this.#learned.delete(uid);
    const pods = raw.map((p) => ({ ...this.#learned.get(p.uid), ...p }));
    const index: Indexes = { pods, netns: new Map(), veth: new Map(), ip: new Map() };
    for (const p of pods) {
      // host-network pods share the node's namespace and have no veth: nothing there is theirs alone
      if (p.hostNetwork) continue;
      if (p.netnsIno) index.netns.set(p.netnsIno, p.uid);
      if (p.ifindex) index.veth.set(p.ifindex, p.uid);
      for (const ip of p.ips) index.ip.set(ip, p.uid);
    }
    this.#index = index;
    return index;
  }
}
