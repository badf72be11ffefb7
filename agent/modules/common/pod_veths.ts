// SPDX-License-Identifier: Apache-2.0
/**
 * Which interfaces of the node's namespace are pods' host veths, for the
 * modules that hook them (flows, dns): the ones the pods' records name (the
 * lab's pods file), or where the records name none (Kubernetes) every veth,
 * its driver asked once per device.
 */
import { driverOf, type NetIf } from "../../netif.ts";
import type { ModuleEnv } from "../module.ts";

export class PodVeths {
  /** ifname/ifindex -> driver: one ioctl per new interface. */
  readonly #drivers = new Map<string, string | null>();

  constructor(private readonly env: Pick<ModuleEnv, "netns" | "pods">) {}

  /** The pods' veths among `candidates` (interfaces that may be hooked), leaving out those `skip` says. */
  of(present: NetIf[], candidates: NetIf[], skip: (i: NetIf) => boolean = () => false): NetIf[] {
    for (const id of this.#drivers.keys()) {
      if (!present.some((p) => `${p.name}/${p.ifindex}` === id)) this.#drivers.delete(id);
    }
    if (!this.env.pods.namesVeths) return candidates.filter((i) => !skip(i) && this.#driver(i) === "veth");
    const names = new Set(this.env.pods.list().filter((p) => !p.hostNetwork && p.hostVeth).map((p) => p.hostVeth!));
    return candidates.filter((i) => names.has(i.name) && !skip(i));
  }

  #driver(i: NetIf): string | null {
    const id = `${i.name}/${i.ifindex}`;
    if (!this.#drivers.has(id)) this.#drivers.set(id, driverOf(i.name, this.env.netns));
    return this.#drivers.get(id)!;
  }
}
