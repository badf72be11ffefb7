// SPDX-License-Identifier: Apache-2.0
/** The flow explorer's rows (control/queries/monitoring/flow-explorer.ts) as the API's JSON. */
import { avgSrttUs } from "../monitoring/tcp.ts";
import type { ExplorerFlow } from "../queries/monitoring/flow-explorer.ts";
import { flowJson } from "./monitoring-json.ts";

/** A Flow (flowJson) with when it was seen, its verdict and its connections; `seconds` as flowJson's. */
export function explorerFlowJson(f: ExplorerFlow, seconds: number) {
  const c = f.connections;
  return {
    ...flowJson(f, seconds),
    firstSeen: new Date(f.firstSeen).toISOString(),
    lastSeen: new Date(f.lastSeen).toISOString(),
    verdict: f.verdict,
    connections: { opened: c.opened, refused: c.refused, timedOut: c.timedOut, failed: c.failed, resets: c.resets },
    avgSrttUs: avgSrttUs(c),
  };
}
