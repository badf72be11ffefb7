// SPDX-License-Identifier: Apache-2.0
/**
 * DNS over a window (dns_server_stats, dns_name_stats; control/monitoring-store/dns.ts): per pod and server the
 * counters summed exactly (saturating, counter-sums.ts) over the window's parts, and per pod its names with the
 * most queries and the most NXDOMAIN answers. Each part reads one level: raw rows by report time in (from, to],
 * 1m/1h rows by bucket in [from, to), as every monitoring query does (control/monitoring/rollup.ts).
 */
import type { InValue } from "@libsql/client";
import { sumCounters } from "../../db/counter-sums.ts";
import type { Db } from "../../db/client.ts";
import { DNS_SERVER_COUNTERS, type DnsServerCounter } from "../../monitoring/dns-counters.ts";
import type { Window, WindowPart } from "../../monitoring/rollup.ts";

export interface DnsFilter {
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed). */
  pod?: readonly string[];
  /** A server address: only that server's rows (names carry no server: not filtered by it). */
  server?: string;
}

/** A (pod, server, port)'s counters, in DNS_SERVER_COUNTERS' order; pod "" is the nodes' "other" record. */
export interface DnsServerSum {
  pod: string;
  server: string;
  port: number;
  counts: number[];
}

export interface DnsNameSum {
  pod: string;
  name: string;
  queries: number;
  nxdomain: number;
}

export interface DnsResult {
  servers: DnsServerSum[];
  /** Per pod: up to `topNames` names by queries, and up to as many by NXDOMAIN answers (those with any). */
  topNames: Map<string, { byQueries: DnsNameSum[]; byNxdomain: DnsNameSum[] }>;
}

/** The rows of `w`'s parts, with the node and pod filters. */
function windowed(w: Window, filter: DnsFilter, extra: { where: string; args: InValue[] }[] = []) {
  const parts: WindowPart[] = w.parts ?? [w];
  const args: InValue[] = [];
  const ranges = parts.map((p) => {
    args.push(p.level, p.from, p.to);
    return p.level === "raw"
      ? "(level = ? AND bucket > ? AND bucket <= ?)"
      : "(level = ? AND bucket >= ? AND bucket < ?)";
  });
  const where = [`(${ranges.join(" OR ")})`];
  if (filter.node !== undefined) (where.push("node = ?"), args.push(filter.node));
  if (filter.pod !== undefined) {
    (where.push("pod IN (SELECT value FROM json_each(?))"), args.push(JSON.stringify(filter.pod)));
  }
  for (const e of extra) (where.push(e.where), args.push(...e.args));
  return { where: where.join(" AND "), args };
}

/**
 * The given counters summed over `w` per node (its pods' rows and its "other" record) or per stored pod key
 * ("pod:<uid>", "" for the nodes' "other" records), in `columns`' order: one query whatever the number of keys
 * (the alerts' values, control/alerts/values.ts).
 */
export async function sumDnsBy(
  db: Db,
  w: Window,
  by: "node" | "pod",
  columns: readonly DnsServerCounter[],
): Promise<Map<string, number[]>> {
  const rows = windowed(w, {});
  const found = (await db.$client.execute({
    sql: `SELECT ${by} AS key, ${
      columns.map((c, i) => `${sumCounters(c)} AS c${i}`).join(", ")
    } FROM dns_server_stats WHERE ${rows.where} GROUP BY ${by}`,
    args: rows.args,
  })).rows;
  return new Map(found.map((r) => [String(r.key), columns.map((_, i) => Number(r[`c${i}`]))]));
}

/**
 * A server address as the agent writes it (agent/modules/flows/layout.ts addrText), so a filter matches however
 * the address was typed: IPv6 in RFC 5952 form (lowercase, the longest run of zeros compressed, as the URL
 * standard serializes it), an IPv4-mapped one as its IPv4.
 */
export function storedServerAddress(ip: string): string {
  if (!ip.includes(":")) return ip;
  const v6 = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped === null) return v6;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/** Per (pod, server, port) the counters summed over `w`, ordered by pod, server, port. */
export async function queryDnsServers(db: Db, w: Window, filter: DnsFilter): Promise<DnsServerSum[]> {
  const servers = windowed(
    w,
    filter,
    filter.server === undefined ? [] : [{ where: "server = ?", args: [storedServerAddress(filter.server)] }],
  );
  const serverRows = (await db.$client.execute({
    sql: `SELECT pod, server, port, ${
      DNS_SERVER_COUNTERS.map((c) => `${sumCounters(c)} AS ${c}`).join(", ")
    } FROM dns_server_stats WHERE ${servers.where} GROUP BY pod, server, port ORDER BY pod, server, port`,
    args: servers.args,
  })).rows;
  return serverRows.map((r) => ({
    pod: String(r.pod),
    server: String(r.server),
    port: Number(r.port),
    counts: DNS_SERVER_COUNTERS.map((c) => Number(r[c])),
  }));
}

/**
 * `namesOverPods`: the names summed and ranked over the filter's pods as one, keyed "" (one pod's page, whose
 * name may have had several uids: a name both asked for is one row, not one per uid).
 */
export async function queryDns(
  db: Db,
  w: Window,
  filter: DnsFilter,
  topNames: number,
  namesOverPods = false,
): Promise<DnsResult> {
  const servers = await queryDnsServers(db, w, filter);
  const names = windowed(w, filter);
  // Ranked in SQL per pod; ties by name, so a page is the same every time.
  const ranked = (by: "queries" | "nxdomain") =>
    `SELECT pod, name, queries, nxdomain, '${by}' AS list, ${by} AS ranked FROM (SELECT *, row_number() OVER ` +
    `(PARTITION BY pod ORDER BY ${by} DESC, name) AS n FROM summed) WHERE n <= ? AND ${by} > 0`;
  const nameRows = (await db.$client.execute({
    sql:
      `WITH summed AS (SELECT ${namesOverPods ? "'' AS pod" : "pod"}, name, ${sumCounters("queries")} AS queries, ${
        sumCounters("nxdomain")
      } AS nxdomain ` +
      `FROM dns_name_stats WHERE ${names.where} GROUP BY ${namesOverPods ? "" : "pod, "}name) ` +
      `${ranked("queries")} UNION ALL ${ranked("nxdomain")} ORDER BY pod, list, ranked DESC, name`,
    args: [...names.args, topNames, topNames],
  })).rows;

  const top: DnsResult["topNames"] = new Map();
  for (const r of nameRows) {
    const pod = String(r.pod);
    let lists = top.get(pod);
    if (lists === undefined) top.set(pod, lists = { byQueries: [], byNxdomain: [] });
    const row = { pod, name: String(r.name), queries: Number(r.queries), nxdomain: Number(r.nxdomain) };
    (r.list === "queries" ? lists.byQueries : lists.byNxdomain).push(row);
  }
  return { servers, topNames: top };
}
