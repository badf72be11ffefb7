// SPDX-License-Identifier: Apache-2.0
/** One node's interfaces: live rates first, then totals since the agent attached. */
import type { InterfaceState } from "../../control/queries/nodes.ts";
import { TrafficCells, TrafficHeaders } from "./traffic-cells.tsx";

export function InterfaceTable(props: { interfaces: InterfaceState[] }) {
  if (props.interfaces.length === 0) return <p class="none">This node reports no interfaces.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Interface</th>
          <TrafficHeaders />
        </tr>
      </thead>
      <tbody>
        {props.interfaces.map((iface) => (
          <tr title={`updated ${iface.updatedAt}`}>
            <td>
              {iface.ifname}
              <span class="sub">ifindex {iface.ifindex}</span>
            </td>
            <TrafficCells rates={iface} totals={iface} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}
