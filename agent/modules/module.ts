// SPDX-License-Identifier: Apache-2.0
/**
 * What every eBPF module of the agent provides. A module owns its eBPF
 * object, its attachments and its pins under <pin dir>/<node>/<module>/; the
 * manager (manager.ts) switches it on and off following the desired state.
 */
import type { InterfaceCounters, MapInfo, ModuleName, ProgramInfo } from "../../control/wire/batch.ts";
import type { DropRecord, FlowRecord, MonitoringStats, TcpRecord } from "../../control/wire/monitoring.ts";
import type { GatewayCounters, LbCounters } from "../../control/wire/services.ts";
import type { AccelCounters } from "../../control/wire/accel.ts";
import type { DnsRecords } from "../../control/wire/dns.ts";
import type { NetIf } from "../netif.ts";
import type { PodDirectory } from "../pods/directory.ts";

/** Where and on what a module runs; fixed for the agent's lifetime. */
export interface ModuleEnv {
  node: string;
  /** Compiled eBPF objects. */
  bpfDir: string;
  /** This module's pin directory, <bpfPinDir>/<node>/<module>. */
  pinDir: string;
  interfaces: NetIf[];
  /** Network namespace of the interfaces (undefined: the agent's own). */
  netns?: string;
  /** Its inode: tracepoints see every namespace and filter on it. */
  netnsIno: number;
  /** Never attached to (--exclude-interfaces). */
  excludeInterfaces: string[];
  /** The pods of this node, followed live. */
  pods: PodDirectory;
  log: (msg: string) => void;
}

export interface StartOptions {
  /**
   * Adopt what a predecessor that died left: reuse the pinned maps (so the
   * counters continue) and replace its attachments in place. Otherwise start
   * from zero after removing any leftovers.
   */
  adopt: boolean;
  /** What the predecessor recorded (record()), if anything. */
  previous?: unknown;
}

/** A pod's traffic from its own point of view (RX: what it received), cumulative for the boot. */
export interface PodTraffic {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

/**
 * What a module adds to a batch. Interface and pod counters are cumulative
 * for the boot; flow, TCP and drop records are deltas over the interval.
 */
export interface Reading {
  interfaces?: InterfaceCounters[];
  /** By pod uid, from the module that counts pod traffic: its presence makes the batch list the pods. */
  podTraffic?: Map<string, PodTraffic>;
  /** Drops charged to each pod (uid), cumulative for the boot. */
  podDrops?: Map<string, number>;
  flows?: FlowRecord[];
  tcp?: TcpRecord[];
  drops?: DropRecord[];
  /** The module's share of the table and cap statistics (cumulative counters, fill levels). */
  monitoring?: Partial<MonitoringStats>;
  /** Load-balancing connections per service and backend over the interval (deltas). */
  lb?: LbCounters;
  /** Socket acceleration connections and bytes per rule over the interval (deltas). */
  accel?: AccelCounters;
  /** Gateway (XDP) packets and bytes per service and flow-table events over the interval (deltas). */
  gateway?: GatewayCounters;
  /** DNS per pod and server, and the names asked for, over the interval (deltas). */
  dns?: DnsRecords;
}

export interface Module {
  readonly name: ModuleName;
  /** Its readings are cumulative counters: starting it from zero begins a new epoch (bootId). */
  readonly counting: boolean;
  /** Whether its pins exist (a predecessor left them). */
  hasPins(): boolean;
  /** Loads and attaches; on failure leaves nothing behind and throws (the verifier log in the error). */
  start(options: StartOptions): void;
  /** Detaches everything, unpins, removes its pin directory. */
  stop(): void;
  /**
   * Lets go without detaching (the agent's SIGTERM: an upgrade, a rollout, a
   * restart): what it attached keeps running and its pins stay for the next
   * agent to adopt, exactly as after a crash. Only modules with pins have
   * it; the manager stops the others (nothing of theirs could be adopted).
   */
  release?(): void;
  /** Removes what a predecessor left (attachments recorded in `previous`, pins) without starting. */
  clean(previous?: unknown): void;
  /**
   * What a successor needs to adopt or clean up after us; stored in
   * epoch.json. `handOver`: the last record before release() (SIGTERM),
   * which may add what only a clean hand-over can give, e.g. the counts
   * reported so far, so that the successor reports exactly the rest.
   */
  record(handOver?: boolean): unknown;
  read(): Reading;
  /** The pod list changed: attach to new pods' interfaces now rather than at the next read. */
  podsChanged?(): void;
  /**
   * Records of its kind that the agent had to leave out of a batch (to fit
   * MAX_BATCH_BYTES): added to the count of cut records it reports. `list`:
   * which of its lists, for a module with several (dns: "servers", "names",
   * whose records are summed into the node's "other" record, not cut).
   */
  recordsCut?(n: number, list?: string): void;
  programs(bpfStats: boolean): ProgramInfo[];
  maps(): MapInfo[];
  /** Resolves once what a stopped module left running (a request in flight) has ended. */
  settled?(): Promise<void>;
}
