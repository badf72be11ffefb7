// SPDX-License-Identifier: Apache-2.0
/**
 * `/pods`: every listed pod with RX/TX rates and totals, filtered and sorted
 * by query parameters (q, namespace, node, sort, dir: see PodTable). The
 * table refreshes in place from /fragments/pods with the same query; a
 * vanished pod stays, marked, until its grace period ends.
 */
import type { PodList as PodListResult } from "../../control/queries/monitoring/pod-list.ts";
import { formatCount, formatCountOf } from "../format.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { ListPager } from "../components/list-nav.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { PodFilter, type PodQuery, podQueryString, PodTable } from "../monitoring/tables.tsx";

export const PODS_PATH = "/pods";
export const PODS_FRAGMENT_PATH = "/fragments/pods";
/** The live region holding the list: filters and pages swap it whole, so its polling follows the view. */
export const POD_LIST_ID = "pods";

/** The pod list narrowed to a namespace or a node. */
export function podsWhere(key: "namespace" | "node", value: string): string {
  return `${PODS_PATH}?${key}=${encodeURIComponent(value)}`;
}

export interface PodsView {
  /** The page of pods that match, and how many are listed before the filter. */
  list: PodListResult;
  query: PodQuery;
  now: number;
}

export function PodsPage(props: { view: PodsView; session: Session }) {
  const { query } = props.view;
  return (
    <Layout title="Pods" hint={LIVE_HINT} session={props.session}>
      <PodFilter query={{ ...query, offset: 0 }} base={PODS_PATH} region={POD_LIST_ID} />
      <Live id={POD_LIST_ID} src={`${PODS_FRAGMENT_PATH}${podQueryString(query)}`}>
        <PodList view={props.view} />
      </Live>
    </Layout>
  );
}

/** The polled part: a count line, the table and the pager. */
export function PodList(props: { view: PodsView }) {
  const { list, query, now } = props.view;
  const { page } = list;
  return (
    <section class="panel">
      {list.listed.pods > 0 && <h3>{podCount(list)}</h3>}
      <PodTable page={page} listed={list.listed.pods} query={query} base={PODS_PATH} now={now} />
      <ListPager
        page={{ ...page, shown: page.rows.length }}
        href={(offset) => `${PODS_PATH}${podQueryString(query, { offset })}`}
        region={POD_LIST_ID}
      />
    </section>
  );
}

/** "3 pods on 2 nodes, 1 vanished" (and "2 match" under a filter). */
function podCount(list: PodListResult): string {
  const { listed, page } = list;
  const parts = [`${formatCountOf(listed.pods, "pod")} on ${formatCountOf(listed.nodes, "node")}`];
  if (listed.vanished > 0) parts.push(`${formatCount(listed.vanished)} vanished`);
  if (page.total !== listed.pods) parts.push(`${formatCount(page.total)} match`);
  return parts.join(", ");
}
