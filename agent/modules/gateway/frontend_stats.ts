// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow events per frontend (an external IP:port or a NodePort
 * of a service): the program counts them in gw_fe_stats (per CPU, by
 * frontend key, see gateway.h), only in entries the agent made. This keeps
 * one entry per programmed frontend (the first GW_FE_STATS_ENTRIES by
 * service id; more are counted in gw_counters only), reads them into wire
 * rows (GatewayFrontendRow: deltas since the last read) and works out the
 * evictions the kernel cannot count: flows a frontend made, minus those
 * gw_expire ended, minus its flows still in gw_ct. A frontend removed, or given to another service, is read
 * and removed in one step (lookup-and-delete): its last events go out with
 * the next read, under the service it had. Entries a predecessor left
 * (pinned maps, adopted) count on from the adoption, before any state comes:
 * from what the predecessor reported when it handed over (handOver(), kept
 * in its record: the rest is reported once, by the successor), or after a
 * crash from what they hold (the predecessor's last interval is lost, never
 * counted twice, as per service); entries of no frontend go.
 */
import { z } from "zod";
import {
  GATEWAY_FRONTEND_COUNTERS,
  type GatewayFrontendCounter,
  GatewayFrontendRow,
  LbProtocol,
  type LbState,
} from "../../../control/wire/services.ts";
import type { BpfObject } from "../../libbpf/mod.ts";
import { u64At } from "../common/delta.ts";
import { decodeSvcKey, encodeSvcKey, type Frontend, frontendKey, IPPROTO, ipv4At } from "../lb/layout.ts";
import { ANY_NODE_ADDRESS } from "./frontends.ts";
import { GW_FE_COUNTER_NAMES, GW_LIMITS, GW_STRUCTS, type GwFeCounterName } from "./layout.ts";

const MAP = "gw_fe_stats";

/** Each wire counter from its gw_fe_stats field; evicted is worked out (null). A new counter is one line here. */
const KERNEL_FIELD: Record<GatewayFrontendCounter, GwFeCounterName | null> = {
  flows: "flows",
  evicted: null,
  snatBusy: "snat_busy",
  noBackend: "no_backend",
  toStack: "to_stack",
  expired: "expired",
};
const FIELD_INDEX = new Map(GW_FE_COUNTER_NAMES.map((n, i) => [n, i]));
const FLOWS = FIELD_INDEX.get("flows")!;
const EXPIRED = FIELD_INDEX.get("expired")!;
/** Offsets in struct gw_ct_key. */
const CT_KEY = Object.fromEntries(GW_STRUCTS.gw_ct_key.fields) as Record<"dst_ip" | "dst_port" | "proto", number>;

interface Counted {
  serviceId: number;
  frontend: Frontend;
  /** Kernel totals (GW_FE_COUNTER_NAMES order) at the last read that went out. */
  seen: number[];
  /** Flows of it evicted since its entry was made (never decreases), and as sent. */
  evicted: number;
  evictedSent: number;
}

const count = z.number().int().nonnegative();
/**
 * What a hand-over record keeps of the frontends (handOver()): per counted
 * frontend what went out so far, [service id, address, port, protocol,
 * evictions sent, kernel totals seen in GW_FE_COUNTER_NAMES order] (only
 * those not all zero: a frontend not listed reported nothing yet), and the
 * last rows of removed frontends that had not gone out yet.
 */
export const FrontendHandOver = z.object({
  counted: z.array(z.tuple([count, z.string(), count, LbProtocol, count]).rest(count)),
  pending: z.array(GatewayFrontendRow),
});
export type FrontendHandOver = z.infer<typeof FrontendHandOver>;

/** The wire row of one frontend: its counters' deltas in GATEWAY_FRONTEND_COUNTERS order. */
function row(c: Counted, totals: readonly number[], evicted: number): GatewayFrontendRow {
  const counters = GATEWAY_FRONTEND_COUNTERS.map((name) => {
    const field = KERNEL_FIELD[name];
    if (field === null) return evicted;
    const i = FIELD_INDEX.get(field)!;
    return Math.max(0, totals[i]! - c.seen[i]!);
  });
  return [c.serviceId, c.frontend.vip, c.frontend.port, ...counters] as GatewayFrontendRow;
}

