// SPDX-License-Identifier: Apache-2.0
/**
 * Where the agent learns which pods live on its node: the Kubernetes API in a
 * cluster, the lab's records otherwise. Both behind one interface.
 */
import type { PodInfo } from "../../control/wire/pods.ts";

export interface PodSource {
  /** The pods currently known on this node. */
  pods(): PodInfo[];
  /** Starts watching; `onChange` runs after every change (pod added, changed or gone). */
  start(onChange: () => void): void;
  stop(): Promise<void>;
  /** Human description for logs, e.g. "kubernetes https://10.96.0.1:443". */
  readonly description: string;
}
