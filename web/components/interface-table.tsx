/** One node's interfaces: live rates first, then totals since the agent attached. */
import type { InterfaceState } from "../../control/queries/nodes.ts";
import { formatByteRate, formatBytes, formatCount, formatPacketRate, MISSING } from "../format.ts";

export function InterfaceTable(props: { interfaces: InterfaceState[] }) {
  if (props.interfaces.length === 0) return <p class="none">This node reports no interfaces.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Interface</th>
          <th>RX rate</th>
          <th>TX rate</th>
          <th>RX total</th>
          <th>TX total</th>
          <th>Drops</th>
        </tr>
      </thead>
      <tbody>
        {props.interfaces.map((iface) => (
          <tr title={`updated ${iface.updatedAt}`}>
            <td>
              {iface.ifname}
              <span class="sub">ifindex {iface.ifindex}</span>
            </td>
            <RateCell bytesPerSec={iface.rxBytesPerSec} packetsPerSec={iface.rxPacketsPerSec} />
            <RateCell bytesPerSec={iface.txBytesPerSec} packetsPerSec={iface.txPacketsPerSec} />
            <TotalCell bytes={iface.rxBytes} packets={iface.rxPackets} />
            <TotalCell bytes={iface.txBytes} packets={iface.txPackets} />
            <td>{formatCount(iface.drops)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RateCell(props: { bytesPerSec: number | null; packetsPerSec: number | null }) {
  if (props.bytesPerSec === null || props.packetsPerSec === null) {
    // The first batch of a boot has nothing to compare with yet.
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

function TotalCell(props: { bytes: number; packets: number }) {
  return (
    <td title={`${formatCount(props.bytes)} bytes`}>
      {formatBytes(props.bytes)}
      <span class="sub">{formatCount(props.packets)} pkts</span>
    </td>
  );
}
