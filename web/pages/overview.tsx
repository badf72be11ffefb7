/** `/`: nodes with their status and interfaces, refreshed in place every 2 s by htmx. */
import type { NodeOverview } from "../../control/queries/nodes.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { NodeList } from "../components/node-list.tsx";

export const NODES_FRAGMENT_PATH = "/fragments/nodes";

export function OverviewPage(props: { nodes: NodeOverview[]; controlUrl: string; session?: Session }) {
  return (
    <Layout title="Nodes" hint="updates every 2 s" session={props.session}>
      <div id="nodes" hx-get={NODES_FRAGMENT_PATH} hx-trigger="every 2s" hx-swap="innerHTML">
        <NodeList nodes={props.nodes} controlUrl={props.controlUrl} />
      </div>
    </Layout>
  );
}
