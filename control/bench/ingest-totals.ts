// SPDX-License-Identifier: Apache-2.0
/**
 * After an ingest benchmark: does the control plane hold exactly what every
 * simulated node made, no batch missing and none twice? Per node, read as
 * a user would see it: the boot and last seq stored, one raw monitoring row
 * per batch, the interface totals of the latest batch, and the drop packets
 * summed over the whole run (queryDrops, the API's query), each against what
 * simulated-node.ts made for seqs 1..made of that boot.
 */
import type { Db } from "../db/client.ts";
import { queryDrops } from "../queries/monitoring/drops.ts";
import { queryWindow } from "../queries/monitoring/window.ts";
import type { RetentionSettings } from "../monitoring/rollup.ts";
import type { NodeSent } from "./ingest-clients.ts";
import { dropsOf, interfacesOf, nodeName, type NodeShape } from "./simulated-node.ts";

export interface TotalsCheck {
  nodes: number;
  exact: number;
  /** The first few differences, as text. */
  differences: string[];
}

const DIFFERENCES_KEPT = 10;

export async function checkTotals(
  db: Db,
  sent: readonly NodeSent[],
  shape: NodeShape,
  run: { since: number; now: number; retention: RetentionSettings },
): Promise<TotalsCheck> {
  const rowsOf = async (sql: string) => (await db.$client.execute(sql)).rows;
  const byName = <T>(rows: Awaited<ReturnType<typeof rowsOf>>, value: (r: (typeof rows)[number]) => T) =>
    new Map(rows.map((r) => [String(r.node), value(r)]));
  const [stored, raw, ifaces, drops] = await Promise.all([
    rowsOf("SELECT name AS node, boot_id, last_seq FROM nodes").then((rows) =>
      byName(rows, (r) => `${r.boot_id} ${r.last_seq}`)
    ),
    rowsOf("SELECT node, count(*) AS n FROM monitoring_raw_rows GROUP BY node").then((rows) =>
      byName(rows, (r) => Number(r.n))
    ),
    rowsOf("SELECT node, sum(rx_packets) AS rx, sum(tx_bytes) AS tx FROM interfaces GROUP BY node").then((rows) =>
      byName(rows, (r) => `${r.rx} ${r.tx}`)
    ),
    queryDrops(db, queryWindow({ since: run.since, until: run.now }, run.now, run.retention)),
  ]);
  const dropPackets = new Map<string, number>();
  for (const d of drops.drops) dropPackets.set(d.node, (dropPackets.get(d.node) ?? 0) + d.packets);

  const differences: string[] = [];
  let exact = 0;
  sent.forEach(({ bootId, made }, i) => {
    const node = nodeName(i);
    const last = interfacesOf(i, made, shape.interfaces);
    let packets = 0;
    for (let seq = 1; seq <= made; seq++) for (const d of dropsOf(i, seq, shape.pods)) packets += d.packets;
    const expected = {
      "boot and last seq": `${bootId} ${made}`,
      "raw rows": made,
      "interface rx packets, tx bytes": `${last.reduce((n, f) => n + f.rxPackets, 0)} ${
        last.reduce((n, f) => n + f.txBytes, 0)
      }`,
      "drop packets": packets,
    };
    const actual = {
      "boot and last seq": stored.get(node),
      "raw rows": raw.get(node) ?? 0,
      "interface rx packets, tx bytes": ifaces.get(node),
      "drop packets": dropPackets.get(node) ?? 0,
    };
    const wrong = (Object.keys(expected) as Array<keyof typeof expected>).filter((k) => expected[k] !== actual[k]);
    if (wrong.length === 0) exact++;
    else if (differences.length < DIFFERENCES_KEPT) {
      differences.push(`${node}: ${wrong.map((k) => `${k} ${actual[k]}, made ${expected[k]}`).join("; ")}`);
    }
  });
  return { nodes: sent.length, exact, differences };
}