/** A frontend's flows evicted by now: made, not ended by gw_expire and not in the table (never fewer than before). */
function evictedOf(c: Counted, totals: readonly number[], present: ReadonlyMap<string, number>): number {
  return Math.max(c.evicted, totals[FLOWS]! - totals[EXPIRED]! - (present.get(frontendKey(c.frontend)) ?? 0));
}

/** Whether a row counted anything. */
const moved = (r: GatewayFrontendRow) => r.slice(3).some((x) => (x as number) > 0);

/** The u64 fields of a per-CPU value, summed over CPUs. */
function sumCpus(obj: BpfObject, value: Uint8Array, off = 0): number[] {
  const h = obj.map(MAP).handle;
  const dv = new DataView(value.buffer, value.byteOffset);
  const out = GW_FE_COUNTER_NAMES.map(() => 0);
  for (let cpu = 0; cpu < h.cpus; cpu++) {
    for (let i = 0; i < out.length; i++) out[i]! += u64At(dv, off + cpu * h.stride + i * 8);
  }
  return out;
}

export class FrontendStats {
  /** By frontendKey(). */
  readonly #counted = new Map<string, Counted>();
  /** Last rows of frontends removed or reassigned since the last read. */
  #pending: GatewayFrontendRow[] = [];
  /** Frontends of the last sync beyond GW_FE_STATS_ENTRIES (counted in gw_counters only). */
  uncounted = 0;

