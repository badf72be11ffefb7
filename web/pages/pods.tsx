// SPDX-License-Identifier: Apache-2.0
/**
 * `/pods`: every listed pod with RX/TX rates and totals, filtered and sorted
 * by query parameters (q, namespace, node, sort, dir: see PodTable). The
 * table refreshes in place from /fragments/pods with the same query; a
 * vanished pod stays, marked, until its grace period ends.
 */
import type { PodRecord } from "../../control/queries/monitoring/pods.ts";
import { formatCount, formatCountOf } from "../format.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { PodFilter, type PodQuery, podQueryString, PodTable, selectPods } from "../monitoring/tables.tsx";

export const PODS_PATH = "/pods";
export const PODS_FRAGMENT_PATH = "/fragments/pods";

/** The pod list narrowed to a namespace or a node. */
export function podsWhere(key: "namespace" | "node", value: string): string {
  return `${PODS_PATH}?${key}=${encodeURIComponent(value)}`;
}

export interface PodsView {
  /** Every listed pod (current, and vanished within the grace period), before filtering. */
  pods: PodRecord[];
  query: PodQuery;
  now: number;
}

export function PodsPage(props: { view: PodsView; session: Session }) {
  const { query } = props.view;
  return (
    <Layout title="Pods" hint={LIVE_HINT} session={props.session}>
      <PodFilter query={query} base={PODS_PATH} />
      <Live id="pods" src={`${PODS_FRAGMENT_PATH}${podQueryString(query)}`}>
        <PodList view={props.view} />
      </Live>
    </Layout>
  );
}

/** The polled part: a count line and the table. */
export function PodList(props: { view: PodsView }) {
  const { pods, query, now } = props.view;
  return (
    <section class="panel">
      {pods.length > 0 && <h3>{podCount(pods, selectPods(pods, query).length)}</h3>}
      <PodTable pods={pods} query={query} base={PODS_PATH} now={now} />
    </section>
  );
}

/** "3 pods on 2 nodes, 1 vanished" (and "2 shown" under a filter). */
function podCount(pods: readonly PodRecord[], shown: number): string {
  const nodes = new Set(pods.map((p) => p.node)).size;
  const vanished = pods.filter((p) => p.state === "vanished").length;
  const parts = [`${formatCountOf(pods.length, "pod")} on ${formatCountOf(nodes, "node")}`];
  if (vanished > 0) parts.push(`${formatCount(vanished)} vanished`);
  if (shown !== pods.length) parts.push(`${formatCount(shown)} shown`);
  return parts.join(", ");
}
