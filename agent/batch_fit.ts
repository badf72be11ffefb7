// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps a batch within MAX_BATCH_BYTES: the record caps bound each kind by
 * count, but all kinds full at once (and many pods, long DNS names) can still
 * be too big for the control plane, which would refuse the whole batch.
 * Records go from the end of their lists (each list is sorted most important
 * first), the biggest list first, down to the next biggest's size:
 * - flows, tcp and drops are cut, and counted as cut like those the caps left out;
 * - DNS records are summed into the node's "other" record of their list (server
 *   OTHER_PEER port 0, name DNS_OTHER_NAME, no pod), so DNS totals stay exact;
 *   counted as summed keys like those the caps summed.
 */
import type { Batch, ModuleName } from "../control/wire/batch.ts";
import {
  addDnsServerCounts,
  DNS_LATENCY_BUCKETS,
  DNS_OTHER_NAME,
  DNS_QTYPES,
  DNS_RCODES,
  type DnsNameRecord,
  type DnsServerRecord,
} from "../control/wire/dns.ts";
import { OTHER_PEER } from "../control/wire/monitoring.ts";

export type RecordKind = "flows" | "tcp" | "drops" | "dnsServers" | "dnsNames";

/** The module whose records each kind are, and the list (for a module with several) they are of. */
export const RECORD_OWNER: Record<RecordKind, { module: ModuleName; list?: string }> = {
  flows: { module: "flows" },
  tcp: { module: "tcp" },
  drops: { module: "drops" },
  dnsServers: { module: "dns", list: "servers" },
  dnsNames: { module: "dns", list: "names" },
};

/** A list of a batch the fit can shorten by `n` from its end. */
interface List {
  kind: RecordKind;
  records: unknown[];
  shorten(n: number): void;
}

const CUT_FIELD = { flows: "flowRecordsCut", tcp: "tcpRecordsCut", drops: "dropRecordsCut" } as const;
const SUMMED_FIELD = { dnsServers: "dnsServersSummed", dnsNames: "dnsNamesSummed" } as const;

/**
 * Shortens lists until the JSON fits `maxBytes`; returns how many records of
 * each kind went (also added to batch.monitoring) and the JSON's final size.
 */
export function fitBatch(batch: Batch, maxBytes: number): { cut: Record<RecordKind, number>; bytes: number } {
  const cut = { flows: 0, tcp: 0, drops: 0, dnsServers: 0, dnsNames: 0 };
  let size = JSON.stringify(batch).length;
  while (size > maxBytes) {
    const sizes = lists(batch).map((l) => ({ l, bytes: JSON.stringify(l.records).length }));
    const left = sizes.filter((s) => s.l.records.length).sort((a, b) => b.bytes - a.bytes);
    const [biggest, next] = left;
    if (!biggest) break; // nothing left to shorten: the caller refuses the batch
    const { l } = biggest;
    const perRecord = biggest.bytes / l.records.length;
    // down to the next biggest list's size, or its share of the excess: the loss is spread over the big lists
    const excess = size - maxBytes;
    const bytes = Math.min(excess, Math.max(biggest.bytes - (next?.bytes ?? 0), excess / left.length));
    const n = Math.min(l.records.length, Math.ceil(bytes / perRecord) + 1);
    l.shorten(n);
    cut[l.kind] += n;
    const m = batch.monitoring;
    if (m && l.kind in CUT_FIELD) m[CUT_FIELD[l.kind as keyof typeof CUT_FIELD]] += n;
    if (m && l.kind in SUMMED_FIELD) {
      const field = SUMMED_FIELD[l.kind as keyof typeof SUMMED_FIELD];
      m[field] = (m[field] ?? 0) + n;
    }
    size = JSON.stringify(batch).length;
  }
  return { cut, bytes: size };
}

function lists(batch: Batch): List[] {
  const cutList = (kind: "flows" | "tcp" | "drops"): List => {
    const records = batch[kind] ?? [];
    return { kind, records, shorten: (n) => records.splice(records.length - n, n) };
  };
  const out = [cutList("flows"), cutList("tcp"), cutList("drops")];
  const dns = batch.dns;
  if (dns) {
    out.push(
      summedList("dnsServers", dns.servers, isNodeOtherServer, nodeOtherServer, addDnsServerCounts),
      summedList("dnsNames", dns.names, isNodeOtherName, nodeOtherName, addName),
    );
  }
  return out;
}

/**
 * A list whose records leave by being summed into the node's "other" record
 * (kept last, made when the first record leaves): `records` are the others.
 */
function summedList<R>(
  kind: RecordKind,
  all: R[],
  isOther: (r: R) => boolean,
  newOther: () => R,
  add: (into: R, r: R) => void,
): List {
  const records = all.filter((r) => !isOther(r));
  return {
    kind,
    records,
    shorten(n) {
      const other = all.find(isOther) ?? newOther();
      for (const r of records.splice(records.length - n, n)) add(other, r);
      all.splice(0, all.length, ...records, other);
    },
  };
}

const isNodeOtherServer = (r: DnsServerRecord) => r.pod === undefined && r.server === OTHER_PEER && r.port === 0;
const isNodeOtherName = (r: DnsNameRecord) => r.pod === undefined && r.name === DNS_OTHER_NAME;

const nodeOtherServer = (): DnsServerRecord => ({
  server: OTHER_PEER,
  port: 0,
  queries: DNS_QTYPES.map(() => 0),
  tcp: 0,
  responses: DNS_RCODES.map(() => 0),
  truncated: 0,
  timeouts: 0,
  latency: Array.from({ length: DNS_LATENCY_BUCKETS }, () => 0),
  latencySumUs: 0,
});
const nodeOtherName = (): DnsNameRecord => ({ name: DNS_OTHER_NAME, queries: 0, nxdomain: 0 });

function addName(o: DnsNameRecord, r: DnsNameRecord): void {
  o.queries += r.queries;
  o.nxdomain += r.nxdomain;
}
