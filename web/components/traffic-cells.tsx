// SPDX-License-Identifier: Apache-2.0
/** Table cells for traffic: a rate (bytes/s over packets/s) and a total (bytes over packets), in human units. */
import type { Child } from "hono/jsx";
import type { Rates } from "../../control/ingest/rates.ts";
import { formatByteRate, formatBytes, formatCount, formatPacketRate, MISSING } from "../format.ts";

export function RateCell(props: { bytesPerSec: number | null; packetsPerSec: number | null }) {
  if (props.bytesPerSec === null || props.packetsPerSec === null) {
    // The first report of a boot has nothing to compare with yet.
    return (
      <td class="na" title="rate known after the next report">
        {MISSING}
      </td>
    );
  }
  return (
    <td>
      {formatByteRate(props.bytesPerSec)}
      <span class="sub">{formatPacketRate(props.packetsPerSec)}</span>
    </td>
  );
}

export function TotalCell(props: { bytes: number; packets: number }) {
  return (
    <td title={`${formatCount(props.bytes)} bytes`}>
      {formatBytes(props.bytes)}
      <span class="sub">{formatCount(props.packets)} pkts</span>
    </td>
  );
}

/** Cumulative counters of an interface or a pod (RX: what it received). */
export interface TrafficTotals {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
}

/** The traffic columns of an interface or a pod, in the order of TrafficHeaders. */
export function TrafficCells(props: { rates: Rates; totals: TrafficTotals }) {
  const { rates: r, totals: t } = props;
  return (
    <>
      <RateCell bytesPerSec={r.rxBytesPerSec} packetsPerSec={r.rxPacketsPerSec} />
      <RateCell bytesPerSec={r.txBytesPerSec} packetsPerSec={r.txPacketsPerSec} />
      <TotalCell bytes={t.rxBytes} packets={t.rxPackets} />
      <TotalCell bytes={t.txBytes} packets={t.txPackets} />
      <td>{formatCount(t.drops)}</td>
    </>
  );
}

/** `drops`: the drops column's header, when it should say more than "Drops" (what it counts, since when). */
export function TrafficHeaders(props: { drops?: Child }) {
  return (
    <>
      <th>RX rate</th>
      <th>TX rate</th>
      <th>RX total</th>
      <th>TX total</th>
      {props.drops ?? <th>Drops</th>}
    </>
  );
}
