/** Table cells for traffic: a rate (bytes/s over packets/s) and a total (bytes over packets), in human units. */
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