  /** gw_fe_stats holds an entry for each frontend of `gw` (the gateway's LbState, frontends.ts), and no other. */
  sync(obj: BpfObject, gw: LbState): void {
    const map = obj.map(MAP);
    const wanted = new Map<string, { serviceId: number; frontend: Frontend }>();
    this.uncounted = 0;
    for (const s of [...gw.services].sort((a, b) => a.id - b.id)) {
      const frontend = { vip: s.vip, port: s.port, protocol: s.protocol };
      if (wanted.size < GW_LIMITS.GW_FE_STATS_ENTRIES) wanted.set(frontendKey(frontend), { serviceId: s.id, frontend });
      else this.uncounted++;
    }
    for (const [k, c] of this.#counted) {
      if (wanted.get(k)?.serviceId === c.serviceId) continue;
      const last = map.lookupAndDelete(encodeSvcKey(c.frontend));
      const r = row(c, last ? sumCpus(obj, last) : c.seen, c.evicted - c.evictedSent);
      if (moved(r)) this.#pending.push(r);
      this.#counted.delete(k);
    }
    const kernel = this.#totals(obj);
    for (const [k, { frontend }] of kernel) if (!wanted.has(k)) map.delete(encodeSvcKey(frontend));
    const zero = new Uint8Array(GW_STRUCTS.gw_fe_stats.size);
    const found: Counted[] = [];
    for (const [k, w] of wanted) {
      if (this.#counted.has(k)) continue;
      const adopted = kernel.get(k)?.totals;
      // every CPU's copy zeroed: a frontend's entry starts at 0
      if (!adopted) map.update(encodeSvcKey(w.frontend), zero);
      const c = { ...w, seen: adopted ?? GW_FE_COUNTER_NAMES.map(() => 0), evicted: 0, evictedSent: 0 };
      this.#counted.set(k, c);
      if (adopted) found.push(c);
    }
    // entries there already that no adoption took over (not programmed then): a baseline, evictions included
    if (found.length) this.#baseline(obj, found);
  }

  /**
   * Takes over the entries a predecessor left (an adopting start, before any
   * state): those of the frontends programmed (`programmed`: the service id
   * of each, by frontendKey(); the adopted gw_services) count on under their
   * service. `handOver`: what the predecessor reported (its record at
   * SIGTERM), the baseline, so that what it counted since its last read goes
   * out with our first; none (a crash, an older agent): what they hold is
   * the baseline, the predecessor's last interval is lost, never counted twice.
   */
  adopt(obj: BpfObject, programmed: ReadonlyMap<string, number>, handOver?: FrontendHandOver): void {
    const reported = new Map(
      handOver?.counted.map(([serviceId, vip, port, protocol, evictedSent, ...seen]) => [
        frontendKey({ vip, port, protocol }),
        { serviceId, evictedSent, seen },
      ]),
    );
    const guessed: Counted[] = [];
    for (const [k, { frontend, totals }] of this.#totals(obj)) {
      const serviceId = programmed.get(k);
      if (serviceId === undefined) continue; // of no frontend: the first sync removes it
      const r = handOver && reported.get(k);
      const c: Counted = { serviceId, frontend, seen: totals, evicted: 0, evictedSent: 0 };
      if (r && r.serviceId === serviceId && r.seen.length === c.seen.length) {
        [c.seen, c.evicted, c.evictedSent] = [r.seen, r.evictedSent, r.evictedSent];
      } else if (handOver && !r) c.seen = GW_FE_COUNTER_NAMES.map(() => 0); // not listed: nothing reported yet
      else guessed.push(c);
      this.#counted.set(k, c);
    }
    if (guessed.length) this.#baseline(obj, guessed);
    this.#pending.push(...handOver?.pending ?? []);
  }

  /** What went out so far, for the successor's adopt() (the hand-over record). */
  handOver(): FrontendHandOver {
    const counted: FrontendHandOver["counted"] = [];
    for (const c of this.#counted.values()) {
      if (!c.evictedSent && c.seen.every((x) => !x)) continue;
      const { vip, port, protocol } = c.frontend;
      counted.push([c.serviceId, vip, port, protocol, c.evictedSent, ...c.seen]);
    }
    return { counted, pending: [...this.#pending] };
  }

  /** These entries' evictions so far as sent (counted already; their totals are their `seen`). */
  #baseline(obj: BpfObject, list: Counted[]): void {
    const present = this.#present(obj);
    for (const c of list) c.evicted = c.evictedSent = evictedOf(c, c.seen, present);
  }

  /** The rows of every frontend that counted anything since the last read (at most `maxRows`; the rest go out with the next). */
  take(obj: BpfObject, maxRows: number): GatewayFrontendRow[] {
    if (!this.#counted.size) return this.#pending.splice(0, maxRows);
    // the totals first: a flow made between the two reads is then in gw_ct and not yet counted (not evicted)
    const totals = this.#totals(obj);
    const present = this.#present(obj);
    const rows = this.#pending.splice(0, maxRows);
    for (const [k, c] of this.#counted) {
      const now = totals.get(k)?.totals;
      if (!now) continue;
      c.evicted = evictedOf(c, now, present);
      const r = row(c, now, c.evicted - c.evictedSent);
      if (!moved(r) || rows.length >= maxRows) continue;
      rows.push(r);
      c.seen = now;
      c.evictedSent = c.evicted;
    }
    return rows;
  }

  /** Every entry of gw_fe_stats: its frontend and kernel totals, by frontendKey(). */
  #totals(obj: BpfObject): Map<string, { frontend: Frontend; totals: number[] }> {
    const map = obj.map(MAP);
    const out = new Map<string, { frontend: Frontend; totals: number[] }>();
    map.forEachBatch((keys, values, n) => {
      for (let i = 0; i < n; i++) {
        const frontend = decodeSvcKey(keys, i * map.handle.keySize);
        if (frontend) {
          out.set(frontendKey(frontend), { frontend, totals: sumCpus(obj, values, i * map.handle.fullValueSize) });
        }
      }
    }, { batchSize: 1024 });
    return out;
  }

  /**
   * gw_ct's flows per counted frontend (by frontendKey()), found as the
   * program found them: the external IP's frontend at the port the client
   * used, else the NodePort's.
   */
  #present(obj: BpfObject): Map<string, number> {
    const byPort = new Map<number, Frontend[]>();
    for (const { frontend: f } of this.#counted.values()) {
      const at = f.port * 256 + IPPROTO[f.protocol];
      byPort.set(at, [...(byPort.get(at) ?? []), f]);
    }
    const present = new Map<string, number>();
    const map = obj.map("gw_ct");
    map.forEachBatch((keys, _values, n) => {
      for (let i = 0; i < n; i++) {
        const o = i * map.handle.keySize;
        const port = (keys[o + CT_KEY.dst_port]! << 8) | keys[o + CT_KEY.dst_port + 1]!;
        const candidates = byPort.get(port * 256 + keys[o + CT_KEY.proto]!);
        if (!candidates) continue;
        const dst = ipv4At(keys, o + CT_KEY.dst_ip);
        const f = candidates.find((c) => c.vip === dst) ?? candidates.find((c) => c.vip === ANY_NODE_ADDRESS);
        if (f) present.set(frontendKey(f), (present.get(frontendKey(f)) ?? 0) + 1);
      }
    }, { batchSize: 4096 });
    return present;
  }
}
