/**
 * Turns the kernel's cumulative flow table into per-interval deltas.
 *
 * The agent remembers the last counters it saw per flow (bounded by the
 * table's size). An entry that the LRU evicted and recreated shows smaller
 * counters than remembered: its delta is then its whole value. Evictions are
 * never silent: every entry the kernel created is either still in the table,
 * removed by the agent as idle, or was evicted, so
 *   evicted = created (kernel counter) - entries now - removed by the agent.
 */
import { decodeFlowKey, decodeFlowValue, type FlowKey } from "./layout.ts";

export interface FlowDelta extends FlowKey {
  packets: number;
  bytes: number;
  tcpFlags: number;
}

export interface FlowTableStats {
  entries: number;
  created: number;
  evicted: number;
  createFailed: number;
  removedIdle: number;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class FlowTracker {
  private last = new Map<string, { packets: number; bytes: number; lastSeenNs: bigint }>();
  private removedIdle = 0;

  /**
   * entries: the whole table, read this interval. Returns the deltas since
   * the previous call and the keys of flows idle for longer than idleNs
   * (which the caller removes with lookup-and-delete, then passes to `removed`).
   */
  diff(entries: [Uint8Array, Uint8Array][], nowNs: bigint, idleNs: bigint): { deltas: FlowDelta[]; idle: Uint8Array[] } {
    const next = new Map<string, { packets: number; bytes: number; lastSeenNs: bigint }>();
    const deltas: FlowDelta[] = [];
    const idle: Uint8Array[] = [];
    for (const [k, v] of entries) {
      const id = hex(k);
      const val = decodeFlowValue(v);
      const prev = this.last.get(id);
      const recreated = prev !== undefined && (val.packets < prev.packets || val.bytes < prev.bytes);
      const dp = prev && !recreated ? val.packets - prev.packets : val.packets;
      const db = prev && !recreated ? val.bytes - prev.bytes : val.bytes;
      if (dp > 0) deltas.push({ ...decodeFlowKey(k), packets: dp, bytes: db, tcpFlags: val.tcpFlags });
      next.set(id, { packets: val.packets, bytes: val.bytes, lastSeenNs: val.lastSeenNs });
      if (dp === 0 && nowNs - val.lastSeenNs > idleNs) idle.push(k);
    }
    this.last = next;
    return { deltas, idle };
  }

  /**
   * A flow removed as idle: `finalValue` is what lookup-and-delete returned
   * (packets may have arrived since the read); returns the late delta, if any.
   */
  removed(key: Uint8Array, finalValue: Uint8Array | null): FlowDelta | null {
    const id = hex(key);
    const prev = this.last.get(id);
    this.last.delete(id);
    this.removedIdle++;
    if (!finalValue) return null;
    const val = decodeFlowValue(finalValue);
    const dp = prev ? val.packets - prev.packets : val.packets;
    if (dp <= 0) return null;
    return { ...decodeFlowKey(key), packets: dp, bytes: val.bytes - (prev?.bytes ?? 0), tcpFlags: val.tcpFlags };
  }

  stats(created: number, createFailed: number): FlowTableStats {
    const entries = this.last.size;
    return { entries, created, createFailed, removedIdle: this.removedIdle, evicted: Math.max(0, created - entries - this.removedIdle) };
  }
}
