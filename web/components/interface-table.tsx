// SPDX-License-Identifier: Apache-2.0
/**
 * One node's interfaces: live rates first, then totals since the agent
 * attached. Its drops are the ifstats module's: packets the kernel dropped
 * (skb:kfree_skb) while on that interface, since the agent started. The
 * node page's Drops panel counts more (every interface and the pods' own
 * namespaces, by reason) over its window, so the header says which is which.
 */
import type { InterfaceState } from "../../control/queries/nodes.ts";
import { TrafficCells, TrafficHeaders } from "./traffic-cells.tsx";

const DROPS_TITLE = "packets the kernel dropped (skb:kfree_skb) while on this interface, counted by the ifstats " +
  "module since the agent started. The Drops panel counts every drop on the node and in its pods' namespaces, by " +
  "kernel reason, over the chosen window (drops module): the two differ by design";

export function InterfaceTable(props: { interfaces: InterfaceState[] }) {
  if (props.interfaces.length === 0) return <p class="none">This node reports no interfaces.</p>;
  return (
    <table id="node-interfaces">
      <thead>
        <tr>
          <th>Interface</th>
          <TrafficHeaders
            drops={
              <th title={DROPS_TITLE}>
                Drops<span class="sub">since the agent started</span>
              </th>
            }
          />
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
