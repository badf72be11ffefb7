// SPDX-License-Identifier: Apache-2.0
/**
 * What the traffic region of a node's page shows for ?since= and ?ifname=:
 * the interface series (control/queries/monitoring/interfaces.ts), TCP
 * health, drops and DNS of what the node reported, over the same window.
 */
import { z } from "zod";
import type { Db } from "../control/queries/handle.ts";
import type { RetentionSettings } from "../control/monitoring/rollup.ts";
import { desiredStateOf } from "../control/registry/desired-state.ts";
import { queryDnsView } from "../control/queries/monitoring/dns-view.ts";
import { queryDrops } from "../control/queries/monitoring/drops.ts";
import { DEFAULT_FLOW_LIMIT } from "../control/queries/monitoring/flows.ts";
import { queryInterfaceSeries } from "../control/queries/monitoring/interfaces.ts";
import { queryTcp } from "../control/queries/monitoring/tcp.ts";
import { optionalParam } from "../control/queries/monitoring/window.ts";
import { listInterfaces } from "../control/queries/nodes.ts";
import { IfName } from "../control/wire/batch.ts";
import { NODE_PAGE_DNS_NAMES } from "./monitoring/dns-tables.tsx";
import { badParameterText, pageWindow, sinceParam } from "./page-params.ts";
import type { NodeTrafficView } from "./pages/node.tsx";
import { during } from "./components/window-links.tsx";
import type { RecentDrops } from "./components/node-health.tsx";

const NodeQuery = z.object({ since: sinceParam, ifname: optionalParam(IfName) });

/** The view, or why the query cannot be answered (in words, for a 400). */
export async function loadNodeTraffic(
  db: Db,
  node: string,
  query: Record<string, string>,
  at: number,
  retention: RetentionSettings,
): Promise<{ ok: true; view: NodeTrafficView } | { ok: false; message: string }> {
  const parsed = NodeQuery.safeParse(query);
  if (!parsed.success) return { ok: false, message: badParameterText(parsed.error) };
  const w = pageWindow(query.since, parsed.data.since, at, retention);
  if (!w.ok) return w;
  const { ifname } = parsed.data;
  const [series, tcp, drops, dns, desired, states] = await Promise.all([
    queryInterfaceSeries(db, w.window, node, ifname),
    queryTcp(db, w.window, { node }, DEFAULT_FLOW_LIMIT),
    queryDrops(db, w.window, { node }),
    queryDnsView(db, w.window, { node }, NODE_PAGE_DNS_NAMES),
    desiredStateOf(db, node),
    listInterfaces(db, node),
  ]);
  return {
    ok: true,
    view: {
      node,
      since: w.since,
      window: w.window,
      ifname,
      interfaces: (states ?? []).map((s) => s.ifname),
      series,
      tcp,
      drops,
      dns,
      dnsOff: desired.modules.dns ? [] : [node],
      limit: DEFAULT_FLOW_LIMIT,
    },
  };
}

/** The drops module's count for the node over the default window (the page's first, 5 min): the health summary's. */
export async function recentDrops(
  db: Db,
  node: string,
  at: number,
  retention: RetentionSettings,
): Promise<RecentDrops> {
  const w = pageWindow(undefined, undefined, at, retention);
  if (!w.ok) throw new Error(w.message); // the default window starts in the past, always
  const { byReason } = await queryDrops(db, w.window, { node });
  const top = byReason[0]; // most packets first
  return {
    packets: byReason.reduce((n, r) => n + r.packets, 0),
    span: during(w.since),
    ...(top === undefined ? {} : { top: top.reason }),
  };
}
