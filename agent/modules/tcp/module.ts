// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP health module: bpf/tcp.bpf.c on the sock:inet_sock_set_state and
 * tcp:{tcp_retransmit_skb,tcp_receive_reset,tcp_send_reset,tcp_destroy_sock} tracepoints,
 * aggregated in the kernel per (netns, local, remote, service port, role);
 * each interval's deltas become TcpRecords charged to the local pod.
 *
 * The tracepoints see the whole machine; records are kept for this node's
 * namespace and its pods' only (tcp/records.ts). The stats table is an LRU:
 * what it evicts is counted (inserted - present - removed as idle).
 */
import { MAX_TCP_RECORDS } from "../../../control/wire/monitoring.ts";
import { type TracedTable, TracedTableModule } from "../common/traced_table.ts";
import type { ModuleEnv, Reading } from "../module.ts";
import { TCP_STATS_FIELDS } from "./layout.ts";
import { MIN_TCP_RECORDS, tcpRecords } from "./records.ts";

export interface TcpSettings {
  /** Entries of the stats table (--tcp-table-size). */
  tableSize: number;
  /** Sockets followed between tracepoints for their role and lifetime (--tcp-socket-table-size). */
  socketTableSize: number;
  /** An aggregate unchanged this long is removed from the table (--flow-idle-seconds). */
  idleSeconds: number;
  /** TCP records per batch, MIN_TCP_RECORDS to MAX_TCP_RECORDS (--max-tcp-records). */
  maxRecords: number;
}

export const DEFAULT_TCP: TcpSettings = { tableSize: 16384, socketTableSize: 65536, idleSeconds: 60, maxRecords: 5000 };

export class TcpModule extends TracedTableModule {
  readonly name = "tcp" as const;

  constructor(env: ModuleEnv, settings: TcpSettings = DEFAULT_TCP) {
    super(
      env,
      {
        object: "tcp.bpf.o",
        table: "tcp_stats",
        tableSize: settings.tableSize,
        sizes: { tcp_socks: settings.socketTableSize },
        fields: TCP_STATS_FIELDS.length,
        tracepoints: {
          tcp_state: ["sock", "inet_sock_set_state"],
          tcp_retransmit: ["tcp", "tcp_retransmit_skb"],
          tcp_rst_rx: ["tcp", "tcp_receive_reset"],
          tcp_rst_tx: ["tcp", "tcp_send_reset"],
          tcp_destroy: ["tcp", "tcp_destroy_sock"],
        },
      },
      settings,
      { min: MIN_TCP_RECORDS, max: MAX_TCP_RECORDS },
    );
  }

  read(): Reading {
    const table = this.table;
    if (!table) return {};
    const { records, keysSummed } = tcpRecords(
      this.deltas(table),
      { nodeNetns: this.env.netnsIno, pods: this.env.pods },
      this.limits.maxRecords,
    );
    this.totals.keysSummed += keysSummed;
    return {
      tcp: records,
      monitoring: {
        tcpRecordsCut: this.totals.recordsCut,
        tcpKeysSummed: this.totals.keysSummed,
        tcpEvicted: this.lost(),
      },
    };
  }

  /** The LRU's evictions. */
  protected lostIn(table: TracedTable): number {
    return table.tracker.evicted(table.counter("tcp_stats_created"));
  }

  protected otherMaps(table: TracedTable): Record<string, number> {
    let socks = 0; // batched: the table may hold tens of thousands of sockets
    table.obj.map("tcp_socks").forEachBatch((_k, _v, n) => void (socks += n), { batchSize: 4096 });
    return { tcp_socks: socks, tcp_stats_created: 1 };
  }
}
