// SPDX-License-Identifier: Apache-2.0
/**
 * `/`: the cluster at a glance (totals, a page of nodes with their status,
 * pods, RX/TX now and last hour, the top talkers), refreshed in place by
 * htmx from /fragments/nodes; above it, the search by node name.
 */
import { Layout, type Session } from "../components/layout.tsx";
import { NodeList, type NodeListProps, NodeSearch, overviewQueryString } from "../components/node-list.tsx";

export const NODES_FRAGMENT_PATH = "/fragments/nodes";

/** Each refresh reads a few queries whatever the cluster's size (control/queries/overview.ts). */
export const OVERVIEW_POLL_SECONDS = 2;

export function OverviewPage(props: NodeListProps & { session?: Session }) {
  const { session, ...list } = props;
  return (
    <Layout title="Nodes" hint={`updates every ${OVERVIEW_POLL_SECONDS} s`} session={session}>
      {list.overview.totals.nodes > 0 && <NodeSearch query={list.overview.query} />}
      <div
        id="nodes"
        hx-get={`${NODES_FRAGMENT_PATH}${overviewQueryString(list.overview.query)}`}
        hx-trigger={`every ${OVERVIEW_POLL_SECONDS}s`}
        hx-swap="innerHTML"
      >
        <NodeList {...list} />
      </div>
    </Layout>
  );
}
