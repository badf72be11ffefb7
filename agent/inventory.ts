// SPDX-License-Identifier: Apache-2.0
/**
 * What a node is and runs, sent with every batch: agent version, kernel,
 * probed eBPF features (once, at start), the modules' states, their programs
 * and maps, and the spool's fill. Kernel files are read through libc
 * (libbpf/fs.ts) because Deno refuses /proc and /sys without --allow-all.
 */
import { type Inventory, MODULES } from "../control/wire/batch.ts";
import { MapType, pathExists, probeMapType, probeProgType, ProgType, readKernelFile } from "./libbpf/mod.ts";
import { AGENT_VERSION } from "./config.ts";
import type { ModuleManager } from "./modules/manager.ts";
import type { Spool } from "./spool/spool.ts";
import type { Quarantine } from "./spool/quarantine.ts";

/** Program and map types the project's modules use or will; keys as reported ("prog:sched_cls"). */
const PROG_FEATURES = {
  sched_cls: ProgType.SCHED_CLS,
  xdp: ProgType.XDP,
  cgroup_skb: ProgType.CGROUP_SKB,
  cgroup_sock_addr: ProgType.CGROUP_SOCK_ADDR,
  sock_ops: ProgType.SOCK_OPS,
  sk_msg: ProgType.SK_MSG,
  tracepoint: ProgType.TRACEPOINT,
};
const MAP_FEATURES = {
  percpu_array: MapType.PERCPU_ARRAY,
  lru_hash: MapType.LRU_HASH,
  sockhash: MapType.SOCKHASH,
  ringbuf: MapType.RINGBUF,
};

/** Facts of the host that do not change while the agent runs, gathered once. */
export class HostFacts {
  private constructor(readonly kernel: string, readonly btf: boolean, readonly features: Record<string, boolean>) {}

  static gather(log: (msg: string) => void): HostFacts {
    const features: Record<string, boolean> = {};
    const probe = (key: string, fn: () => boolean) => {
      try {
        features[key] = fn();
      } catch (e) {
        features[key] = false;
        log(`feature probe ${key} failed: ${(e as Error).message}`);
      }
    };
    for (const [name, type] of Object.entries(PROG_FEATURES)) probe(`prog:${name}`, () => probeProgType(type));
    for (const [name, type] of Object.entries(MAP_FEATURES)) probe(`map:${name}`, () => probeMapType(type));
    return new HostFacts(kernelRelease(), pathExists("/sys/kernel/btf/vmlinux"), features);
  }
}

/** kernel.bpf_stats_enabled: whether programs' run counts and times are being kept. */
export function bpfStatsEnabled(): boolean {
  try {
    return readKernelFile("/proc/sys/kernel/bpf_stats_enabled").trim() === "1";
  } catch {
    return false;
  }
}

function kernelRelease(): string {
  try {
    return readKernelFile("/proc/sys/kernel/osrelease").trim().slice(0, 256);
  } catch {
    return Deno.osRelease().slice(0, 256);
  }
}

/** Largest number of programs and of maps one inventory reports (the wire allows 1024). */
const MAX_LISTED = 1024;

export function inventory(host: HostFacts, modules: ModuleManager, spool: Spool, quarantine: Quarantine): Inventory {
  const bpfStats = bpfStatsEnabled();
  return {
    agentVersion: AGENT_VERSION,
    kernel: host.kernel,
    btf: host.btf,
    bpfStats,
    features: host.features,
    modules: modules.statuses().slice(0, MODULES.length),
    programs: modules.programs(bpfStats).slice(0, MAX_LISTED),
    maps: modules.maps().slice(0, MAX_LISTED),
    spool: {
      pending: spool.pending,
      dropped: spool.dropped,
      merged: spool.merged,
      quarantined: quarantine.count,
      quarantineDropped: quarantine.dropped,
    },
  };
}
