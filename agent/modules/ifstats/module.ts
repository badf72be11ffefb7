/**
 * The interface counters module: loads bpf/ifstats.bpf.c, attaches its tc
 * programs to each watched interface (ingress and egress) and its drop
 * tracepoint, and reads the per-CPU counters on the agent's timer.
 */
import { type Attachment, BpfObject, u32Key } from "../../libbpf/mod.ts";
import type { NetIf } from "../../netif.ts";
import { asKernelCounts, encodeConfig, IF_COUNTERS_SIZE, IFSTATS_ARRAY_SLOTS, type IfCounters, sumPerCpu, ZERO_COUNTERS } from "./layout.ts";

export interface InterfaceReading extends IfCounters {
  ifname: string;
  ifindex: number;
}

export class IfStatsModule {
  private readonly attached: Attachment[] = [];
  private closed = false;

  private constructor(private readonly obj: BpfObject, private readonly interfaces: NetIf[]) {}

  /** Loads and attaches; on any failure, detaches what was attached and rethrows. */
  static start(objectPath: string, interfaces: NetIf[], netnsIno: number): IfStatsModule {
    const obj = BpfObject.open(objectPath);
    const mod = new IfStatsModule(obj, interfaces);
    try {
      obj.load();
      obj.map("ifstats_cfg").update(u32Key(0), encodeConfig(netnsIno));
      // Counters start at zero for every watched interface before anything counts.
      for (const i of interfaces) mod.zero(i.ifindex);
      mod.attached.push(obj.program("ifstats_drop").attachTracepoint("skb", "kfree_skb"));
      for (const i of interfaces) {
        mod.attached.push(obj.program("ifstats_ingress").attachTc({ ifindex: i.ifindex, ifname: i.name }, "ingress"));
        mod.attached.push(obj.program("ifstats_egress").attachTc({ ifindex: i.ifindex, ifname: i.name }, "egress"));
      }
      return mod;
    } catch (e) {
      mod.close();
      throw e;
    }
  }

  private mapFor(ifindex: number) {
    return this.obj.map(ifindex < IFSTATS_ARRAY_SLOTS ? "ifstats" : "ifstats_big");
  }

  private zero(ifindex: number): void {
    // A value of one struct's size is written to every CPU's copy.
    this.mapFor(ifindex).update(u32Key(ifindex), new Uint8Array(IF_COUNTERS_SIZE));
  }

  /** Cumulative counters since attach, summed over CPUs. */
  read(): InterfaceReading[] {
    return this.interfaces.map((i) => {
      const slices = this.mapFor(i.ifindex).lookupPerCpu(u32Key(i.ifindex));
      return { ifname: i.name, ifindex: i.ifindex, ...asKernelCounts(i.driver, slices ? sumPerCpu(slices) : ZERO_COUNTERS) };
    });
  }

  /** Detaches every tc filter and the tracepoint (tc hooks we created are destroyed), then frees the object. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const a of this.attached.reverse()) {
      try {
        a.detach();
      } catch (e) {
        errors.push(e);
      }
    }
    this.obj.close();
    if (errors.length) throw new AggregateError(errors, `ifstats: ${errors.length} detach step(s) failed`);
  }
}
