/** One node's interfaces: live rates first, then totals since the agent attached. */
import type { InterfaceState } from "../../control/queries/nodes.ts";
import { formatCount } from "../format.ts";
import { RateCell, TotalCell } from "./traffic-cells.tsx";

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
