// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow events of a service port over the window (every node):
 * summed in a line, and per frontend (the NodePort on any node address, each
 * external IP at the port) in a table. The kinds that mean lost or refused
 * traffic (evicted, SNAT ports exhausted, no backend) stand out when not 0.
 */
import type { GatewayTraffic } from "../../control/services/views.ts";
import { GATEWAY_FRONTEND_COUNTERS, type GatewayFrontendCounter } from "../../control/wire/services.ts";
import { formatCount } from "../format.ts";

/** Each event's name on the page, and whether a count of it is a problem (a new counter: one line). */
const EVENT: Record<GatewayFrontendCounter, { text: string; problem: boolean }> = {
  flows: { text: "new flows", problem: false },
  evicted: { text: "evicted (flow table full)", problem: true },
  snatBusy: { text: "SNAT ports exhausted", problem: true },
  noBackend: { text: "no backend", problem: true },
  toStack: { text: "to the stack (no route)", problem: false },
  expired: { text: "expired (idle)", problem: false },
};

function Count(props: { event: GatewayFrontendCounter; value: number }) {
  const text = formatCount(props.value);
  return EVENT[props.event].problem && props.value > 0 ? <strong class="error-text">{text}</strong> : <>{text}</>;
}

/** "12 new flows, 0 evicted (flow table full), …" */
export function GatewayEventsText(props: { gateway: GatewayTraffic }) {
  return (
    <>
      {GATEWAY_FRONTEND_COUNTERS.map((e, i) => (
        <>
          {i > 0 && ", "}
          <Count event={e} value={props.gateway.events[e]} /> {EVENT[e].text}
        </>
      ))}
    </>
  );
}

/** A row per frontend that had any event in the window; nothing when none had. */
export function GatewayFrontendTable(props: { gateway: GatewayTraffic }) {
  const { frontends } = props.gateway;
  if (frontends.length === 0) return null;
  return (
    <table class="gateway-frontends">
      <thead>
        <tr>
          <th>Gateway frontend</th>
          {GATEWAY_FRONTEND_COUNTERS.map((e) => <th>{EVENT[e].text}</th>)}
        </tr>
      </thead>
      <tbody>
        {frontends.map((f) => (
          <tr>
            <td>
              <code>{f.address === null ? `any node :${f.port}` : `${f.address}:${f.port}`}</code>
            </td>
            {GATEWAY_FRONTEND_COUNTERS.map((e) => (
              <td>
                <Count event={e} value={f[e]} />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
